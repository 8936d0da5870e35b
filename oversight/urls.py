from django.urls import path

from . import views, views_scorecard

app_name = "oversight"
urlpatterns = [
    path("", views.facility_list, name="facility_list"),
    path("<int:pk>/", views.facility_detail, name="facility_detail"),
    path("<int:pk>/suspend/", views.facility_suspend, name="facility_suspend"),
    path("<int:pk>/reinstate/", views.facility_reinstate, name="facility_reinstate"),
    path("<int:pk>/agreement/", views.facility_agreement, name="facility_agreement"),
    path("<int:pk>/inspections/", views.inspection_create, name="inspection_create"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection_detail"),
    path("inspections/<int:pk>/recover/", views.inspection_recover, name="inspection_recover"),
    path("inspection-documents/<int:pk>/", views.inspection_document_download,
         name="inspection_document_download"),
    # indicators, scorecard and the county ranking
    path("<int:pk>/scorecard/", views_scorecard.scorecard, name="scorecard"),
    path("<int:pk>/scorecard.xlsx", views_scorecard.scorecard_xlsx, name="scorecard_xlsx"),
    path("ranking/", views_scorecard.ranking, name="ranking"),
]
