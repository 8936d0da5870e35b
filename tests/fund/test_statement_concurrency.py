"""Statements and recoveries under concurrency, on PostgreSQL (two threads, two connections):
two cashiers paying the same statement at once pay it once; two recoveries of the same claim at
once never exceed its compensation."""
import time
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role
from claims import recovery as claims_recovery
from claims.models import Claim, ClaimEvent, Recovery
from claims.services import claim_recover
from core.errors import NcmsError
from fund import statements
from fund.models import FacilityStatement
from fund.selectors import reconciliation
from fund.services import claims_pay_batch
from fund.statements import statement_pay
from ledger.models import LedgerTransaction
from tests.fund.conftest import approved_claim
from tests.fund.test_concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def today(clock):
    clock("2026-06-15 10:00")


@pytest.fixture
def slow_statements(monkeypatch):
    """Widen the race: each payment pauses after computing the statement."""
    compute = statements._compute

    def slow(*args, **kwargs):
        found = compute(*args, **kwargs)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(statements, "_compute", slow)


@pytest.mark.parametrize("same_ref", [True, False], ids=["same ref", "two refs"])
def test_two_cashiers_paying_the_same_statement_pay_it_once(funded, cashier, make_user, village, facility, today,
                                                            slow_statements, same_ref):
    other = make_user(Role.CASHIER, username="cashier2")
    claims = [approved_claim(village, amount, facility=facility, channel="facility") for amount in ("600.00", "400.00")]
    results = at_once([
        lambda: statement_pay(user=cashier, facility=facility, year=2026, month=3, on=date(2026, 4, 5), ref="A"),
        lambda: statement_pay(user=other, facility=facility, year=2026, month=3, on=date(2026, 4, 5),
                              ref="A" if same_ref else "B")])
    refusals = [r for r in results if isinstance(r, NcmsError)]
    if same_ref:
        assert not refusals and sorted(r.replayed for r in results) == [False, True]
    else:
        assert len(refusals) == 1 and refusals[0].code == "already_paid"
    assert FacilityStatement.objects.count() == 1
    for claim in claims:
        assert Claim.objects.get(pk=claim.pk).status == "paid"
        assert ClaimEvent.objects.filter(claim=claim, action="pay").count() == 1
    assert LedgerTransaction.objects.filter(kind="payout").count() == 2
    assert reconciliation(2026) == []


def test_two_recoveries_at_once_never_exceed_the_compensation(funded, cashier, fund_officer, make_user, village,
                                                              facility, today, monkeypatch):
    reviewer = make_user(Role.REVIEWER, username="reviewer2")
    claim = claims_pay_batch(user=cashier, claims=[approved_claim(village, "800.00", facility=facility)],
                             paid_date=date(2026, 4, 1))[0]
    total = claims_recovery.recovered_total

    def slow(*args, **kwargs):
        found = total(*args, **kwargs)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(claims_recovery, "recovered_total", slow)
    results = at_once([
        lambda: claim_recover(user=fund_officer, claim=claim, amount="500.00", reason="一", on=date(2026, 5, 1)),
        lambda: claim_recover(user=reviewer, claim=claim, amount="500.00", reason="二", on=date(2026, 5, 1))])
    refusals = [r for r in results if isinstance(r, NcmsError)]
    assert len(refusals) == 1 and refusals[0].code == "too_much"
    assert [r.amount for r in Recovery.objects.all()] == [Decimal("500.00")]
