from django.urls import path

from . import views_staff

app_name = "publicity_staff"

urlpatterns = [
    path("cases/", views_staff.case_list, name="case_list"),
    path("cases/<str:kind>/<int:pk>/", views_staff.case_detail, name="case_detail"),
    path("cases/<str:kind>/<int:pk>/action/", views_staff.case_action, name="case_action"),
    path("cases/<str:kind>/<int:pk>/recover/", views_staff.case_recover, name="case_recover"),
    path("cases/<str:kind>/<int:pk>/answer/", views_staff.case_answer, name="case_answer"),
    path("notices/", views_staff.notice_months, name="notice_months"),
    path("notices/post/", views_staff.notice_post, name="notice_post"),
]
