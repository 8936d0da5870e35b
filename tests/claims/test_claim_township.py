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
