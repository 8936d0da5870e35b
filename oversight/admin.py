"""Admin of facility oversight: inspections with their documents and history."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Inspection, InspectionDocument


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
