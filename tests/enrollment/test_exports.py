"""XLSX exports of the roster and the contributions: Chinese headers, text IDs, and a round trip."""
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from enrollment.models import Enrollment, Household, Member
from enrollment.resources import EnrollmentResource, RosterResource
from enrollment.roster import roster_import
from enrollment.rules import make_resident_id
from tests.enrollment.roster_data import (
    EXPORT_HEADERS,
    HEAD_ID,
    OTHER_HEAD_ID,
    SON_ID,
    SPOUSE_ID,
    csv_bytes,
    family,
    person,
)
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

YEAR = 2026
ENROLLMENT_HEADERS = ["村", "户号", "姓名", "身份证号", "年度", "缴费金额", "收据号", "缴费日期", "缴费方式"]


@pytest.fixture
def imported(village, clerk):
    """The four-member family roster imported for 2026; the son has not paid yet."""
    rows = family()
    rows[2].update(contribution="", paid_date="", receipt_no="")
    roster_import(data=csv_bytes(rows), filename="family.csv", year=YEAR, user=clerk)


def sheet_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.content)).worksheets[0]


def test_roster_export_has_the_contract_headers_and_text_ids(client, clerk, imported):
    client.force_login(clerk)

    sheet = sheet_of(client.get(reverse("enrollment:roster_export"), {"year": YEAR}))

    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == EXPORT_HEADERS
    assert len(rows) == 5
    by_id = {row[4].value: row for row in rows[1:]}
    head = by_id[HEAD_ID]
    for cell in (head[2], head[4]):  # 户主身份证号, 身份证号
        assert cell.data_type == "s"
        assert cell.number_format == "@"
    assert [c.value for c in head[:4]] == ["420102100201", "H001", HEAD_ID, "张大山"]
    assert [c.value for c in head[5:10]] == ["男", datetime(1970, 3, 5), "户主", "普通", "13800000001"]
    assert head[10].value == 380 and head[10].number_format == "0.00"
    assert head[11].value == datetime(2026, 1, 5) and head[11].number_format == "yyyy-mm-dd"
    assert head[12].value == f"R-{HEAD_ID[-6:]}"
    son = by_id[SON_ID]
    assert [c.value for c in son[7:13]] == ["子", "普通", None, None, None, None]
    assert by_id[OTHER_HEAD_ID][8].value == "低保"


def test_exported_roster_imports_again_unchanged(client, clerk, imported):
    client.force_login(clerk)
    data = client.get(reverse("enrollment:roster_export"), {"year": YEAR}).content
    counts = (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
              Member.history.count(), Household.history.count())

    summary = roster_import(data=data, filename="roster-2026.xlsx", year=YEAR, user=clerk,
                            township=clerk.township)

    assert summary.rows == 4
    assert summary.unchanged_rows == summary.rows
    assert summary.as_dict() == {"rows": 4, "households_created": 0, "households_updated": 0,
                                 "members_created": 0, "members_updated": 0,
                                 "enrollments_created": 0, "unchanged_rows": 4}
    assert (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Member.history.count(), Household.history.count()) == counts


def test_round_trip_keeps_ids_ending_in_x_and_cents(client, clerk, village, policies):
    version = next(version for version in policies if version.year == YEAR)  # a policy of 123.45
    version.document = {**version.document, "contribution": {**version.document["contribution"], "individual": "123.45"}}
    version.save()
    x_id = next(candidate for seq in range(1, 999)
                if (candidate := make_resident_id("420102", date(1980, 6, 15), seq, "M")).endswith("X"))
    rows = [person(x_id, "赵X", "户主", household_no="H900", head=x_id, contribution="123.45",
                   paid_date="2025-12-31")]
    roster_import(data=csv_bytes(rows), filename="x.csv", year=YEAR, user=clerk)
    client.force_login(clerk)

    data = client.get(reverse("enrollment:roster_export"), {"year": YEAR}).content
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["E2"].value == x_id
    assert sheet["K2"].value == 123.45

    summary = roster_import(data=data, filename="again.xlsx", year=YEAR, user=clerk)
    assert (summary.rows, summary.unchanged_rows) == (1, 1)
    assert Enrollment.objects.get().contribution == Decimal("123.45")


def test_roster_export_is_scoped_to_the_clerks_township(client, clerk, other_clerk, imported,
                                                        other_village):
    other = MemberFactory(household=HouseholdFactory(village=other_village), name="外乡人")
    client.force_login(clerk)
    sheet = sheet_of(client.get(reverse("enrollment:roster_export"), {"year": YEAR}))
    names = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(["张大山", "李秀英", "张小明", "王桂兰"])

    client.force_login(other_clerk)
    sheet = sheet_of(client.get(reverse("enrollment:roster_export"), {"year": YEAR}))
    assert [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)] == [other.id_number]


def test_roster_export_of_another_year_has_no_contributions(client, clerk, imported):
    client.force_login(clerk)
    sheet = sheet_of(client.get(reverse("enrollment:roster_export"), {"year": 2027}))
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(values) == 4
    assert {row[10:13] for row in values} == {(None, None, None)}


def test_enrollment_export_lists_the_years_contributions(client, clerk, imported, other_village):
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=other_village)))
    client.force_login(clerk)

    sheet = sheet_of(client.get(reverse("enrollment:enrollment_export"), {"year": YEAR}))

    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == ENROLLMENT_HEADERS
    values = [[cell.value for cell in row] for row in rows[1:]]
    assert values == [
        ["东湖村", "H001", "张大山", HEAD_ID, "2026", 380, f"R-{HEAD_ID[-6:]}", datetime(2026, 1, 5), "个人缴纳"],
        ["东湖村", "H001", "李秀英", SPOUSE_ID, "2026", 380, f"R-{SPOUSE_ID[-6:]}", datetime(2026, 1, 5), "个人缴纳"],
        ["东湖村", "H002", "王桂兰", OTHER_HEAD_ID, "2026", 380, f"R-{OTHER_HEAD_ID[-6:]}", datetime(2026, 1, 5), "民政代缴"],
    ]
    id_cells = [row[3] for row in rows[1:]]
    assert {(c.data_type, c.number_format) for c in id_cells} == {("s", "@")}
    assert {row[5].number_format for row in rows[1:]} == {"0.00"}


def test_enrollment_export_for_the_county_includes_every_township(client, users_by_role, imported,
                                                                  other_village):
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=other_village)))
    client.force_login(users_by_role[Role.FUND_OFFICER])
    sheet = sheet_of(client.get(reverse("enrollment:enrollment_export"), {"year": YEAR}))
    assert sheet.max_row == 1 + 4


def test_exports_refuse_a_bad_year(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("enrollment:roster_export"), {"year": "abc"}).status_code == 400
    assert client.get(reverse("enrollment:enrollment_export"), {"year": "1800"}).status_code == 400


def test_resources_export_datasets_with_chinese_headers(imported):
    roster = RosterResource(year=YEAR)
    dataset = roster.export(roster.roster_queryset(Member.objects.all()))
    assert dataset.headers == EXPORT_HEADERS
    assert dataset.height == 4
    assert dataset[0][10] == Decimal("380.00")
    contributions = EnrollmentResource().export(
        EnrollmentResource.enrollment_queryset(Enrollment.objects.all(), year=YEAR))
    assert contributions.headers == ENROLLMENT_HEADERS
    assert contributions.height == 3
