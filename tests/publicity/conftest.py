"""A small county with claims paid through fund.services, for the publicity tests."""
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role
from tests.factories import (
    ClaimFactory,
    FacilityFactory,
    HouseholdFactory,
    MemberFactory,
    PolicyVersionFactory,
    VillageFactory,
)
from tests.fund.conftest import cashier, fund_officer, funded, policy_2026  # noqa: F401  (fixtures)


def paid_claim(village, *, name, cashier, paid_date, compensation="810.00", facility=None, **extra):
    """A claim of a new member called `name` in `village`, approved and then paid through
    fund.services.claim_pay on `paid_date`."""
    from fund.services import claim_pay

    member = MemberFactory(household=HouseholdFactory(village=village), name=name)
    compensation = Decimal(compensation)
    total = max(compensation, Decimal("1100.00"))
    claim = ClaimFactory(member=member, status="approved", compensation=compensation, total_cost=total,
                         non_reimbursable_cost=Decimal("0"), reimbursable_cost=total, patient_pays=total - compensation,
                         policy=PolicyVersionFactory(year=2026), facility=facility or FacilityFactory(),
                         **extra)
    return claim_pay(user=cashier, claim=claim, paid_date=paid_date)


@pytest.fixture
def county(db, funded, cashier, township, other_township, village, other_village):  # noqa: F811
    """Two townships, three villages, members with names of 2, 3 and 4 characters; claims paid in
    March and April 2026 (one of the April ones in another village)."""
    third = VillageFactory(township=township, code="420102100202", name="南岭村")
    facility = FacilityFactory(code="F101", name="县人民医院", township=None)
    claims = [
        paid_claim(village, name="李娜", cashier=cashier, paid_date=date(2026, 3, 5), facility=facility),
        paid_claim(village, name="王建国", cashier=cashier, paid_date=date(2026, 3, 20), compensation="500.00"),
        paid_claim(other_village, name="欧阳春华", cashier=cashier, paid_date=date(2026, 3, 31),
                   compensation="1200.00", facility=facility),
        paid_claim(third, name="赵敏", cashier=cashier, paid_date=date(2026, 4, 1), compensation="300.00"),
        paid_claim(village, name="陈小龙", cashier=cashier, paid_date=date(2026, 4, 15), compensation="99.50"),
    ]
    return {"claims": claims, "villages": [village, other_village, third], "facility": facility}


@pytest.fixture
def handler(make_user):
    return make_user(Role.FUND_OFFICER, username="publicity-handler")
