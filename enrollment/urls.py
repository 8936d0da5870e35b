from django.urls import path

from . import views, views_export, views_import, views_participation

app_name = "enrollment"
urlpatterns = [
    # households, members, contributions, card (views.py)
    path("households/", views.household_search, name="household_search"),
    path("households/new/", views.household_create, name="household_create"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/members/new/", views.member_add, name="member_add"),
    path("members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path("members/<int:pk>/leave/", views.member_leave, name="member_leave"),
    path("members/<int:pk>/reinstate/", views.member_reinstate, name="member_reinstate"),
    path("members/<int:pk>/move/", views.member_move, name="member_move"),
    path("households/<int:pk>/newborn/", views.newborn_add, name="newborn_add"),
    path("members/<int:pk>/contribution/", views.enrollment_record, name="enrollment_record"),
    path("households/<int:pk>/contributions/", views.household_pay, name="household_pay"),
    path("contributions/<int:pk>/void/", views.contribution_void, name="contribution_void"),
    path("households/<int:pk>/card.pdf", views.household_card_pdf, name="household_card_pdf"),
    # roster import and export (views_import.py)
    path("import/", views_import.roster_import, name="roster_import"),
    path("import/template.<str:fmt>", views_import.roster_template, name="roster_template"),
    path("import/<int:pk>/", views_import.roster_import_detail, name="roster_import_detail"),
    path("import/<int:pk>/progress/", views_import.roster_import_progress, name="roster_import_progress"),
    # exports: small ones in the request, large ones as background jobs (views_export.py)
    path("export/", views_export.exports, name="exports"),
    path("export/roster.xlsx", views_export.roster_export, name="roster_export"),
    path("export/enrollments.xlsx", views_export.enrollment_export, name="enrollment_export"),
    path("export/jobs/<int:pk>/", views_export.export_job_detail, name="export_job_detail"),
    path("export/jobs/<int:pk>/progress/", views_export.export_job_progress, name="export_job_progress"),
    path("export/jobs/<int:pk>/file.xlsx", views_export.export_job_download, name="export_job_download"),
    # participation (views_participation.py)
    path("participation/", views_participation.participation, name="participation"),
    path("participation.xlsx", views_participation.participation_export, name="participation_export"),
]
