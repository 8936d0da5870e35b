"""URLs of the REST API, mounted at /api/ (config/urls.py): /api/v1/... the endpoints,
/api/schema/ the OpenAPI document, /api/docs/ Swagger UI (/api/docs/redoc/ Redoc)."""
from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("v1/quote/", api.QuoteView.as_view(), name="quote"),
    path("v1/claims/", api.ClaimListView.as_view(), name="claims"),
    path("v1/claims/<int:pk>/", api.ClaimDetailView.as_view(), name="claim"),
    path("v1/members/<str:id_number>/", api.MemberView.as_view(), name="member"),
    path("schema/", api.SchemaView.as_view(), name="schema"),
    path("docs/", api.DocsView.as_view(url_name="api:schema"), name="docs"),
    path("docs/redoc/", api.RedocView.as_view(url_name="api:schema"), name="redoc"),
]
