"""django-import-export resources of the admin's enrollment registers.

Households, members and enrollments are export only: they are written through the clerk pages and
the roster import, which validate them (see enrollment.roster, enrollment.services).
"""
from import_export import fields

from core.tabular import TextCellsResource

from .models import Enrollment, Household, Member


class HouseholdAdminResource(TextCellsResource):
    number = fields.Field(column_name="户号", attribute="number")
    village = fields.Field(column_name="村代码", attribute="village__code")
    village_name = fields.Field(column_name="村名称", attribute="village__name")
    head_id_number = fields.Field(column_name="户主身份证号", attribute="head__id_number")
    head_name = fields.Field(column_name="户主姓名", attribute="head__name")
    address = fields.Field(column_name="住址", attribute="address")
    phone = fields.Field(column_name="联系电话", attribute="phone")
    card_number = fields.Field(column_name="合作医疗证号", attribute="card_number")
    bank_name = fields.Field(column_name="开户银行", attribute="bank_name")
    bank_account = fields.Field(column_name="银行账号", attribute="bank_account")

    class Meta:
        model = Household
        fields = ("number", "village", "village_name", "head_id_number", "head_name", "address", "phone",
                  "card_number", "bank_name", "bank_account")
        export_order = fields

    def get_queryset(self):
        return super().get_queryset().select_related("village", "head")


class MemberAdminResource(TextCellsResource):
    household = fields.Field(column_name="户号", attribute="household__number")
    village = fields.Field(column_name="村代码", attribute="household__village__code")
    name = fields.Field(column_name="姓名", attribute="name")
    id_number = fields.Field(column_name="身份证号", attribute="id_number")
    sex = fields.Field(column_name="性别", attribute="get_sex_display")
    birth_date = fields.Field(column_name="出生日期", attribute="birth_date")
    relation = fields.Field(column_name="与户主关系", attribute="get_relation_display")
    category = fields.Field(column_name="人员类别", attribute="get_category_display")
    phone = fields.Field(column_name="联系电话", attribute="phone")

    class Meta:
        model = Member
        fields = ("household", "village", "name", "id_number", "sex", "birth_date", "relation", "category",
                  "phone")
        export_order = fields

    def get_queryset(self):
        return super().get_queryset().select_related("household__village")


class EnrollmentAdminResource(TextCellsResource):
    year = fields.Field(column_name="年度", attribute="year")
    household = fields.Field(column_name="户号", attribute="member__household__number")
    name = fields.Field(column_name="姓名", attribute="member__name")
    id_number = fields.Field(column_name="身份证号", attribute="member__id_number")
    contribution = fields.Field(column_name="缴费金额", attribute="contribution")
    paid_date = fields.Field(column_name="缴费日期", attribute="paid_date")
    receipt_no = fields.Field(column_name="收据号", attribute="receipt_no")
    payer = fields.Field(column_name="缴费方式", attribute="get_payer_display")

    class Meta:
        model = Enrollment
        fields = ("year", "household", "name", "id_number", "contribution", "paid_date", "receipt_no", "payer")
        export_order = fields

    def get_queryset(self):
        return super().get_queryset().select_related("member__household")
