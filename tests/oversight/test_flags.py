"""Claim flags (oversight.rules / oversight.flags): every kind on hand-built claims, the edges,
and the `facility_flags` command's JSON."""
import json
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from claims.models import CostLine
from facilities.models import Level
from oversight import rules
from oversight.flags import facility_flags
from tests.factories import ClaimFactory, FacilityFactory, MemberFactory

pytestmark = pytest.mark.django_db


def stay(member, facility, admission, discharge, invoice, **extra):
    return ClaimFactory(member=member, facility=facility, invoice_no=invoice, admission_date=admission,
                        discharge_date=discharge, **extra)


def kinds(year=2026, month=3, kind=None):
    return [(f["claim"], f["kind"]) for f in facility_flags(year=year, month=month)
            if kind is None or f["kind"] == kind]


# --- readmission_15d ----------------------------------------------------------------------------


def test_readmission_15_days_is_flagged_16_is_not(facility):
    a, b = MemberFactory(), MemberFactory()
    stay(a, facility, date(2026, 2, 1), date(2026, 2, 10), "A1")
    stay(a, facility, date(2026, 2, 25), date(2026, 3, 2), "A2")  # 15 days after 02-10
    stay(b, facility, date(2026, 2, 1), date(2026, 2, 10), "B1")
    stay(b, facility, date(2026, 2, 26), date(2026, 3, 3), "B2")  # 16 days after
    flags = facility_flags(year=2026, month=3)
    assert flags == [{"claim": "A2", "facility": "F001", "kind": "readmission_15d",
                      "detail": "距上次出院 15 天再次入院（上次住院 A1，本院）"}]


def test_transfer_on_the_discharge_day_is_flagged_at_any_facility(facility):
    county = FacilityFactory(code="F101", level=Level.COUNTY)
    member = MemberFactory()
    stay(member, facility, date(2026, 3, 1), date(2026, 3, 5), "T1")
    stay(member, county, date(2026, 3, 5), date(2026, 3, 12), "T2")  # same day, other facility
    flags = facility_flags(year=2026, month=3)
    assert flags == [{"claim": "T2", "facility": "F101", "kind": "readmission_15d",
                      "detail": f"出院当日同日转入（上次住院 T1，{facility.code}）"}]


def test_readmission_looks_across_months_and_years_but_not_at_rejected_claims(facility):
    member, other = MemberFactory(), MemberFactory()
    stay(member, facility, date(2025, 12, 20), date(2025, 12, 31), "Y1", year=2025)
    stay(member, facility, date(2026, 1, 10), date(2026, 1, 14), "Y2")
    stay(other, facility, date(2025, 12, 20), date(2025, 12, 31), "R1", year=2025, status="rejected")
    stay(other, facility, date(2026, 1, 10), date(2026, 1, 14), "R2")
    assert kinds(month=1) == [("Y2", "readmission_15d")]


def test_rejected_claim_is_not_flagged(facility):
    member = MemberFactory()
    stay(member, facility, date(2026, 3, 1), date(2026, 3, 5), "X1")
    stay(member, facility, date(2026, 3, 8), date(2026, 3, 12), "X2", status="rejected")
    assert kinds() == []


def test_previous_is_the_latest_stay_by_admission(facility):
    member = MemberFactory()
    stay(member, facility, date(2026, 1, 1), date(2026, 1, 10), "P1")
    stay(member, facility, date(2026, 2, 1), date(2026, 2, 20), "P2")
    stay(member, facility, date(2026, 3, 8), date(2026, 3, 10), "P3")  # 16 days after P2
    assert kinds() == []


# --- overlapping_stay ----------------------------------------------------------------------------


def test_overlapping_stays_are_both_flagged_touching_ones_are_not(facility):
    county = FacilityFactory(code="F101", level=Level.COUNTY)
    member = MemberFactory()
    stay(member, facility, date(2026, 3, 1), date(2026, 3, 10), "O1")
    stay(member, county, date(2026, 3, 5), date(2026, 3, 20), "O2")
    got = kinds(kind="overlapping_stay")
    assert got == [("O1", "overlapping_stay"), ("O2", "overlapping_stay")]
    details = {f["claim"]: f["detail"] for f in facility_flags(year=2026, month=3)
               if f["kind"] == "overlapping_stay"}
    assert details == {"O1": "与同一人员的另一次住院（O2）时间重叠", "O2": "与同一人员的另一次住院（O1）时间重叠"}


# --- cost_outlier and long_stay ---------------------------------------------------------------


def group(facility, n, *, cost="1000.00", code="J18.9", month=3, days=5):
    """n claims of different members, total costs 1000 + i yuan (i = 0..n-1), 5-day stays."""
    out = []
    for i in range(n):
        total = Decimal(cost) + i
        out.append(stay(MemberFactory(), facility, date(2026, month, 1), date(2026, month, 1) + timedelta(days=days),
                        f"G{month}-{i:03d}", diagnosis_code=code, total_cost=total,
                        non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=total - 100, compensation=Decimal("0.00"),
                        patient_pays=total))
    return out


def test_cost_outlier_in_a_group_with_a_clear_outlier(facility):
    group(facility, 20, code="J18.9")  # costs 1000..1019: median 1009.5, MAD 5 → scaled 7.413
    # 10 % floor: 100.95 > 7.413, so the bound is 1009.50 + 5 × 100.95 = 1514.25
    stay(MemberFactory(), facility, date(2026, 3, 2), date(2026, 3, 7), "PAD", diagnosis_code="j18.0",
         total_cost=Decimal("1514.26"), non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=Decimal("1414.26"),
         compensation=Decimal("0"), patient_pays=Decimal("1514.26"))
    stay(MemberFactory(), facility, date(2026, 3, 2), date(2026, 3, 7), "EDGE", diagnosis_code="J18.1",
         total_cost=Decimal("1514.25"), non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=Decimal("1414.25"),
         compensation=Decimal("0"), patient_pays=Decimal("1514.25"))
    flags = [f for f in facility_flags(year=2026, month=3) if f["kind"] == "cost_outlier"]
    # the group has 22 claims now: median 1010.5, MAD 5.5 → bound 1010.50 + 5 × 101.05 = 1515.75
    assert flags == []
    stay(MemberFactory(), facility, date(2026, 3, 2), date(2026, 3, 7), "HIGH", diagnosis_code="J18.9",
         total_cost=Decimal("9000.00"), non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=Decimal("8900.00"),
         compensation=Decimal("0"), patient_pays=Decimal("9000.00"))
    flags = [f for f in facility_flags(year=2026, month=3) if f["kind"] == "cost_outlier"]
    assert flags == [{"claim": "HIGH", "facility": "F001", "kind": "cost_outlier",
                      "detail": "总费用 9000.00 元，高于同级别同病种（J18，23 例）中位数 1011.00 元的异常上限 "
                                "1516.50 元"}]


def test_cost_outlier_needs_a_large_enough_group_of_the_same_level(facility):
    group(facility, 18)
    stay(MemberFactory(), facility, date(2026, 3, 2), date(2026, 3, 7), "HIGH", total_cost=Decimal("90000.00"),
         non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=Decimal("89900.00"), compensation=Decimal("0"),
         patient_pays=Decimal("90000.00"))
    # 19 claims: too few to judge
    assert kinds(kind="cost_outlier") == []
    county = FacilityFactory(code="F101", level=Level.COUNTY)
    stay(MemberFactory(), county, date(2026, 3, 2), date(2026, 3, 7), "C1")
    # a county hospital's claim does not join the township health centres' group
    assert kinds(kind="cost_outlier") == []


def test_reference_is_the_twelve_months_ending_with_the_month(facility):
    group(facility, 19, month=1)  # January: part of March's reference
    stay(MemberFactory(), facility, date(2026, 3, 2), date(2026, 3, 7), "HIGH", total_cost=Decimal("90000.00"),
         non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=Decimal("89900.00"), compensation=Decimal("0"),
         patient_pays=Decimal("90000.00"))
    assert kinds(kind="cost_outlier") == [("HIGH", "cost_outlier")]
    assert kinds(month=2) == []


def test_long_stay_over_60_days_and_above_the_group(facility):
    member = MemberFactory()
    stay(member, facility, date(2026, 1, 1), date(2026, 3, 2), "L60")  # 60 days: not flagged
    stay(MemberFactory(), facility, date(2026, 1, 1), date(2026, 3, 3), "L61")  # 61 days
    assert [f for f in facility_flags(year=2026, month=3) if f["kind"] == "long_stay"] == [
        {"claim": "L61", "facility": "F001", "kind": "long_stay", "detail": "住院 61 天，超过 60 天"}]


def test_long_stay_against_a_large_group(facility):
    group(facility, 20, days=5)  # LOS 5 for all: MAD 0 → floor 1 day → bound 5 + 5 = 10 days
    stay(MemberFactory(), facility, date(2026, 3, 1), date(2026, 3, 11), "D10")
    stay(MemberFactory(), facility, date(2026, 3, 1), date(2026, 3, 12), "D11")
    assert kinds(kind="long_stay") == [("D11", "long_stay")]


# --- non_reimbursable_share and no_daily_charges ---------------------------------------------


def test_non_reimbursable_share_far_above_the_level(facility):
    group(facility, 20)  # shares about 10 %
    stay(MemberFactory(), facility, date(2026, 3, 1), date(2026, 3, 6), "NR", total_cost=Decimal("1000.00"),
         non_reimbursable_cost=Decimal("600.00"), reimbursable_cost=Decimal("400.00"), compensation=Decimal("0"),
         patient_pays=Decimal("1000.00"))
    flags = [f for f in facility_flags(year=2026, month=3) if f["kind"] == "non_reimbursable_share"]
    assert [f["claim"] for f in flags] == ["NR"]
    assert flags[0]["detail"].startswith("目录外费用占 60.0%，同级别机构中位数 ")


def test_stay_without_bed_charges(facility):
    with_beds = stay(MemberFactory(), facility, date(2026, 3, 1), date(2026, 3, 6), "BED")
    without = stay(MemberFactory(), facility, date(2026, 3, 1), date(2026, 3, 6), "NOBED")
    stay(MemberFactory(), facility, date(2026, 3, 1), date(2026, 3, 6), "NOLINES")
    CostLine.objects.create(claim=with_beds, category="beds", amount=Decimal("200.00"))
    CostLine.objects.create(claim=with_beds, category="drugs", amount=Decimal("900.00"))
    CostLine.objects.create(claim=without, category="drugs", amount=Decimal("1100.00"))
    assert [f for f in facility_flags(year=2026, month=3) if f["kind"] == "no_daily_charges"] == [
        {"claim": "NOBED", "facility": "F001", "kind": "no_daily_charges", "detail": "住院 5 天，费用明细中没有床位费"}]


# --- the rules alone and the command --------------------------------------------------------------


def test_rules_edges():
    assert rules.readmission(date(2026, 3, 16), date(2026, 3, 1)) == 15
    assert rules.readmission(date(2026, 3, 17), date(2026, 3, 1)) is None
    assert rules.readmission(date(2026, 3, 1), date(2026, 3, 1)) == 0
    assert rules.readmission(date(2026, 3, 1), None) is None
    assert rules.diagnosis_group(" k35.8") == "K35"
    stats = rules.robust([1, 2, 3, 4, 100])
    assert (stats.n, stats.median, stats.mad) == (5, 3.0, 1.0)
    assert rules.cost_threshold(stats) is None


def test_command_prints_the_contract_json(facility):
    member = MemberFactory()
    stay(member, facility, date(2026, 3, 1), date(2026, 3, 5), "C1")
    stay(member, facility, date(2026, 3, 10), date(2026, 3, 12), "C2")
    out = StringIO()
    call_command("facility_flags", "--year", "2026", "--month", "3", stdout=out)
    assert json.loads(out.getvalue()) == {"flags": [
        {"claim": "C2", "facility": "F001", "kind": "readmission_15d",
         "detail": "距上次出院 5 天再次入院（上次住院 C1，本院）"}]}
    out = StringIO()
    call_command("facility_flags", "--year", "2026", "--month", "4", stdout=out)
    assert json.loads(out.getvalue()) == {"flags": []}


# --- the demo county ----------------------------------------------------------------------------


def test_demo_has_split_stays_and_padded_bills(clock):
    from claims.models import Claim
    from oversight.models import ClaimFlag

    clock("2026-11-30 10:00")  # the demo's claims are of the current year: on 1 January it has none
    out = StringIO()
    call_command("seed_demo", "--members", "3000", "--claims", "300", "--seed", "2026", stdout=out)
    assert Claim.objects.count() == 300
    stored = set(ClaimFlag.objects.values_list("claim__facility__code", "kind"))
    split_at = {code for code, kind in stored if kind == "readmission_15d"}
    padded_at = {code for code, kind in stored if kind == "cost_outlier"}
    assert split_at and padded_at
    flagged = ClaimFlag.objects.filter(kind="cost_outlier").values_list("claim__invoice_no", flat=True)
    assert len(flagged) >= 3
