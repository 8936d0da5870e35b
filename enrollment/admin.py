"""Admin of the enrollment registers.

Households, members and enrollments are read-mostly here: they are written through the clerk
pages and the roster import, which validate them; the admin exports them and shows their history.
Nothing paid or registered is ever deleted, so deletion is switched off.
"""
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext as _
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from .admin_resources import EnrollmentAdminResource, HouseholdAdminResource, MemberAdminResource
from .models import Enrollment, Household, Member


class ReadMostlyAdmin(ExportMixin, SimpleHistoryAdmin):
    """Export and history; never delete (paid and registered records are kept for good).

    The admin writes its export in the request, a few hundred rows a second: above
    ADMIN_EXPORT_MAX_ROWS it refuses, saying to filter first or to use the export page, whose
    background jobs write a county's roster and contributions at tens of thousands of rows a second
    (enrollment.exports)."""

    def get_export_data(self, file_format, request, queryset, **kwargs):
        count = queryset.count()
        limit = settings.ADMIN_EXPORT_MAX_ROWS
        if count > limit:  # the export page catches ValueError and shows it, the form kept
            raise ValueError(_(
                "要导出 %(count)s 条，超过后台直接导出的上限 %(limit)s 条：请先按乡镇、村或年度筛选后再导出，"
                "或在“导出”页面导出花名册和缴费（由后台任务生成文件）") % {"count": count, "limit": limit})
        return super().get_export_data(file_format, request, queryset, **kwargs)

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
