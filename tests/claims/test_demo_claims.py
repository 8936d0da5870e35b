"""seed_demo's claims (claims/demo.py): a policy and claims in every state, entered through the
services, valued by the policy to the fen, deterministic by --seed."""
import json
import re
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from claims import rules
from claims.demo import COST_RANGES, claim_count, policy_document
from claims.models import Claim, ClaimEvent, ClaimStatus, CostLine, MemberYearCap
from claims.rules import stored_breakdown
from demo.county import DEMO_USERNAMES, demo_county_build
from enrollment.demo import DemoConfig
from policy.models import PolicyVersion
from policy.rules import parse_policy

ENTERING_USERS = {"facility", "clerk", "clerk2", "admin"}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _most_of_the_year_behind(clock):
    """The demo's claims are of the county's current year, discharged by today: on 1 January there
    are none yet, so the demo is seeded on a day with most of the year behind it."""
    clock("2026-11-30 10:00")


@pytest.fixture
def seeded(db):
    return seed("--members", "400", "--claims", "40", "--seed", "3")


def test_loads_the_policy_of_the_year_and_says_what_it_made(seeded):
    year = timezone.localdate().year
    version = PolicyVersion.objects.get()
    assert version.year == year and version.revision == 1
    assert version.document == policy_document(year)
    assert version.document["levels"]["county"]["deductible"] == "400.00"
    assert version.loaded_by.username == "admin"
    counts = {status: Claim.objects.filter(status=status).count() for status in ClaimStatus.values}
    assert "住院补偿40笔" in seeded
    assert (f"已提交{counts['submitted']}、已审核{counts['reviewed']}、已审批{counts['approved']}、"
            f"退回修改{counts['returned']}、不予补偿{counts['rejected']}、已兑付{counts['paid']}") in seeded


def test_claims_exist_in_every_state(seeded):
    assert Claim.objects.count() == 40
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert statuses == {ClaimStatus.SUBMITTED, ClaimStatus.REVIEWED, ClaimStatus.APPROVED,
                        ClaimStatus.RETURNED, ClaimStatus.REJECTED, ClaimStatus.PAID}


def test_every_compensation_is_the_policy_valuation_of_the_stored_facts(seeded):
    # Each demo claim went from submission to its final state before the next one was entered
    # (in pk order), so what a member's claim found held against the cap is what the member's
    # earlier claims of the year that are not rejected hold.
    held: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    claims = Claim.objects.select_related("member", "facility", "policy").order_by("pk")
    for claim in claims:
        policy = claim.policy.policy()
        valuation = rules.value_claim(
            policy=policy, level=claim.facility.level, category=claim.member.category,
            total_cost=claim.total_cost, non_reimbursable_cost=claim.non_reimbursable_cost,
            referred=claim.referred, diagnosis=claim.diagnosis_code, delivery=claim.delivery or None,
            used_this_year=held[(claim.member_id, claim.year)],
        )
        assert claim.compensation == valuation.compensation, claim.invoice_no
        assert claim.patient_pays == claim.total_cost - claim.compensation == valuation.patient_pays
        assert claim.reimbursable_cost == claim.total_cost - claim.non_reimbursable_cost
        assert claim.rule == valuation.rule
        assert claim.breakdown == stored_breakdown(valuation)
        assert claim.policy_revision == claim.policy.revision == 1
        if claim.status != ClaimStatus.REJECTED:
            held[(claim.member_id, claim.year)] += claim.compensation


def test_no_member_exceeds_the_annual_cap_and_cap_rows_agree(seeded):
    cap = parse_policy(PolicyVersion.objects.get().document).annual_cap
    # what a claim holds of the cap is its compensation less its recoveries
    totals = (Claim.objects.holding_cap().with_recovered().values("member_id", "year")
              .annotate(total=Sum("net_compensation")))
    assert totals
    for row in totals:
        assert row["total"] <= cap
        assert MemberYearCap.objects.get(member_id=row["member_id"], year=row["year"]).used == row["total"]


def test_every_step_is_an_event_with_a_demo_user_as_actor(seeded):
    assert not ClaimEvent.objects.filter(user__isnull=True).exists()
    assert set(ClaimEvent.objects.values_list("user__username", flat=True)) <= set(DEMO_USERNAMES)
    for claim in Claim.objects.select_related("facility", "reviewed_by", "approved_by", "rejection_reason"):
        steps = [(event.action, event.user.username, event.to_status)
                 for event in claim.events.select_related("user").order_by("pk")]
        first_action, first_user, first_status = steps[0]
        assert first_status == ClaimStatus.SUBMITTED
        if first_action == "settle":
            assert (first_user, claim.facility.code, claim.channel) == ("facility", "F101", "facility")
        else:
            assert first_action == "submit" and first_user in ENTERING_USERS - {"facility"}
        assert steps[-1][2] == claim.status
        if claim.status == ClaimStatus.APPROVED:
            assert [s[:2] for s in steps[1:]] == [("review", "reviewer"), ("approve", "approver")]
            assert (claim.reviewed_by.username, claim.approved_by.username) == ("reviewer", "approver")
        elif claim.status == ClaimStatus.PAID:
            # a paid claim may have been recovered after (the reviewer or the fund officer)
            assert [s[:2] for s in steps[1:4]] == [("review", "reviewer"), ("approve", "approver"),
                                                   ("pay", "cashier")]
            assert all(s[0] == "recover" and s[1] in ("reviewer", "fund") for s in steps[4:])
            assert claim.paid_by.username == "cashier"
        elif claim.status == ClaimStatus.REVIEWED:
            assert [s[:2] for s in steps[1:]] == [("review", "reviewer")]
        elif claim.status == ClaimStatus.SUBMITTED:
            assert len(steps) == 1
        elif claim.status == ClaimStatus.RETURNED:
            assert steps[-1][0] == "return" and steps[-1][1] in {"reviewer", "approver"}
            assert claim.note
        else:
            assert steps[-1][0] == "reject" and steps[-1][1] in {"reviewer", "approver"}
            assert claim.rejection_reason is not None and claim.note


def test_the_facts_are_plausible(seeded):
    today = timezone.localdate()
    year = today.year
    stays = defaultdict(list)
    for claim in Claim.objects.select_related("facility", "member"):
        days = (claim.discharge_date - claim.admission_date).days
        assert 2 <= days <= 20
        assert claim.admission_date.year == claim.discharge_date.year == claim.year == year
        assert claim.discharge_date <= today
        assert re.fullmatch(rf"{claim.facility.code}-{year}-\d{{6}}", claim.invoice_no)
        low, high = COST_RANGES[claim.facility.level]
        assert low <= claim.total_cost <= high
        share = claim.non_reimbursable_cost / claim.total_cost
        assert Decimal("0.049") <= share <= Decimal("0.201")
        lines = CostLine.objects.filter(claim=claim)
        assert lines.aggregate(s=Sum("amount"))["s"] == claim.total_cost
        assert lines.filter(in_catalog=False).aggregate(s=Sum("amount"))["s"] == claim.non_reimbursable_cost
        assert re.fullmatch(r"[A-Z]\d\d(\.\d)?", claim.diagnosis_code)
        assert re.search(r"[\u4e00-\u9fff]", claim.diagnosis_text)
        if claim.diagnosis_code in ("O80", "O82"):
            assert claim.delivery == {"O80": "normal", "O82": "caesarean"}[claim.diagnosis_code]
            assert claim.member.sex == "F"
        if claim.channel == "township":
            assert (today - claim.discharge_date).days <= 90
        stays[claim.member_id].append((claim.admission_date, claim.discharge_date))
    for member_stays in stays.values():
        member_stays.sort()
        for (_, out), (back_in, _) in zip(member_stays, member_stays[1:]):
            assert out <= back_in
    invoices = list(Claim.objects.values_list("facility_id", "invoice_no"))
    assert len(set(invoices)) == len(invoices)


def snapshot() -> list:
    claims = Claim.objects.select_related("member", "facility", "rejection_reason", "reviewed_by",
                                          "approved_by", "submitted_by")
    return sorted(
        (c.invoice_no, c.member.id_number, c.facility.code, c.channel, c.status, c.admission_date,
         c.discharge_date, c.diagnosis_code, c.diagnosis_text, c.total_cost, c.non_reimbursable_cost,
         c.compensation, c.referred, c.delivery, json.dumps(c.breakdown, sort_keys=True),
         c.submitted_by.username, getattr(c.reviewed_by, "username", None),
         getattr(c.approved_by, "username", None), getattr(c.rejection_reason, "code", None), c.note,
         tuple(c.cost_lines.values_list("category", "amount", "in_catalog")),
         tuple(c.events.order_by("at", "pk").values_list("action", "user__username")))
        for c in claims
    )


def test_same_seed_gives_the_same_claims(transactional_db):
    seed("--members", "400", "--claims", "40", "--seed", "3")
    first = snapshot()
    call_command("flush", "--noinput", verbosity=0)

    seed("--members", "400", "--claims", "40", "--seed", "3")

    assert len(first) == 40
    assert snapshot() == first


def test_another_seed_gives_other_claims_and_the_people_stay_those_of_the_seed():
    year = timezone.localdate().year
    one = demo_county_build(DemoConfig(members=400, claims=40, seed=3, year=year, county_code="420102"))
    other = demo_county_build(DemoConfig(members=400, claims=40, seed=4, year=year, county_code="420102"))
    none = demo_county_build(DemoConfig(members=400, claims=0, seed=3, year=year, county_code="420102"))
    invoices = [(c.invoice_no, c.id_number) for c in one.extras["claims"]]
    assert len(invoices) == 40
    assert invoices != [(c.invoice_no, c.id_number) for c in other.extras["claims"]]
    # claims are planned last: the county's people do not depend on how many claims there are
    assert [m.id_number for m in none.members()] == [m.id_number for m in one.members()]


def test_default_number_of_claims():
    assert claim_count(DemoConfig(members=20000, county_code="420102")) == 300
    assert claim_count(DemoConfig(members=500, county_code="420102")) == 25
    assert claim_count(DemoConfig(members=500, claims=60, county_code="420102")) == 60
    assert claim_count(DemoConfig(members=0, county_code="420102")) == 0


def test_referred_claims_at_reduced_levels_rest_on_referral_records(seeded):
    reduced = PolicyVersion.objects.get().policy().unreferred_reduction.levels
    referred = Claim.objects.filter(referred=True, facility__level__in=reduced).select_related("referral")
    assert referred.exists()
    for claim in referred:
        assert claim.referral is not None and claim.referral.to_facility_id == claim.facility_id
        assert claim.referral.member_id == claim.member_id and claim.referral.date < claim.admission_date
