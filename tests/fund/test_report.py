"""fund.report.monthly_report: exact figures to the fen on a hand-built county.

Township 城关镇 (420102100): population 3, members m1..m3 paid 2026-01-10, m4 paid 2026-04-02.
  c1 m1 paid 2026-01-20  total 1000.00 reimbursable 900.00 compensation 700.00
  c2 m1 paid 2026-03-05  total  333.33 reimbursable 300.00 compensation 200.01
  c3 m2 paid 2026-03-31 23:30 (local)  total 166.69 reimbursable 150.00 compensation 100.00
  c4 m3 paid 2026-04-01 00:10 (local, 2026-03-31 16:10 UTC)  total 50.00 / 40.00 / 30.00
  plus an approved unpaid claim and a 2025 claim paid in January 2026: never counted.
Township 河口乡 (420102200): population 4, members n1..n3 paid 2026-02-01.
  d1 n1 paid 2026-02-10  total 100.00 reimbursable  80.00 compensation  60.00
  d2 n2 paid 2026-02-20  total 200.01 reimbursable 150.00 compensation 100.00
Township 空白乡 (420102300): a village without population or members.
Income of 2026: 3000.50 dated 2026-02-01, 1000.00 dated 2026-04-01; risk reserve 0.03.
"""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.errors import NcmsError
from fund.report import monthly_report, township_drilldown
from tests.factories import (
    ClaimFactory,
    EnrollmentFactory,
    FacilityFactory,
    HouseholdFactory,
    MemberFactory,
    PolicyVersionFactory,
    TownshipFactory,
    VillageFactory,
    VillagePopulationFactory,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def book_income(year, day, amount, ref):
    """Income into the special account through the ledger's own service."""
    from ledger import services as ledger_services

    ledger_services.income_record(year=year, date=day, source="central", amount=Decimal(amount), ref=ref, user=None)


def member_in(village, paid_date, year=2026):
    member = MemberFactory(household=HouseholdFactory(village=village))
    EnrollmentFactory(member=member, year=year, paid_date=paid_date)
    return member


def paid(member, facility, when, total, reimbursable, compensation, year=2026, status="paid"):
    total, reimbursable, compensation = Decimal(total), Decimal(reimbursable), Decimal(compensation)
    return ClaimFactory(
        member=member, facility=facility, year=year, status=status, paid_at=when if status == "paid" else None,
        total_cost=total, non_reimbursable_cost=total - reimbursable, reimbursable_cost=reimbursable,
        compensation=compensation, patient_pays=total - compensation,
    )


@pytest.fixture
def county(db, township, other_township, village, other_village, facility):
    PolicyVersionFactory(year=2026)
    PolicyVersionFactory(year=2025, name="2025")
    VillagePopulationFactory(village=village, year=2026, population=3)
    VillagePopulationFactory(village=other_village, year=2026, population=4)
    VillagePopulationFactory(village=other_village, year=2025, population=999)  # another year
    blank = TownshipFactory(code="420102300", name="空白乡")
    VillageFactory(township=blank, code="420102300201", name="空村")
    m1, m2, m3 = (member_in(village, date(2026, 1, 10)) for _ in range(3))
    member_in(village, date(2026, 4, 2))  # m4: paid after March
    n1, n2, _n3 = (member_in(other_village, date(2026, 2, 1)) for _ in range(3))
    paid(m1, facility, at(2026, 1, 20), "1000.00", "900.00", "700.00")
    paid(m1, facility, at(2026, 3, 5), "333.33", "300.00", "200.01")
    paid(m2, facility, at(2026, 3, 31, 23, 30), "166.69", "150.00", "100.00")
    paid(m3, facility, at(2026, 4, 1, 0, 10), "50.00", "40.00", "30.00")
    paid(m3, facility, None, "70.00", "60.00", "50.00", status="approved")
    paid(m2, facility, at(2026, 1, 5), "90.00", "80.00", "70.00", year=2025)
    other_facility = FacilityFactory(code="F002", township=other_township)
    paid(n1, other_facility, at(2026, 2, 10), "100.00", "80.00", "60.00")
    paid(n2, other_facility, at(2026, 2, 20), "200.01", "150.00", "100.00")
    book_income(2026, date(2026, 2, 1), "3000.50", "CZ-2026-01")
    book_income(2026, date(2026, 4, 1), "1000.00", "CZ-2026-02")


def rows_of(report):
    return {row["township"]: row for row in report["rows"]}


def test_march_report_exact_figures(county):
    report = monthly_report(year=2026, month=3)
    assert report["year"] == 2026 and report["month"] == 3
    assert [row["township"] for row in report["rows"]] == ["420102100", "420102200", "420102300", "county"]
    rows = rows_of(report)
    assert rows["420102100"] == {
        "township": "420102100", "population": "3", "participants": "3", "participation_rate": "1.0000",
        "admissions": "2", "admissions_ytd": "3",
        "total_cost": "500.02", "total_cost_ytd": "1500.02",
        "reimbursable_cost": "450.00", "reimbursable_cost_ytd": "1350.00",
        "compensation": "300.01", "compensation_ytd": "1000.01", "recovered": "0.00", "recovered_ytd": "0.00",
        "avg_cost_per_admission": "500.01",      # 1500.02 / 3 = 500.0067
        "compensation_ratio": "0.6667",          # 1000.01 / 1500.02
        "beneficiary_rate": "0.6667",            # m1, m2 of 3
        "fund_raised": None, "fund_available": None, "fund_usage_rate": None,
    }
    assert rows["420102200"] == {
        "township": "420102200", "population": "4", "participants": "3", "participation_rate": "0.7500",
        "admissions": "0", "admissions_ytd": "2",
        "total_cost": "0.00", "total_cost_ytd": "300.01",
        "reimbursable_cost": "0.00", "reimbursable_cost_ytd": "230.00",
        "compensation": "0.00", "compensation_ytd": "160.00", "recovered": "0.00", "recovered_ytd": "0.00",
        "avg_cost_per_admission": "150.01",      # 300.01 / 2 = 150.005, half up
        "compensation_ratio": "0.5333",
        "beneficiary_rate": "0.6667",
        "fund_raised": None, "fund_available": None, "fund_usage_rate": None,
    }
    assert rows["county"] == {
        "township": "county", "population": "7", "participants": "6", "participation_rate": "0.8571",
        "admissions": "2", "admissions_ytd": "5",
        "total_cost": "500.02", "total_cost_ytd": "1800.03",
        "reimbursable_cost": "450.00", "reimbursable_cost_ytd": "1580.00",
        "compensation": "300.01", "compensation_ytd": "1160.01", "recovered": "0.00", "recovered_ytd": "0.00",
        "avg_cost_per_admission": "360.01",      # 360.006
        "compensation_ratio": "0.6444",
        "beneficiary_rate": "0.6667",            # 4 of 6
        "fund_raised": "3000.50",                # the April income is after March 31
        "fund_available": "2910.49",             # 3000.50 × 0.97 = 2910.485, half up
        "fund_usage_rate": "0.3986",             # 1160.01 / 2910.485 (exact, not the rounded 2910.49)
    }


def test_a_member_who_moved_township_counts_once_in_the_county(county, facility, other_village):
    """m1 had paid claims in 城关镇 (January, March); after moving to 河口乡 a third one is paid
    there: each township counts m1 as a beneficiary (participants by where members live now),
    the county once (4 of 6 participants)."""
    from claims.models import Claim

    m1 = Claim.objects.get(paid_at=at(2026, 1, 20)).member
    household = m1.household
    household.village = other_village
    household.save()
    paid(m1, facility, at(2026, 3, 20), "10.00", "10.00", "5.00")
    rows = rows_of(monthly_report(year=2026, month=3))
    assert rows["420102100"]["beneficiary_rate"] == "1.0000"   # m1, m2 of m2, m3
    assert rows["420102200"]["beneficiary_rate"] == "0.7500"   # n1, n2, m1 of n1..n3, m1
    assert rows["county"]["beneficiary_rate"] == "0.6667"      # m1, m2, n1, n2 of 6, not 5 of 6


def test_zero_denominators_are_null(county):
    blank = rows_of(monthly_report(year=2026, month=3))["420102300"]
    assert blank == {
        "township": "420102300", "population": "0", "participants": "0", "participation_rate": None,
        "admissions": "0", "admissions_ytd": "0", "total_cost": "0.00", "total_cost_ytd": "0.00",
        "reimbursable_cost": "0.00", "reimbursable_cost_ytd": "0.00", "compensation": "0.00",
        "compensation_ytd": "0.00", "recovered": "0.00", "recovered_ytd": "0.00", "avg_cost_per_admission": None, "compensation_ratio": None,
        "beneficiary_rate": None, "fund_raised": None, "fund_available": None, "fund_usage_rate": None,
    }


def test_january_report_counts_only_january(county):
    rows = rows_of(monthly_report(year=2026, month=1))
    # the 2025 claim paid in January 2026 belongs to scheme year 2025
    assert (rows["420102100"]["admissions"], rows["420102100"]["compensation_ytd"]) == ("1", "700.00")
    assert rows["420102200"]["participants"] == "0"       # paid 2026-02-01
    assert rows["420102200"]["beneficiary_rate"] is None  # no participants yet
    assert rows["county"]["fund_raised"] == "0.00"
    assert rows["county"]["fund_available"] == "0.00"
    assert rows["county"]["fund_usage_rate"] is None       # nothing available yet: no warning either
    assert [(w["kind"], w["township"]) for w in monthly_report(year=2026, month=1)["warnings"]] == [
        ("low_participation", "420102200")]  # 0 of 4


def test_march_warnings(county):
    assert monthly_report(year=2026, month=3)["warnings"] == [
        {"kind": "overspending", "township": "county",
         "message": "全县基金使用率 39.86% 超过 3 月进度 25.00% 的 110%（27.50%），基金有超支风险。"},
        {"kind": "low_participation", "township": "420102200", "message": "河口乡参合率 75.00% 低于 95%。"},
    ]


def test_july_underuse_and_april_claim(county):
    report = monthly_report(year=2026, month=7)
    rows = rows_of(report)
    assert rows["420102100"]["participants"] == "4"
    assert rows["420102100"]["participation_rate"] == "1.3333"
    assert rows["420102100"]["admissions"] == "0"
    assert rows["420102100"]["admissions_ytd"] == "4"
    assert rows["county"]["compensation_ytd"] == "1190.01"
    assert rows["county"]["fund_raised"] == "4000.50"
    assert rows["county"]["fund_usage_rate"] == "0.3067"   # < 7/12 × 0.85 = 0.4958
    assert [(w["kind"], w["township"]) for w in report["warnings"]] == [
        ("underuse", "county"), ("low_participation", "420102200")]


def test_april_report_counts_the_claim_paid_just_after_midnight(county):
    rows = rows_of(monthly_report(year=2026, month=4))
    assert (rows["420102100"]["admissions"], rows["420102100"]["compensation"]) == ("1", "30.00")


def test_no_policy_gives_null_fund_available(db, township):
    report = monthly_report(year=2030, month=6)
    county_row = report["rows"][-1]
    assert county_row["fund_raised"] == "0.00"
    assert county_row["fund_available"] is None and county_row["fund_usage_rate"] is None
    assert report["warnings"] == []


@pytest.mark.parametrize("month", [0, 13])
def test_bad_month_is_refused(db, month):
    with pytest.raises(NcmsError) as refused:
        monthly_report(year=2026, month=month)
    assert refused.value.code == "invalid_month"


def test_report_is_a_few_aggregate_queries(county, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        monthly_report(year=2026, month=3)


def test_township_drilldown_lists_villages(county, township):
    rows = township_drilldown(year=2026, month=3, township=township)
    assert [(r["village"], r["name"], r["population"], r["participants"], r["admissions_ytd"],
             r["compensation_ytd"], r["participation_rate"]) for r in rows] == [
        ("420102100201", "东湖村", 3, 3, 3, Decimal("1000.01"), Decimal("1.0000"))]


def test_stored_reports_are_versions_and_never_change(county):
    from fund.models import FundReport
    from fund.report import fund_report_store
    from fund.tasks import fund_report_store_last_month

    result = fund_report_store_last_month(year=2026, month=3)
    assert result == {"year": 2026, "month": 3, "version": 1, "created": True}
    assert fund_report_store_last_month(year=2026, month=3)["created"] is False  # idempotent
    first = FundReport.objects.get(year=2026, month=3)
    assert first.data == monthly_report(year=2026, month=3)
    second = fund_report_store(year=2026, month=3)
    assert second.version == 2
    first.data = {}
    with pytest.raises(NcmsError):
        first.save()
    with pytest.raises(NcmsError):
        FundReport.objects.filter(pk=second.pk).update(data={})
    with pytest.raises(NcmsError):
        second.delete()
    assert FundReport.objects.count() == 2
    assert FundReport.objects.get(pk=first.pk).data == monthly_report(year=2026, month=3)


def test_beat_schedule_runs_on_the_first_at_two():
    from config.celery import app

    entry = app.conf.beat_schedule["monthly fund report"]
    assert entry["task"] == "fund.tasks.fund_report_store_last_month"
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1} and schedule.hour == {2} and schedule.minute == {0}


def test_last_month():
    from fund.tasks import last_month

    assert last_month(date(2026, 1, 1)) == (2025, 12)
    assert last_month(date(2026, 7, 1)) == (2026, 6)


def test_monthly_compensation_for_the_chart(county):
    from fund.report import monthly_compensation

    assert monthly_compensation(year=2026, month=4) == [
        (1, Decimal("700.00")), (2, Decimal("160.00")), (3, Decimal("300.01")), (4, Decimal("30.00"))]


def test_recovered_columns_sum_recoveries_by_their_date_and_the_claims_township(county):
    """Recoveries of 2026 claims by the recovery's date: c1 100.00 on 2026-02-15 and 50.00 on
    2026-03-10, c2 20.01 on 2026-03-31 (城关镇), d1 10.00 on 2026-04-01 (河口乡); one of the 2025
    claim and one dated 2027 count in no month of 2026. Compensation keeps its meaning."""
    from claims.models import Claim, Recovery
    from fund.report_output import table_headers

    def recover(paid_at, amount, on):
        Recovery.objects.create(claim=Claim.objects.get(paid_at=paid_at), amount=Decimal(amount), reason="重复收费",
                                date=on, source="review")

    recover(at(2026, 1, 20), "100.00", date(2026, 2, 15))
    recover(at(2026, 1, 20), "50.00", date(2026, 3, 10))
    recover(at(2026, 3, 5), "20.01", date(2026, 3, 31))
    recover(at(2026, 2, 10), "10.00", date(2026, 4, 1))
    recover(at(2026, 1, 5), "5.00", date(2026, 3, 5))      # the 2025 claim
    recover(at(2026, 3, 31, 23, 30), "1.00", date(2027, 1, 2))  # after December of 2026

    def figures(month):
        return {code: (row["recovered"], row["recovered_ytd"], row["compensation_ytd"])
                for code, row in rows_of(monthly_report(year=2026, month=month)).items()}

    assert figures(1) == {"420102100": ("0.00", "0.00", "700.00"), "420102200": ("0.00", "0.00", "0.00"),
                          "420102300": ("0.00", "0.00", "0.00"), "county": ("0.00", "0.00", "700.00")}
    assert figures(3) == {"420102100": ("70.01", "170.01", "1000.01"), "420102200": ("0.00", "0.00", "160.00"),
                          "420102300": ("0.00", "0.00", "0.00"), "county": ("70.01", "170.01", "1160.01")}
    assert figures(4) == {"420102100": ("0.00", "170.01", "1030.01"), "420102200": ("10.00", "10.00", "160.00"),
                          "420102300": ("0.00", "0.00", "0.00"), "county": ("10.00", "180.01", "1190.01")}
    assert figures(12)["county"] == ("0.00", "180.01", "1190.01")
    headers = dict(table_headers())
    assert (headers["recovered"], headers["recovered_ytd"]) == ("本月追回金额", "累计追回金额")
