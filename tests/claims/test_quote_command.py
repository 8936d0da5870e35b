"""`quote_claims --year Y`: the contract's JSON lines in and out, nothing written."""
import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from claims.models import Claim, ClaimEvent, MemberYearCap
from claims.services import claim_reject, claim_settle
from facilities.models import FacilityStatus
from tests.claims.conftest import facts, line
from tests.factories import EnrollmentFactory, FacilityFactory, MemberFactory

pytestmark = pytest.mark.django_db


def quote(lines, year=2026):
    text = "\n".join(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in lines)
    out = StringIO()
    call_command("quote_claims", "--year", str(year), stdin=StringIO(text + "\n"), stdout=out)
    return [json.loads(row) for row in out.getvalue().splitlines()]


def test_the_contract_example_shape_exactly(policy, county_facility, member):
    # the contract's example amounts at a county hospital (K35.8 is a single disease there, so
    # take a diagnosis that goes through the formula, over both county bands)
    rows = quote([line(member, ref="ex", facility="F002", invoice_no="F002-2026-000123", total_cost="12345.60",
                       non_reimbursable_cost="1345.60", diagnosis="J18.9")])
    assert rows == [{
        "ref": "ex", "ok": True, "compensation": "8000.00", "patient_pays": "4345.60",
        "breakdown": {
            "rule": "formula", "reimbursable": "11000.00", "deductible": "400.00",
            "bands": [{"from": "400.00", "to": "10000.00", "ratio": "0.75", "amount": "7200.00"},
                      {"from": "10000.00", "to": "11000.00", "ratio": "0.80", "amount": "800.00"}],
            "before_cap": "8000.00", "cap_remaining": "200000.00"},
    }]
    assert list(rows[0]) == ["ref", "ok", "compensation", "patient_pays", "breakdown"]
    assert list(rows[0]["breakdown"]) == ["rule", "reimbursable", "deductible", "bands", "before_cap",
                                          "cap_remaining"]


def test_formula_single_disease_and_delivery(policy, facility, county_facility, member):
    rows = quote([
        line(member, ref="f", facility="F002", invoice_no="A", total_cost="12345.60",
             non_reimbursable_cost="1345.60", diagnosis="J18.9"),
        line(member, ref="s", facility="F002", invoice_no="B", admission_date="2026-04-01",
             discharge_date="2026-04-06", total_cost="5000.00", non_reimbursable_cost="0", diagnosis="k35.8"),
        line(member, ref="d", facility="F001", invoice_no="C", admission_date="2026-05-01",
             discharge_date="2026-05-03", total_cost="800.00", non_reimbursable_cost="0.00", delivery="caesarean"),
    ])
    assert [(row["ref"], row["compensation"], row["patient_pays"], row["breakdown"]["rule"]) for row in rows] == [
        ("f", "8000.00", "4345.60", "formula"),
        ("s", "2400.00", "2600.00", "single_disease"),
        ("d", "800.00", "0.00", "delivery"),
    ]
    assert rows[0]["breakdown"]["bands"] == [
        {"from": "400.00", "to": "10000.00", "ratio": "0.75", "amount": "7200.00"},
        {"from": "10000.00", "to": "11000.00", "ratio": "0.80", "amount": "800.00"}]
    assert rows[1]["breakdown"] == {"rule": "single_disease", "reimbursable": "5000.00", "deductible": "0.00",
                                    "bands": [], "before_cap": "2400.00", "cap_remaining": "192000.00"}
    assert rows[2]["breakdown"]["cap_remaining"] == "189600.00"


def test_cap_is_consumed_across_lines_on_top_of_the_database(small_cap_policy, facility, member, other_member,
                                                             make_user):
    from accounts.models import Role

    admin = make_user(Role.ADMINISTRATOR, username="admin")
    claim_settle(user=admin, facts=facts(member, invoice_no="DB-1", total_cost="400.00",
                                         non_reimbursable_cost="0.00", admission_date="2026-01-05",
                                         discharge_date="2026-01-06"))  # 0.9 × 300 = 270.00
    before = (Claim.objects.count(), ClaimEvent.objects.count(), MemberYearCap.objects.count())
    rows = quote([
        line(member, ref="1", invoice_no=None),  # 810.00 wanted, 730.00 left
        line(other_member, ref="2", invoice_no=None),
        line(member, ref="3", invoice_no=None, admission_date="2026-04-01", discharge_date="2026-04-02"),
        line(member, ref="4", invoice_no=None, admission_date="2026-05-01", discharge_date="2026-05-02",
             total_cost="-5"),  # refused: takes nothing
    ])
    assert [(row["ref"], row.get("compensation"), row.get("error")) for row in rows] == [
        ("1", "730.00", None), ("2", "810.00", None), ("3", "0.00", None), ("4", None, "bad_amounts")]
    assert rows[0]["breakdown"]["cap_remaining"] == "730.00"
    assert rows[0]["breakdown"]["before_cap"] == "810.00"
    assert rows[0]["patient_pays"] == "370.00"
    assert rows[2]["breakdown"]["cap_remaining"] == "0.00"
    assert (Claim.objects.count(), ClaimEvent.objects.count(), MemberYearCap.objects.count()) == before


def test_rejected_claims_in_the_database_hold_nothing(small_cap_policy, facility, member, make_user, reason):
    from accounts.models import Role

    admin = make_user(Role.ADMINISTRATOR, username="admin")
    claim = claim_settle(user=admin, facts=facts(member))[0]
    assert quote([line(member, invoice_no="NEW", admission_date="2026-06-01",
                       discharge_date="2026-06-02")])[0]["compensation"] == "190.00"
    claim_reject(user=admin, claim=claim, reason=reason)
    rows = quote([line(member)])  # same stay and invoice as the rejected claim
    assert (rows[0]["ok"], rows[0].get("error")) == (False, "duplicate_invoice")
    rows = quote([line(member, invoice_no="NEW")])
    assert rows[0]["compensation"] == "810.00"


def test_overlap_and_duplicate_invoice_across_lines(policy, facility, county_facility, member):
    rows = quote([
        line(member, ref="a", invoice_no="I-1"),
        line(member, ref="b", invoice_no="I-2", facility="F002", admission_date="2026-03-07",
             discharge_date="2026-03-09"),
        line(member, ref="c", invoice_no="I-3", facility="F002", admission_date="2026-03-08",
             discharge_date="2026-03-09"),
        line(member, ref="d", invoice_no="I-1", admission_date="2026-04-01", discharge_date="2026-04-02"),
        line(member, ref="e", invoice_no="I-1", facility="F002", admission_date="2026-05-01",
             discharge_date="2026-05-02"),
    ])
    assert [(row["ref"], row["ok"], row.get("error")) for row in rows] == [
        ("a", True, None), ("b", False, "overlapping_stay"), ("c", True, None),
        ("d", False, "duplicate_invoice"), ("e", True, None)]  # e: same number, another facility
    # b's overlapping stay (a) was at F001: F002 learns neither where nor when
    assert rows[1]["message"] == "住院期间 2026-03-07 至 2026-03-09 与该人员在其他机构的一次住院重叠"


def test_every_refusal_code_in_order(policy, facility, member, township, village):
    FacilityFactory(code="SUS", township=township, status=FacilityStatus.SUSPENDED)
    FacilityFactory(code="OLD", township=township, agreement_start=date(2020, 1, 1), agreement_end=date(2025, 12, 31))
    unenrolled = MemberFactory(household__village=village)
    EnrollmentFactory(member=unenrolled, year=2025)
    rows = quote([
        line(member, ref=1, facility="NOPE"),
        line(ref=2),
        line(unenrolled, ref=3),
        line(member, ref=4, facility="SUS"),
        line(member, ref=5, facility="OLD"),
        line(member, ref=6, admission_date="2026-03-09"),
        line(member, ref=7, admission_date="2025-12-20", discharge_date="2025-12-28"),
        line(member, ref=8, non_reimbursable_cost="2000.00"),
        "{not json",
        json.dumps(["a list"]),
        line(member, ref=11, id_number=None),
        line(member, ref=12, delivery="twins"),
    ])
    assert [(row["ref"], row["ok"], row["error"]) for row in rows] == [
        (1, False, "unknown_facility"), (2, False, "unknown_member"), (3, False, "not_enrolled"),
        (4, False, "facility_suspended"), (5, False, "facility_not_designated"), (6, False, "bad_dates"),
        (7, False, "bad_dates"), (8, False, "bad_amounts"), (None, False, "bad_input"),
        (None, False, "bad_input"), (11, False, "bad_input"), (12, False, "bad_input")]
    assert all(list(row) == ["ref", "ok", "error", "message"] and row["message"] for row in rows)


def test_a_discharge_after_today_and_an_implausible_total_are_refused(policy, facility, member, clock):
    clock("2026-06-15 23:30")  # the county's date is the 15th
    rows = quote([
        line(member, ref="today", invoice_no="A", admission_date="2026-06-10", discharge_date="2026-06-15"),
        line(member, ref="tomorrow", invoice_no="B", admission_date="2026-06-15", discharge_date="2026-06-16"),
        line(member, ref="next-year", invoice_no="C", admission_date="2027-01-02", discharge_date="2027-01-05"),
        line(member, ref="ceiling", invoice_no="D", total_cost="5000000.00", non_reimbursable_cost="0.00",
             admission_date="2026-05-01", discharge_date="2026-05-02"),
        line(member, ref="above", invoice_no="E", total_cost="5000000.01"),
        line(member, ref="digits", invoice_no="F", total_cost="9999999999999999.99"),
        line(member, ref="seventeen", invoice_no="G", total_cost="12345678901234567"),
    ])
    assert [(row["ref"], row.get("error"), row.get("compensation")) for row in rows] == [
        ("today", None, "810.00"), ("tomorrow", "bad_dates", None), ("next-year", "bad_dates", None),
        ("ceiling", None, "199190.00"), ("above", "bad_amounts", None), ("digits", "bad_amounts", None),
        ("seventeen", "bad_amounts", None)]
    assert rows[1]["message"] == "出院日期 2026-06-16 晚于今天 2026-06-15"
    assert rows[4]["message"] == "住院总费用「5000000.01」超过单次住院总费用的上限 5000000.00 元，请核对金额"


def test_a_past_year_is_still_quoted(policy, facility, member, clock):
    """Quoting a year that is over (the discharges lie in the past) works as before."""
    clock("2027-03-01 00:30")
    rows = quote([line(member, ref="old", discharge_date="2026-12-31", admission_date="2026-12-20")])
    assert [(row["ref"], row["ok"], row["compensation"]) for row in rows] == [("old", True, "810.00")]


def test_no_policy_refuses_every_line(facility, member):
    rows = quote([line(member, ref="a"), line(member, ref="b", invoice_no="X"), "garbage"])
    assert [(row["ref"], row["error"]) for row in rows] == [("a", "no_policy"), ("b", "no_policy"),
                                                             (None, "bad_input")]


def test_order_is_kept_across_chunks(policy, facility, member, monkeypatch):
    from claims import quoting

    monkeypatch.setattr(quoting, "CHUNK", 3)
    lines = [line(member, ref=f"n{index}", invoice_no=f"INV-{index}",
                  admission_date=f"2026-{1 + index // 28:02d}-{1 + index % 28:02d}",
                  discharge_date=f"2026-{1 + index // 28:02d}-{1 + index % 28:02d}",
                  total_cost="200.00", non_reimbursable_cost="0.00") for index in range(10)]
    rows = quote(lines)
    assert [row["ref"] for row in rows] == [f"n{index}" for index in range(10)]
    assert {row["compensation"] for row in rows} == {"90.00"}


def test_empty_input_gives_empty_output(policy, facility, member):
    out = StringIO()
    call_command("quote_claims", "--year", "2026", stdin=StringIO("\n\n"), stdout=out)
    assert out.getvalue() == ""


def test_a_quote_writes_nothing(policy, facility, member):
    rows = quote([line(member)])
    assert Decimal(rows[0]["compensation"]) == Decimal("810.00")
    assert Claim.objects.count() == 0


def test_the_fast_breakdown_is_the_rules_breakdown():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from claims import rules
    from claims.rules import contract_breakdown
    from policy.rules import CATEGORIES, LEVELS, parse_policy
    from tests.claims.conftest import POLICY_DOCUMENT

    policy = parse_policy(POLICY_DOCUMENT)
    cents = st.integers(min_value=0, max_value=50_000_000).map(lambda n: Decimal(n) / 100)

    @settings(max_examples=300, deadline=None)
    @given(total=cents, share=st.integers(0, 100), level=st.sampled_from(LEVELS),
           category=st.sampled_from(CATEGORIES), referred=st.booleans(),
           diagnosis=st.sampled_from(["K35.8", "J18.9", ""]), delivery=st.sampled_from([None, "normal"]),
           used=cents)
    def check(total, share, level, category, referred, diagnosis, delivery, used):
        excluded = (total * share / 100).quantize(Decimal("0.01"))
        valuation = rules.value_claim(policy=policy, level=level, category=category, total_cost=total,
                                      non_reimbursable_cost=excluded, referred=referred, diagnosis=diagnosis,
                                      delivery=delivery, used_this_year=used)
        assert contract_breakdown(valuation) == valuation.as_breakdown()

    check()
