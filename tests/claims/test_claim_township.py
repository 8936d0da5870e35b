"""Claim.township: the member's township when the claim is made, set by every path that creates a
claim, kept when the member moves; the fund report counts the claim in that township."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from claims import settlement
from claims.models import Channel, Claim
from claims.services import claim_settle, claim_submit
from tests.claims.conftest import TODAY, facts
from tests.factories import ClaimFactory, HouseholdFactory, MemberFactory


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


def test_settle_sets_the_members_township(policy, facility, member, facility_clerk, township):
    claim, created = claim_settle(user=facility_clerk, facts=facts(member))
    assert created is True
    assert Claim.objects.get(pk=claim.pk).township_id == township.pk


def test_submit_sets_the_members_township(policy, facility, other_member, admin_user, other_township):
    claim = claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(other_member))
    assert Claim.objects.get(pk=claim.pk).township_id == other_township.pk


def test_factory_sets_the_members_township(db, other_village, other_township):
    claim = ClaimFactory(member=MemberFactory(household=HouseholdFactory(village=other_village)))
    assert claim.township_id == other_township.pk


def test_township_stays_when_the_member_moves_and_the_report_counts_it_there(
        policy, facility, member, facility_clerk, township, village, other_township, other_village):
    from fund.report import monthly_report

    claim, _ = claim_settle(user=facility_clerk, facts=facts(member))
    Claim.objects.filter(pk=claim.pk).update(status="paid",
                                             paid_at=datetime(2026, 3, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    household = member.household
    household.village = other_village  # the household moves to the other township afterwards
    household.save()
    assert Claim.objects.get(pk=claim.pk).township_id == township.pk
    rows = {row["township"]: row for row in monthly_report(year=2026, month=3)["rows"]}
    assert rows[township.code]["admissions_ytd"] == "1"
    assert rows[township.code]["compensation_ytd"] == "810.00"
    assert rows[other_township.code]["admissions_ytd"] == "0"
    # participants count where the member lives now
    assert rows[other_township.code]["participants"] == "1"
    assert rows[township.code]["participants"] == "0"
    assert rows[township.code]["beneficiary_rate"] is None  # one beneficiary, no participant left


def test_pages_api_and_queues_keep_a_claim_with_its_township_after_the_member_moves(
        policy, facility, member, facility_clerk, township, other_village, clerk, other_clerk, make_user):
    """One rule for the claim's township: the clerk of the township where it was made keeps it,
    on the claim page, in the workbench's township filter and in the cashier's payout filter; the
    member's new township does not get it."""
    from accounts.models import Role
    from claims.selectors import claim_queue
    from fund.selectors import payout_queue

    claim, _ = claim_settle(user=facility_clerk, facts=facts(member))
    # the cashier's payout queue holds the claims paid to households (township channel)
    Claim.objects.filter(pk=claim.pk).update(status="approved", channel="township")
    household = member.household
    household.village = other_village
    household.save()
    assert list(Claim.objects.for_user(clerk)) == [claim]
    assert list(Claim.objects.for_user(other_clerk)) == []
    reviewer = make_user(Role.REVIEWER, username="reviewer-move")
    assert [c.pk for c in claim_queue(user=reviewer, township=township)] == [claim.pk]
    assert [c.pk for c in claim_queue(user=reviewer, township=other_village.township)] == []
    cashier = make_user(Role.CASHIER, username="cashier-move")
    assert [c.pk for c in payout_queue(user=cashier, township=township)] == [claim.pk]
    assert [c.pk for c in payout_queue(user=cashier, township=other_village.township)] == []
