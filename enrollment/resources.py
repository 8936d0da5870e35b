"""django-import-export resources of enrollment, and the XLSX writer of the exports.

`RosterResource` writes the contract's roster file (one row per member, the year's contribution
beside it) so that an exported roster imports again through `roster_import` unchanged.
`EnrollmentResource` is the list of contributions of a year.

Values are fixed Chinese words (the contract's spellings), never the translated labels, so the
file reads the same whatever the user's language. `xlsx_bytes` keeps every text cell as TEXT
(number format "@"): an ID number stored as a number loses its last digits in Excel.
"""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import xlsxwriter
from django.db.models import F, FilteredRelation, Q, QuerySet
from import_export import fields, resources
from tablib import Dataset

from core.money import to_fen
from enrollment.models import Category, Enrollment, Member, MemberStatus, Payer, Relation, Sex

SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}
RELATION_WORDS = {
    Relation.HEAD: "户主", Relation.SPOUSE: "配偶", Relation.SON: "子", Relation.DAUGHTER: "女",
    Relation.PARENT: "父母", Relation.GRANDCHILD: "孙子女", Relation.OTHER: "其他",
}
CATEGORY_WORDS = {
    Category.ORDINARY: "普通", Category.WUBAO: "五保", Category.DIBAO: "低保", Category.POOR: "贫困",
}
STATUS_WORDS = {MemberStatus.ACTIVE: "在册", MemberStatus.DIED: "死亡", MemberStatus.MOVED_OUT: "迁出本县"}
PAYER_WORDS = {Payer.SELF: "个人缴纳", Payer.CIVIL_AFFAIRS: "民政代缴"}


def _money(value) -> Decimal | str:
    return "" if value is None else to_fen(value)


def _date(value) -> date | str:
    return "" if value is None else value


class RosterResource(resources.ModelResource):
    """The roster of a year: every member in scope, with that year's contribution if recorded.

    Export only (imports go through `enrollment.roster.roster_import`, which validates the whole
    file and writes it set-based); the headers are the contract's Chinese headers.
    """

    village_code = fields.Field(column_name="村代码", attribute="household__village__code")
    household_no = fields.Field(column_name="户号", attribute="household__number")
    head_id_number = fields.Field(column_name="户主身份证号")
    name = fields.Field(column_name="姓名", attribute="name")
    id_number = fields.Field(column_name="身份证号", attribute="id_number")
    sex = fields.Field(column_name="性别")
    birth_date = fields.Field(column_name="出生日期")
    relation = fields.Field(column_name="与户主关系")
    category = fields.Field(column_name="人员类别")
    phone = fields.Field(column_name="联系电话", attribute="phone")
    contribution = fields.Field(column_name="缴费金额")
    paid_date = fields.Field(column_name="缴费日期")
    receipt_no = fields.Field(column_name="收据号")
    status = fields.Field(column_name="人员状态")
    status_date = fields.Field(column_name="状态日期")
    status_reason = fields.Field(column_name="状态原因", attribute="status_reason")

    class Meta:
        model = Member
        fields = ("village_code", "household_no", "head_id_number", "name", "id_number", "sex",
                  "birth_date", "relation", "category", "phone", "contribution", "paid_date",
                  "receipt_no", "status", "status_date", "status_reason")
        export_order = fields
        chunk_size = 2000

    def __init__(self, *, year: int):
        super().__init__()
        self.year = year

    def roster_queryset(self, members: QuerySet) -> QuerySet:
        """One query: members, their household, village and head, and the year's enrollment."""
        return (
            members.annotate(
                year_enrollment=FilteredRelation("enrollments", condition=Q(enrollments__year=self.year)),
            )
            .annotate(
                x_head_id_number=F("household__head__id_number"),
                x_contribution=F("year_enrollment__contribution"),
                x_paid_date=F("year_enrollment__paid_date"),
                x_receipt_no=F("year_enrollment__receipt_no"),
            )
            .select_related("household__village")
            .order_by("household__village__code", "household__number", "id")
        )

    def dehydrate_head_id_number(self, member):
        return member.x_head_id_number or ""

    def dehydrate_sex(self, member):
        return SEX_WORDS[member.sex]

    def dehydrate_birth_date(self, member):
        return member.birth_date

    def dehydrate_relation(self, member):
        return RELATION_WORDS[member.relation]

    def dehydrate_category(self, member):
        return CATEGORY_WORDS[member.category]

    def dehydrate_contribution(self, member):
        return _money(member.x_contribution)

    def dehydrate_paid_date(self, member):
        return _date(member.x_paid_date)

    def dehydrate_receipt_no(self, member):
        return member.x_receipt_no or ""

    def dehydrate_status(self, member):
        return STATUS_WORDS[member.status]

    def dehydrate_status_date(self, member):
        return _date(member.status_date)


class EnrollmentResource(resources.ModelResource):
    """The contributions (参合缴费) of a year: who paid, how much, receipt, date and payer."""

    village = fields.Field(column_name="村", attribute="member__household__village__name")
    household_no = fields.Field(column_name="户号", attribute="member__household__number")
    name = fields.Field(column_name="姓名", attribute="member__name")
    id_number = fields.Field(column_name="身份证号", attribute="member__id_number")
    year = fields.Field(column_name="年度", attribute="year")
    contribution = fields.Field(column_name="缴费金额")
    receipt_no = fields.Field(column_name="收据号", attribute="receipt_no")
    paid_date = fields.Field(column_name="缴费日期")
    payer = fields.Field(column_name="缴费方式")

    class Meta:
        model = Enrollment
        fields = ("village", "household_no", "name", "id_number", "year", "contribution",
                  "receipt_no", "paid_date", "payer")
        export_order = fields
        chunk_size = 2000

    @staticmethod
    def enrollment_queryset(enrollments: QuerySet, *, year: int) -> QuerySet:
        return (
            enrollments.filter(year=year)
            .select_related("member__household__village")
            .order_by("member__household__village__code", "member__household__number", "member_id")
        )

    def dehydrate_year(self, enrollment):
        return str(enrollment.year)

    def dehydrate_contribution(self, enrollment):
        return _money(enrollment.contribution)

    def dehydrate_paid_date(self, enrollment):
        return _date(enrollment.paid_date)

    def dehydrate_payer(self, enrollment):
        return PAYER_WORDS.get(enrollment.payer, enrollment.payer)


# --- XLSX ----------------------------------------------------------------------------------

TEXT = "@"
MONEY_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"


def xlsx_bytes(dataset: Dataset, *, sheet_title: str) -> bytes:
    """Write a tablib Dataset as XLSX: text cells as TEXT, money with 2 places, real dates.

    XlsxWriter in constant-memory mode: a county-wide roster (100,000 rows) is written in
    seconds, where openpyxl takes minutes. Strings are never turned into numbers, formulas or
    links, so an ID number or "=..." typed by a clerk comes out exactly as stored.
    """
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False,
    })
    sheet = workbook.add_worksheet(sheet_title[:31])
    text = workbook.add_format({"num_format": TEXT})
    header = workbook.add_format({"num_format": TEXT, "bold": True})
    money = workbook.add_format({"num_format": MONEY_FORMAT})
    day = workbook.add_format({"num_format": DATE_FORMAT})
    headers = list(dataset.headers or [])
    for column, title in enumerate(headers):
        sheet.set_column(column, column, 22 if "身份证" in title else 14)
        sheet.write_string(0, column, title, header)
    sheet.freeze_panes(1, 0)
    write_string, write_number, write_datetime = sheet.write_string, sheet.write_number, sheet.write_datetime
    for row_index, row in enumerate(dataset, start=1):
        for column, value in enumerate(row):
            if isinstance(value, Decimal):
                write_number(row_index, column, value, money)
            elif isinstance(value, date):
                write_datetime(row_index, column, value, day)
            elif value is None or value == "":
                # blank but still a TEXT cell, so what a clerk types there later stays text
                sheet.write_blank(row_index, column, None, text)
            else:
                write_string(row_index, column, str(value), text)
    workbook.close()
    return out.getvalue()
