"""Admin of the enrollment registers.

Households, members and enrollments are read-mostly here: they are written through the clerk
pages and the roster import, which validate them; the admin exports them and shows their history.
Nothing paid or registered is ever deleted, so deletion is switched off.
"""
from django.contrib import admin
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from .admin_resources import EnrollmentAdminResource, HouseholdAdminResource, MemberAdminResource
from .models import Enrollment, Household, Member


class ReadMostlyAdmin(ExportMixin, SimpleHistoryAdmin):
    """Export and history; never delete (paid and registered records are kept for good)."""

    def has_delete_permission(self, request, obj=None):
        return False


class MemberInline(admin.TabularInline):
    model = Member
    fields = ("name", "id_number", "sex", "birth_date", "relation", "category", "phone")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(ReadMostlyAdmin):
    resource_classes = [HouseholdAdminResource]
    list_display = ("number", "village", "head", "phone", "card_number", "created_at")
    list_filter = ("village__township",)
    list_select_related = ("village__township", "head")
    search_fields = ("number", "card_number", "head__name", "head__id_number")
    # contact and bank details may be corrected here; identity fields go through the clerk pages
    readonly_fields = ("number", "village", "head", "card_number", "created_at")
    fields = ("number", "village", "head", "card_number", "address", "phone", "bank_name", "bank_account",
              "created_at")
    inlines = [MemberInline]

    def has_add_permission(self, request):
        return False


@admin.register(Member)
class MemberAdmin(ReadMostlyAdmin):
    resource_classes = [MemberAdminResource]
    list_display = ("name", "id_number", "sex", "birth_date", "relation", "category", "household")
    list_filter = ("category", "sex", "household__village__township")
    list_select_related = ("household",)
    search_fields = ("name", "id_number", "household__number")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadMostlyAdmin):
    resource_classes = [EnrollmentAdminResource]
    list_display = ("member", "year", "contribution", "paid_date", "receipt_no", "payer", "recorded_by")
    list_filter = ("year", "payer", "member__household__village__township")
    list_select_related = ("member", "recorded_by")
    search_fields = ("member__name", "member__id_number", "receipt_no")
    date_hierarchy = "paid_date"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
