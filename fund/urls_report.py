"""URLs of the monthly fund report (fund/views_report.py), mounted at /fund/report/."""
from django.urls import path

from . import views_report

app_name = "fund_report"
urlpatterns = [
    path("", views_report.dashboard, name="dashboard"),
    path("report.<str:fmt>", views_report.report_download, name="download"),
    path("store/", views_report.report_store, name="store"),
    path("stored/<int:pk>.json", views_report.stored_report, name="stored"),
]
