"""python manage.py simulate_policy FILE --year Y (docs/contract.md, "Policy simulation"): the
contract's JSON on a hand-valued county, the fund's warnings, and the refusals."""
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from claims import simulation
from claims.models import Claim, Recovery
from enrollment.models import Category
from facilities.models import Level
from fund.rules import simulation_warnings
from fund.simulation import months_gone, simulation_json
from policy.rules import parse_policy
from tests.claims.conftest import policy_document
from tests.factories import ClaimFactory, EnrollmentFactory, FacilityFactory, MemberFactory, PolicyVersionFactory

pytestmark = pytest.mark.django_db


def _claim(member, facility, *, discharge, total, excluded="0.00", compensation="0.00", status="approved",
           invoice=None, **extra):
    fields = dict(
        member=member, facility=facility, year=date.fromisoformat(discharge).year,
        admission_date=date.fromisoformat(extra.pop("admission", discharge)),
        discharge_date=date.fromisoformat(discharge), total_cost=Decimal(total),
        non_reimbursable_cost=Decimal(excluded), reimbursable_cost=Decimal(total) - Decimal(excluded),
        compensation=Decimal(compensation), patient_pays=Decimal(total) - Decimal(compensation), status=status,
        policy=PolicyVersionFactory(), **extra)
    if invoice:
        fields["invoice_no"] = invoice
    return ClaimFactory(**fields)


@pytest.fixture
def county_claims(township):
    """Under the contract's example policy with an annual cap of 16 000.00:

    A (ordinary): 1 100.00 at a township facility, 100.00 outside the catalogue → 0.90 × (1 000 − 100)
      = 810.00; then 20 000.00 at a county hospital, referred → 0.75 × 9 600 + 0.80 × 10 000 =
      15 200.00, capped at 16 000 − 810 = 15 190.00 (A reaches the cap).
    B (wubao): 5 000.00 at a municipal hospital, not referred → no deductible, 0.60 + 0.10 − 0.10
      → 3 000.00.
    C (ordinary): a normal delivery at the county hospital, 3 000.00 → 500.00; a rejected and a
      returned claim (not valued), and a claim of 2025 (another year).
    """
    t = FacilityFactory(code="T01", level=Level.TOWNSHIP, township=township)
    c = FacilityFactory(code="C01", level=Level.COUNTY, township=township)
    m = FacilityFactory(code="M01", level=Level.MUNICIPAL, township=township)
    a, b, other = (MemberFactory(category=Category.ORDINARY), MemberFactory(category=Category.WUBAO),
                   MemberFactory(category=Category.ORDINARY))
    for person in (a, b, other):
        EnrollmentFactory(member=person, year=2026)
    paid = _claim(a, t, discharge="2026-03-08", admission="2026-03-01", total="1100.00", excluded="100.00",
                  compensation="810.00", status="paid")
    Recovery.objects.create(claim=paid, amount=Decimal("10.00"), reason="复查", date=date(2026, 4, 1), source="review")
    _claim(a, c, discharge="2026-05-10", admission="2026-05-01", total="20000.00", compensation="15000.00",
           referred=True)
    _claim(b, m, discharge="2026-06-10", admission="2026-06-01", total="5000.00", compensation="2500.00",
           referred=False, status="submitted")
    _claim(other, c, discharge="2026-07-02", admission="2026-06-30", total="3000.00", compensation="500.00",
           delivery="normal", diagnosis_code="O80")
    _claim(other, c, discharge="2026-08-02", admission="2026-08-01", total="9000.00", status="rejected")
    _claim(other, c, discharge="2026-09-02", admission="2026-09-01", total="9000.00", status="returned")
    _claim(other, t, discharge="2025-12-02", admission="2025-12-01", total="9000.00")


def _draft(tmp_path, **changes):
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(policy_document(**changes), ensure_ascii=False), encoding="utf-8")
    return str(path)


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("simulate_policy", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_the_contract_json_of_a_hand_valued_county(county_claims, tmp_path, clock):
    clock("2027-02-01 10:00")
    stored = list(Claim.objects.order_by("id").values_list("compensation", "status"))
    data, _ = _run(_draft(tmp_path, annual_cap="16000.00"), "--year", "2026")
    assert data["year"] == 2026
    assert data["claims"] == 4
    assert data["total_cost"] == "29100.00"
    assert data["current"]["compensation"] == "18800.00"  # 800.00 (810 less 10 recovered) + 15 000 + 2 500 + 500
    assert data["draft"]["compensation"] == "19500.00"
    assert data["draft"]["members_at_cap"] == 1
    assert data["draft"]["by_level"] == {
        "township": {"claims": 1, "compensation": "810.00"},
        "county": {"claims": 2, "compensation": "15690.00"},
        "municipal": {"claims": 1, "compensation": "3000.00"},
        "provincial": {"claims": 0, "compensation": "0.00"},
    }
    # what the year would raise under the draft: 3 enrolled × 1 020.00 × 0.97 = 2 968.20
    assert data["fund"] == {"participants": 3, "raised": "3060.00", "available": "2968.20", "month": 12}
    assert data["draft"]["fund_usage_rate"] == "6.5696"  # 19 500.00 / 2 968.20
    assert [w["kind"] for w in data["warnings"]] == ["overspending"]
    assert "超过当年可用基金 2968.20 元" in data["warnings"][0]["message"]
    # nothing written
    assert list(Claim.objects.order_by("id").values_list("compensation", "status")) == stored


def test_the_keys_are_the_contracts(county_claims, tmp_path, clock):
    clock("2027-02-01 10:00")
    data, _ = _run(_draft(tmp_path), "--year", "2026")
    assert {"year", "claims", "total_cost", "current", "draft"} <= set(data)
    assert "compensation" in data["current"]
    assert {"compensation", "members_at_cap", "by_level"} <= set(data["draft"])
    assert list(data["draft"]["by_level"]) == ["township", "county", "municipal", "provincial"]
    assert data["draft"]["members_at_cap"] == 0  # the example's cap is 200 000.00
    assert data["draft"]["compensation"] == "19510.00"


def test_the_command_agrees_with_the_rules_claim_by_claim(county_claims, clock):
    """The columns read from the database carry each claim's level, group, delivery and dates as
    claims.rules takes them."""
    policy = parse_policy(policy_document(annual_cap="16000.00"))
    rows = [simulation.ClaimRow(
        claim_id=c.id, member=c.member_id, level=c.facility.level, category=c.member.category,
        total_cost=c.total_cost, non_reimbursable_cost=c.non_reimbursable_cost, referred=c.referred,
        delivery=c.delivery, diagnosis=c.diagnosis_code, discharge=c.discharge_date, admission=c.admission_date,
        invoice=c.invoice_no) for c in Claim.objects.filter(year=2026).exclude(status__in=["rejected", "returned"])]
    expected = simulation.rules_one_by_one(policy, rows)
    columns = simulation.read_year(2026)
    valued = simulation.value_columns(policy, columns)
    got = {int(pk): simulation.yuan(amount) for pk, amount in zip(columns.claim_id, valued.compensation, strict=True)}
    assert got == {pk: v.compensation for pk, v in expected.items()}


def test_a_draft_load_policy_would_refuse_is_refused_with_every_problem_before_any_valuation(
        county_claims, tmp_path, monkeypatch):
    def no_valuation(*args, **kwargs):
        raise AssertionError("valued a refused draft")

    monkeypatch.setattr("fund.simulation.simulate_year", no_valuation)
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"政策文件有误，未测算（共2处错误）"):
        call_command("simulate_policy", _draft(tmp_path, annual_cap="-1.00", risk_reserve_rate="1.5"),
                     "--year", "2026", stdout=io.StringIO(), stderr=err)
    assert "annual_cap「-1.00」：金额不能为负数" in err.getvalue()
    assert "risk_reserve_rate「1.5」：比例须在 0 到 1 之间" in err.getvalue()


def test_a_year_without_claims_says_so(county_claims, tmp_path):
    with pytest.raises(CommandError, match="2024 年度没有可测算的住院补偿"):
        call_command("simulate_policy", _draft(tmp_path), "--year", "2024", stdout=io.StringIO())


def test_a_year_of_only_rejected_and_returned_claims_has_none_to_value(township, tmp_path):
    person = MemberFactory()
    facility = FacilityFactory(code="T09", township=township)
    _claim(person, facility, discharge="2026-08-02", total="9000.00", status="rejected")
    _claim(person, facility, discharge="2026-09-02", total="9000.00", status="returned")
    with pytest.raises(CommandError, match="2026 年度没有可测算"):
        call_command("simulate_policy", _draft(tmp_path), "--year", "2026", stdout=io.StringIO())


def test_not_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CommandError, match="不是有效的 JSON：第1行"):
        call_command("simulate_policy", str(bad), "--year", "2026", stdout=io.StringIO())
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("simulate_policy", str(tmp_path / "none.json"), "--year", "2026", stdout=io.StringIO())


# --- the warnings, in the monthly report's terms


def _json(draft: str, *, participants=100, month=12, current="0.00"):
    policy = parse_policy(policy_document())  # raises 1 020.00 a member, 3 % reserve: 989.40 available
    result = simulation.Simulation(year=2026, claims=1, total_cost=Decimal(draft), current=Decimal(current),
                                   draft=Decimal(draft), members_at_cap=0,
                                   by_level={level: (0, Decimal("0.00")) for level in
                                             ("township", "county", "municipal", "provincial")})
    return simulation_json(policy, result, participants=participants, month=month)


@pytest.mark.parametrize("draft,kinds", [
    ("98940.01", ["overspending"]),  # a fen above the 98 940.00 available (the rate shows 100.00 %)
    ("98940.00", []),
    ("84099.00", []),                # 85.00 %
    ("84093.00", ["underuse"]),      # 84.99 %: below 85 %
    ("0.00", ["underuse"]),
])
def test_a_whole_year_warns_above_100_and_below_85_percent(draft, kinds):
    assert [w["kind"] for w in _json(draft)["warnings"]] == kinds


def test_a_year_under_way_is_judged_against_the_pace():
    # June: the line is 6/12 × 1.10 = 55 %, the surplus line 6/12 × 0.85 = 42.5 %
    assert [w["kind"] for w in _json("54417.00", month=6)["warnings"]] == []
    assert [w["kind"] for w in _json("54427.00", month=6)["warnings"]] == ["overspending"]
    assert [w["kind"] for w in _json("42000.00", month=6)["warnings"]] == ["underuse"]
    # before June no surplus is judged, as in the monthly report
    assert [w["kind"] for w in _json("100.00", month=5)["warnings"]] == []


def test_a_year_that_raises_nothing_overspends_whatever_it_pays():
    data = _json("10.00", participants=0)
    assert data["draft"]["fund_usage_rate"] is None
    assert [w["kind"] for w in data["warnings"]] == ["overspending"]
    assert simulation_warnings(draft_compensation=Decimal("0.00"), available=Decimal("0.00"), month=12) == []


def test_months_gone():
    assert months_gone(2025, date(2026, 3, 4)) == 12
    assert months_gone(2026, date(2026, 3, 4)) == 3
    assert months_gone(2027, date(2026, 3, 4)) == 0


def test_claims_of_a_member_with_the_same_dates_take_the_cap_in_invoice_order(township, tmp_path, clock):
    clock("2027-02-01 10:00")
    person = MemberFactory()
    EnrollmentFactory(member=person, year=2026)
    one, two = (FacilityFactory(code="T21", township=township), FacilityFactory(code="T22", township=township))
    # recorded B first, then A: the invoice number decides, not the order of recording
    first = _claim(person, one, discharge="2026-05-01", total="1100.00", invoice="B-1")
    second = _claim(person, two, discharge="2026-05-01", total="2100.00", invoice="A-1")
    columns = simulation.read_year(2026)
    valued = simulation.value_columns(parse_policy(policy_document(annual_cap="1000.00")), columns)
    got = {int(pk): simulation.yuan(v) for pk, v in zip(columns.claim_id, valued.compensation, strict=True)}
    # 0.90 × (2 100 − 100) = 1 800.00, capped at 1 000.00; B-1 finds the cap used up
    assert got == {second.id: Decimal("1000.00"), first.id: Decimal("0.00")}


@pytest.mark.django_db(transaction=True)
def test_the_year_is_read_in_one_read_only_snapshot_outside_a_transaction(township, tmp_path, clock):
    """Outside a caller's transaction (as the command runs), PostgreSQL reads the claims, levels,
    groups and recoveries in one read-only REPEATABLE READ transaction, and leaves none open."""
    from django.db import connection

    clock("2027-02-01 10:00")
    person = MemberFactory(category=Category.WUBAO)
    facility = FacilityFactory(code="M31", level=Level.MUNICIPAL, township=township)
    _claim(person, facility, discharge="2026-06-10", total="5000.00", compensation="2500.00", referred=False)
    data, _ = _run(_draft(tmp_path), "--year", "2026")
    assert data["draft"]["by_level"]["municipal"] == {"claims": 1, "compensation": "3000.00"}
    assert not connection.in_atomic_block
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_read_only")
            assert cursor.fetchone()[0] == "off"
