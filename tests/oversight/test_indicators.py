"""Monthly facility indicators (oversight.indicators): exact figures, warnings and the
suspension-review list."""
from datetime import date
from decimal import Decimal

import pytest

from facilities.models import Level
from oversight.indicators import indicators, months_ending, suspension_review
from tests.factories import ClaimFactory, FacilityFactory, MemberFactory

pytestmark = pytest.mark.django_db


def claim(facility, admission, discharge, total, nonreimb, compensation, member=None, **extra):
    total, nonreimb, compensation = Decimal(total), Decimal(nonreimb), Decimal(compensation)
    return ClaimFactory(member=member or MemberFactory(), facility=facility, admission_date=admission,
                        discharge_date=discharge, total_cost=total, non_reimbursable_cost=nonreimb,
                        reimbursable_cost=total - nonreimb, compensation=compensation,
                        patient_pays=total - compensation, year=discharge.year, **extra)


def test_months_ending():
    assert months_ending(2026, 2, 3) == [(2025, 12), (2026, 1), (2026, 2)]


def test_figures_of_a_month(facility):
    other = FacilityFactory(code="F002", level=Level.TOWNSHIP)
    county = FacilityFactory(code="F101", level=Level.COUNTY)
    member = MemberFactory()
    # F001, March 2026: two admissions (the second a readmission 5 days after the first)
    claim(facility, date(2026, 3, 1), date(2026, 3, 5), "1000.00", "100.00", "810.00", member=member)
    claim(facility, date(2026, 3, 10), date(2026, 3, 17), "2000.01", "300.00", "1500.00", member=member)
    claim(facility, date(2026, 3, 2), date(2026, 3, 4), "9999.00", "0.00", "0.00", status="rejected")
    # F001, March 2025: one admission of 1200.00
    claim(facility, date(2025, 3, 1), date(2025, 3, 3), "1200.00", "0.00", "1000.00")
    # F002, March 2026: one admission of 1000.00
    claim(other, date(2026, 3, 1), date(2026, 3, 2), "1000.00", "0.00", "900.00")
    # F101, March 2026
    claim(county, date(2026, 3, 1), date(2026, 3, 11), "10000.00", "1000.00", "6790.00")

    result = indicators(year=2026, month=3)
    assert result.months[0] == (2025, 4) and result.months[-1] == (2026, 3)
    march = result.facilities[facility.pk][(2026, 3)]
    assert march.admissions == 2
    assert march.total_cost == Decimal("3000.01")
    assert march.avg_cost == Decimal("1500.01")  # 3000.01 / 2 = 1500.005 → half up
    assert march.avg_cost_last_year == Decimal("1200.00")
    assert march.avg_cost_change == Decimal("0.2500")  # (1500.01 − 1200) / 1200 = 0.250008
    assert march.non_reimbursable_share == Decimal("0.1333")  # 400.00 / 3000.01
    assert march.avg_los == Decimal("5.5")  # (4 + 7) / 2
    assert march.readmissions == 1
    assert march.compensation == Decimal("2310.00")
    assert march.compensation_share == Decimal("0.2310")  # 2310 / (2310 + 900 + 6790)
    # township level in March 2026: 3 admissions, 4000.01
    assert march.level_avg_cost == Decimal("1333.34")
    assert march.warning is True
    f002 = result.facilities[other.pk][(2026, 3)]
    assert (f002.avg_cost, f002.warning, f002.avg_cost_change) == (Decimal("1000.00"), False, None)
    level = result.levels[Level.TOWNSHIP][(2026, 3)]
    assert (level.admissions, level.avg_cost, level.readmissions, level.compensation_share) == (
        3, Decimal("1333.34"), 1, Decimal("0.3210"))
    assert result.levels[Level.COUNTY][(2026, 3)].avg_los == Decimal("10.0")
    assert result.county_compensation[(2026, 3)] == Decimal("10000.00")
    # the year before is read for the change only
    assert (2025, 3) not in result.facilities[facility.pk]


def test_three_warnings_in_a_year_put_a_facility_on_the_review_list(facility):
    other = FacilityFactory(code="F002", level=Level.TOWNSHIP)
    for month in (1, 2, 3):
        claim(facility, date(2026, month, 1), date(2026, month, 3), "3000.00", "0.00", "0.00")
        claim(other, date(2026, month, 1), date(2026, month, 3), "1000.00", "0.00", "0.00")
    claim(other, date(2026, 4, 1), date(2026, 4, 3), "5000.00", "0.00", "0.00")
    claim(facility, date(2026, 4, 1), date(2026, 4, 3), "1000.00", "0.00", "0.00")
    assert suspension_review(year=2026, month=2) == []
    result = indicators(year=2026, month=4, months=4)
    assert result.warnings(facility.pk, 2026) == 3
    assert result.warnings(other.pk, 2026) == 1
    assert suspension_review(year=2026, month=4) == [
        {"facility_id": facility.pk, "warnings": 3, "months": ["2026-01", "2026-02", "2026-03"]}]


def test_no_claims_gives_empty_indicators(db):
    result = indicators(year=2026, month=3)
    assert result.facilities == {} and result.levels == {}
