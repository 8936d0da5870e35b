"""A facility clerk's own facility's settlement statements (结算单), mounted at /facilities/statements/
(config/urls.py, before the facilities' pages): read-only, another facility's code is a 404."""
from django.urls import path

from . import views_statements

app_name = "facility_statements"
urlpatterns = [
    path("", views_statements.own_statement_list, name="statements"),
    path("<str:code>/<int:year>/<int:month>/", views_statements.own_statement_detail, name="statement_detail"),
    path("<str:code>/<int:year>/<int:month>/pdf", views_statements.own_statement_pdf, name="statement_pdf"),
]
