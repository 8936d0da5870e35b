"""Fixtures of the ledger tests (helper F1): the fund officer and the cashier, the 2026 policy
(risk reserve 3%), approved claims waiting to be paid, and money in the expenditure account."""
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role
from tests.factories import ClaimFactory, HouseholdFactory, MemberFactory, PolicyVersionFactory


@pytest.fixture
def fund_officer(make_user):
    return make_user(Role.FUND_OFFICER, username="fundofficer")


@pytest.fixture
def cashier(make_user):
    return make_user(Role.CASHIER, username="cashier")


@pytest.fixture
def policy_2026(db):
    return PolicyVersionFactory(year=2026)


def approved_claim(village, compensation="810.00", **extra):
    member = MemberFactory(household=HouseholdFactory(village=village, bank_name="农商银行",
                                                      bank_account="6228480012345678901"))
    compensation = Decimal(compensation)
    total = max(compensation, Decimal("1100.00"))
    extra.setdefault("status", "approved")
    return ClaimFactory(member=member, compensation=compensation, total_cost=total,
                        non_reimbursable_cost=Decimal("0"), reimbursable_cost=total, patient_pays=total - compensation,
                        policy=PolicyVersionFactory(year=2026), **extra)


@pytest.fixture
def funded(db, policy_2026):
    """Year 2026: 10,000.00 central subsidy booked (300.00 to the reserve) and 5,000.00
    transferred to the expenditure account."""
    from ledger.services import funds_transfer, income_record

    income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="10000.00", ref="C-1")
    funds_transfer(user=None, year=2026, date=date(2026, 2, 2), amount="5000.00", ref="T-1")
