"""The fund's REST endpoints, mounted at /api/ (config/urls.py) beside the claims' (claims.api_urls)."""
from django.urls import path

from . import api

app_name = "fund_api"

urlpatterns = [
    path("v1/statements/", api.StatementListView.as_view(), name="statements"),
]
