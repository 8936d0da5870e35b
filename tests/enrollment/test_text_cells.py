"""Exports write text as text: a bank name or a name that a spreadsheet would read as a formula
comes out as text in the roster export and the admin export; phones and bank accounts are digits."""
import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from core.tabular import text_cell, untext_cell
from enrollment.admin_resources import HouseholdAdminResource
from enrollment.forms import HouseholdForm, MemberForm
from enrollment.models import Household
from enrollment.roster import roster_import
from enrollment.roster.outcome import RosterInvalid
from tests.enrollment.roster_data import csv_bytes, family
from tests.factories import HouseholdFactory, MemberFactory, UserFactory

LINK = '=HYPERLINK("http://evil.example/","农村商业银行")'
FORMULA_NAME = "=1+2"


@pytest.fixture
def planted(village):
    household = HouseholdFactory(village=village, number="H001", bank_name=LINK, bank_account="6228480012345678")
    member = MemberFactory(household=household, name=FORMULA_NAME)
    household.head = member
    household.save()
    return household


def test_text_cell_marks_formula_leads_and_reads_back():
    for text in (LINK, FORMULA_NAME, "+86", "-1", "@SUM(A1)", "\t=1"):
        assert text_cell(text) == "'" + text
        assert untext_cell(text_cell(text)) == text
    for unchanged in ("农村商业银行", "6228480012345678", "", None, 12):
        assert text_cell(unchanged) == unchanged


def test_roster_export_keeps_a_formula_like_name_as_a_text_cell(client, clerk, planted):
    client.force_login(clerk)
    response = client.get(reverse("enrollment:roster_export"), {"year": 2026})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    names = [row[3] for row in sheet.iter_rows(min_row=2)]
    assert [(cell.value, cell.data_type) for cell in names] == [(FORMULA_NAME, "s")]


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True))
    return client


def admin_export(admin_client, file_format: str) -> bytes:
    page = admin_client.get("/admin/enrollment/household/export/")
    choices = dict((label.lower(), value) for value, label in page.context["form"].fields["format"].choices)
    fields = {HouseholdAdminResource.__name__.lower() + "_" + name: "on"
              for name in HouseholdAdminResource.Meta.fields}
    response = admin_client.post("/admin/enrollment/household/export/",
                                 {"format": choices[file_format], "resource": 0, **fields})
    assert response.status_code == 200, response.content[:500]
    return response.content


def test_admin_export_writes_a_formula_like_bank_name_as_text(admin_client, planted):
    rows = list(csv.reader(io.StringIO(admin_export(admin_client, "csv").decode("utf-8-sig"))))
    header = rows[0]
    assert rows[1][header.index("开户银行")] == "'" + LINK
    assert rows[1][header.index("户主姓名")] == "'" + FORMULA_NAME

    sheet = load_workbook(io.BytesIO(admin_export(admin_client, "xlsx"))).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    bank = sheet.cell(row=2, column=header.index("开户银行") + 1)
    name = sheet.cell(row=2, column=header.index("户主姓名") + 1)
    assert (bank.value, bank.data_type) == ("'" + LINK, "s")
    assert (name.value, name.data_type) == ("'" + FORMULA_NAME, "s")


def test_a_bank_account_with_letters_is_refused(clerk, village):
    form = HouseholdForm({"village": village.pk, "bank_account": "6228 abc"}, user=clerk)
    assert not form.is_valid()
    assert form.errors["bank_account"] == ["银行账号只能填数字（最多40位）"]
    grouped = HouseholdForm({"village": village.pk, "bank_account": "6228 4800 1234 5678", "phone": "0710-1234567"},
                            user=clerk)
    assert grouped.is_valid(), grouped.errors
    assert grouped.cleaned_data["bank_account"] == "6228480012345678"
    assert grouped.cleaned_data["phone"] == "07101234567"


@pytest.mark.parametrize("phone", ["=1+2", "+8613800000001", "138abc", "-13800000001"])
def test_a_phone_that_is_not_digits_is_refused(phone):
    form = MemberForm({"phone": phone})
    form.is_valid()
    assert form.errors["phone"] == ["联系电话只能填数字（最多20位）"]


def test_the_admin_refuses_letters_in_a_bank_account(planted):
    planted.bank_account = "6228 abc"
    with pytest.raises(Exception) as refused:
        planted.full_clean()
    assert "银行账号只能填数字" in str(refused.value)


def test_the_roster_import_refuses_a_phone_that_is_not_digits(village, clerk):
    rows = family()
    rows[0]["phone"] = "+8613800000001"
    rows[1]["phone"] = "-1"
    with pytest.raises(RosterInvalid) as refused:
        roster_import(data=csv_bytes(rows), filename="family.csv", year=2026, user=clerk)
    reasons = [(error.value, error.reason) for error in refused.value.errors]
    assert reasons == [("+8613800000001", "联系电话只能填数字（最多20位）"), ("-1", "联系电话只能填数字（最多20位）")]
    assert not Household.objects.exists()
