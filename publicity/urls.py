from django.urls import path

from . import views

app_name = "publicity"

urlpatterns = [
    path("", views.index, name="index"),
    path("townships/<str:code>/", views.township_detail, name="township_detail"),
    path("villages/<str:code>/", views.village_detail, name="village_detail"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/pdf/", views.notice_pdf, name="notice_pdf"),
    path("lines/<int:pk>/objection/", views.objection_create, name="objection_create"),
    path("report/", views.report_create, name="report_create"),
    path("status/", views.case_status, name="case_status"),
    path("lookup/", views.claim_lookup, name="claim_lookup"),
    path("fund/", views.fund_summary, name="fund_summary"),
    path("policy/", views.policy_page, name="policy_page"),
    path("policy/leaflet.pdf", views.policy_leaflet, name="policy_leaflet"),
]
