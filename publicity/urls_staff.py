from django.urls import path

from . import views_staff

app_name = "publicity_staff"

urlpatterns = [
    path("cases/", views_staff.case_list, name="case_list"),
    path("cases/<str:kind>/<int:pk>/", views_staff.case_detail, name="case_detail"),
    path("cases/<str:kind>/<int:pk>/action/", views_staff.case_action, name="case_action"),
    path("cases/<str:kind>/<int:pk>/recover/", views_staff.case_recover, name="case_recover"),
]
