"""The roster's optional status columns (人员状态, 状态日期, 状态原因): imported, checked, written
with the member and its history row, exported, and an exported roster imports again unchanged."""
import csv
import io
from datetime import date, datetime

import pytest
from django.urls import reverse

from enrollment.models import Enrollment, Member, MemberStatus
from enrollment.roster import RosterInvalid
from enrollment.roster.existing import load_existing
from tests.enrollment.roster_data import (
    EN_HEADERS,
    HEAD_ID,
    SON_ID,
    SPOUSE_ID,
    STATUS_EN_HEADERS,
    family,
)
from tests.enrollment.test_roster import YEAR, run, snapshot

pytestmark = pytest.mark.django_db
HEADERS = EN_HEADERS + STATUS_EN_HEADERS


def with_status(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([row.get(header, "") for header in HEADERS])
    return out.getvalue().encode()


def rows_with(**by_id):
    rows = family()
    for row in rows:
        row.update(by_id.get(row["id_number"], {}))
    return rows


def refused_with(data, **kwargs):
    before = snapshot(), list(Member.objects.values_list("status", "status_date"))
    with pytest.raises(RosterInvalid) as caught:
        run(data, **kwargs)
    assert (snapshot(), list(Member.objects.values_list("status", "status_date"))) == before
    return caught.value.errors


@pytest.fixture
def today(clock):
    clock("2026-06-15 10:00")


def test_new_members_are_written_with_their_status_and_its_history(village, clerk, today):
    rows = rows_with(**{SON_ID: {"status": "死亡", "status_date": "2026-03-02", "status_reason": "病故"},
                        SPOUSE_ID: {"status": "在册"}})
    summary = run(with_status(rows), user=clerk)
    assert summary.members_created == 4
    son = Member.objects.get(id_number=SON_ID)
    assert (son.status, son.status_date, son.status_reason) == (MemberStatus.DIED, date(2026, 3, 2), "病故")
    record = son.history.get()
    assert (record.status, record.status_date, record.history_user) == (MemberStatus.DIED, date(2026, 3, 2), clerk)
    assert son.enrollments.get().year == YEAR  # died during the year: that year's contribution stands
    others = Member.objects.exclude(id_number=SON_ID)
    assert set(others.values_list("status", "status_date", "status_reason")) == {(MemberStatus.ACTIVE, None, "")}
    assert Enrollment.objects.count() == 4
    # the same file again changes nothing
    before = snapshot()
    assert run(with_status(rows), user=clerk).unchanged_rows == 4
    assert snapshot() == before


def test_a_status_updates_a_registered_member_and_a_blank_one_keeps_it(village, clerk, today):
    run(with_status(family()), user=clerk)
    moved = rows_with(**{SPOUSE_ID: {"status": "moved_out", "status_date": "2026/5/1", "status_reason": "迁往外县"}})
    try:
        summary = run(with_status(moved), user=clerk)
    except RosterInvalid as exc:
        raise AssertionError(exc.errors) from exc
    assert summary.members_updated == 1
    spouse = Member.objects.get(id_number=SPOUSE_ID)
    assert (spouse.status, spouse.status_date, spouse.status_reason) == (
        MemberStatus.MOVED_OUT, date(2026, 5, 1), "迁往外县")
    assert spouse.history.first().status_date == date(2026, 5, 1)
    assert load_existing([], [SPOUSE_ID], year=YEAR).members[SPOUSE_ID].status == MemberStatus.MOVED_OUT
    # a file without the status (blank cells, or no such column) keeps it
    assert run(with_status(family()), user=clerk).members_updated == 0
    assert Member.objects.get(id_number=SPOUSE_ID).status == MemberStatus.MOVED_OUT


@pytest.mark.parametrize("changes, column, message", [
    ({"status": "死了"}, "status", "人员状态应为 在册、死亡、迁出本县 之一"),
    ({"status": "死亡"}, "status_date", "人员状态为死亡时，状态日期必填"),
    ({"status": "死亡", "status_date": "2026-06-16"}, "status_date", "死亡日期晚于今天2026-06-15"),
    ({"status": "死亡", "status_date": "2001-02-27", "contribution": "",
      "paid_date": "", "receipt_no": ""}, "status_date", "死亡日期早于出生日期2001-02-28"),
    ({"status": "迁出本县", "status_date": "2025-12-31"}, "status", "已于2025-12-31迁出本县，不能登记2026年度的缴费"),
    ({"status_date": "2026-01-01"}, "status", "填写了状态日期或原因，但人员状态是空的"),
    ({"status": "死亡", "status_date": "2026-13-01"}, "status_date", "状态日期不是有效日期，应写成 2026-01-05 的样式"),
])
def test_a_bad_status_refuses_the_file(village, clerk, today, changes, column, message):
    errors = refused_with(with_status(rows_with(**{SON_ID: changes})), user=clerk)
    assert [(e.row, e.column, e.reason) for e in errors] == [(4, column, message)]


def test_the_export_carries_the_status_and_imports_again_unchanged(client, village, clerk, today):
    from openpyxl import load_workbook

    rows = rows_with(**{SON_ID: {"status": "死亡", "status_date": "2026-03-02", "status_reason": "病故"}})
    run(with_status(rows), user=clerk)
    client.force_login(clerk)
    data = client.get(reverse("enrollment:roster_export"), {"year": YEAR}).content
    sheet = load_workbook(io.BytesIO(data)).active
    by_id = {row[4].value: [cell.value for cell in row] for row in sheet.iter_rows(min_row=2)}
    assert by_id[SON_ID][13:] == ["死亡", datetime(2026, 3, 2), "病故"]
    assert by_id[HEAD_ID][13] == "在册" and by_id[HEAD_ID][14] is None
    before = snapshot(), list(Member.objects.values_list("status", "status_date", "status_reason"))
    summary = run(data, filename="roster-2026.xlsx", user=clerk, township=clerk.township)
    assert summary.unchanged_rows == 4
    assert (snapshot(), list(Member.objects.values_list("status", "status_date", "status_reason"))) == before


def test_a_contribution_for_a_member_registered_as_gone_is_refused(village, clerk, today):
    rows = rows_with(**{SON_ID: {"status": "迁出本县", "status_date": "2025-10-01", "contribution": "",
                                 "paid_date": "", "receipt_no": ""}})
    run(with_status(rows), user=clerk)
    # next, a file without the status columns pays for him
    from tests.enrollment.roster_data import csv_bytes

    errors = refused_with(csv_bytes(family()), user=clerk)
    assert [(e.row, e.column, e.reason) for e in errors] == [
        (4, "contribution", "张小明已于2025-10-01迁出本县，不能登记2026年度的缴费")]
