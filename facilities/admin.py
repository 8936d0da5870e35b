"""Admin of the designated-facility registry: import and export, with the history of every change."""
from django.contrib import admin
from import_export.admin import ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from .models import Facility
from .resources import FacilityResource


@admin.register(Facility)
class FacilityAdmin(ImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [FacilityResource]
    list_display = ("code", "name", "level", "township", "agreement_start", "agreement_end", "status")
    list_filter = ("level", "status", "township")
    list_select_related = ("township",)
    search_fields = ("code", "name")
    history_list_display = ("status", "agreement_end")
