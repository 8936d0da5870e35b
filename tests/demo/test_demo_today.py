"""seed_demo builds the county as of the day it runs (the county's local date): claims discharged
through the current month and never after today, fund usage at about the plan's pace, one notice
open for objections, and every part the demo shows, on any run date."""
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from claims.demo import as_of
from claims.models import Channel, Claim, ClaimStatus, Recovery
from enrollment.demo import demo_year
from fund.models import FacilityStatement, RecoveryRefund
from fund.report import monthly_report_figures
from fund.selectors import reconciliation
from oversight.models import ClaimFlag, Inspection
from publicity.models import Notice, NoticeCorrection, Objection, Report

MEMBERS = "4000"  # a county of 4,000 members: about 450 claims in a whole year


def elapsed(year: int, today: date) -> float:
    """The share of the scheme year gone by on `today` (the whole year once it is over)."""
    last = as_of(year, today)
    return ((last - date(year, 1, 1)).days + 1) / ((date(year, 12, 31) - date(year, 1, 1)).days + 1)


def fund_usage(year: int, month: int) -> Decimal:
    return monthly_report_figures(year=year, month=month)["rows"][-1]["fund_usage_rate"]


@pytest.mark.parametrize("moment", [
    "2027-01-01 00:30",  # New Year's night: the demo shows last year, whole
    "2027-03-01 00:30",  # = 2027-02-28 16:30 UTC, CI's faketime pass: still last year
    "2026-04-01 00:30",  # the first day of a year's own demo
    "2026-07-01 00:30",  # mid-year, the first hour of a month
    "2026-12-31 23:30",  # the year's last hour
])
def test_the_demo_county_is_as_of_today(db, clock, moment):
    clock(moment)
    today = timezone.localdate()
    call_command("seed_demo", "--members", MEMBERS, "--seed", "2026", stdout=StringIO())
    year = demo_year(today)
    last = as_of(year, today)
    claims = Claim.objects.filter(year=year)

    # claims through the current month (the demo year's last month once it is over), none after today
    assert not claims.filter(discharge_date__gt=today).exists()
    assert claims.filter(discharge_date__year=last.year, discharge_date__month=last.month).exists()
    months = set(claims.dates("discharge_date", "month"))
    assert len(months) == last.month  # every month of the year so far

    # fund usage (the fund report's, for the month of `last`) at about the share of the year gone by
    share = Decimal(elapsed(year, today))
    usage = fund_usage(year, last.month)
    assert share * Decimal("0.80") <= usage <= share * Decimal("1.10"), (usage, share)
    assert not [w for w in monthly_report_figures(year=year, month=last.month)["warnings"]
                if w["kind"] in ("overspending", "underuse")]

    # exactly one notice still open for objections today; every payout is on a notice
    open_now = [notice for notice in Notice.objects.all() if notice.in_objection_period(today)]
    assert len(open_now) == 1
    paid = Claim.objects.filter(status=ClaimStatus.PAID)
    assert set(paid.values_list("notice_line__claim", flat=True)) == set(paid.values_list("pk", flat=True))

    # what the demo shows besides: claims in every state, statements paid and one waiting,
    # recoveries withheld and refunded, a penalty, flags, corrections, an objection and a report
    assert set(claims.values_list("status", flat=True)) == set(ClaimStatus.values)
    assert FacilityStatement.objects.exists()
    assert Claim.objects.filter(status=ClaimStatus.APPROVED, channel=Channel.FACILITY).exists()
    assert Claim.objects.filter(status=ClaimStatus.APPROVED, channel=Channel.TOWNSHIP).exists()
    assert Recovery.objects.count() == 2 and RecoveryRefund.objects.count() == 1
    assert Inspection.objects.filter(penalty_amount__gt=0).exists()
    assert {"readmission_15d", "cost_outlier"} <= set(ClaimFlag.objects.values_list("kind", flat=True))
    assert NoticeCorrection.objects.exists()
    assert Objection.objects.count() == 1 and Report.objects.count() == 1
    assert [d for d in reconciliation(year) if d.kind in ("payouts", "unbalanced", "negative", "balance")] == []
