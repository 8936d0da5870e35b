
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Claim, ClaimEvent, CostLine, RejectionReason


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    """The maintained list of rejection reasons: add or deactivate, never delete one in use."""

    list_display = ("code", "text", "active")
    list_filter = ("active",)
    search_fields = ("code", "text")

    def has_delete_permission(self, request, obj=None):
        return False


class CostLineInline(admin.TabularInline):
    model = CostLine
    extra = 0
    can_delete = False
    readonly_fields = ("category", "amount", "in_catalog")

    def has_add_permission(self, request, obj=None):
        return False


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "action", "from_status", "to_status", "user", "note")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(SimpleHistoryAdmin):
    """Read-only: claims change only through claims.services (workflow, cap lock, events)."""

    list_display = ("invoice_no", "member", "facility", "discharge_date", "total_cost", "compensation", "status")
    list_filter = ("status", "channel", "year", "facility__level")
    search_fields = ("invoice_no", "member__name", "member__id_number", "facility__code")
    list_select_related = ("member", "facility")
    date_hierarchy = "discharge_date"
    inlines = (CostLineInline, ClaimEventInline)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Claim._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False
