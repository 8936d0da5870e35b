"""Admin of the designated-facility registry: import and export, with the history of every change."""
from django.contrib import admin
from import_export.admin import ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from .models import Facility, Inspection, InspectionDocument
from .resources import FacilityResource


@admin.register(Facility)
class FacilityAdmin(ImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [FacilityResource]
    list_display = ("code", "name", "level", "township", "agreement_start", "agreement_end", "status")
    list_filter = ("level", "status", "township")
    list_select_related = ("township",)
    search_fields = ("code", "name")
    history_list_display = ("status", "agreement_end")


class InspectionDocumentInline(admin.TabularInline):
    model = InspectionDocument
    extra = 0
    fields = ("file", "original_name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Inspection)
class InspectionAdmin(SimpleHistoryAdmin):
    list_display = ("facility", "date", "inspectors", "penalty_amount", "deduct_from_settlements",
                    "deducted_amount", "recorded_by")
    list_filter = ("deduct_from_settlements", "facility__level")
    list_select_related = ("facility", "recorded_by")
    search_fields = ("facility__code", "facility__name", "inspectors", "findings")
    readonly_fields = ("recorded_by", "recorded_at")
    inlines = [InspectionDocumentInline]
