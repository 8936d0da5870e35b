"""django-import-export resource of the facility registry, for the admin.

Columns are the contract's facility file headers (code, name, level, township_code,
agreement_start, agreement_end, status) plus the suspension's date and reason, so a file exported
from the admin also imports with `manage.py import_facilities`. Matched by code; every row is
validated with the model's own checks (choices, agreement period) before anything is saved, and
each save is recorded by django-simple-history with the admin user.
"""
from import_export import fields
from import_export.widgets import DateWidget, ForeignKeyWidget

from core.tabular import TextCellsResource
from places.models import Township

from .models import Facility

ISO = DateWidget(format="%Y-%m-%d")


class FacilityResource(TextCellsResource):
    code = fields.Field(column_name="code", attribute="code")
    name = fields.Field(column_name="name", attribute="name")
    level = fields.Field(column_name="level", attribute="level")
    township = fields.Field(column_name="township_code", attribute="township",
                            widget=ForeignKeyWidget(Township, field="code"))
    agreement_start = fields.Field(column_name="agreement_start", attribute="agreement_start", widget=ISO)
    agreement_end = fields.Field(column_name="agreement_end", attribute="agreement_end", widget=ISO)
    status = fields.Field(column_name="status", attribute="status")
    suspended_from = fields.Field(column_name="suspended_from", attribute="suspended_from", widget=ISO)
    suspension_reason = fields.Field(column_name="suspension_reason", attribute="suspension_reason")
    bank_name = fields.Field(column_name="bank_name", attribute="bank_name")
    bank_account = fields.Field(column_name="bank_account", attribute="bank_account")

    class Meta:
        model = Facility
        fields = ("code", "name", "level", "township", "agreement_start", "agreement_end", "status",
                  "suspended_from", "suspension_reason", "bank_name", "bank_account")
        export_order = fields
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

    def get_queryset(self):
        return super().get_queryset().select_related("township")
