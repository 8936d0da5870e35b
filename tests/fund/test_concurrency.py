"""A claim is paid at most once, also when two cashiers pay it at the same instant:
two threads, two real connections. The claim's row lock makes the second wait and then find it
paid. PostgreSQL only (marker postgres): SQLite's in-memory test database cannot wait for a lock."""
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connections

from claims.models import Claim, ClaimEvent
from core.errors import NcmsError
from fund import services
from ledger import services as ledger_services
from ledger.models import AccountBalance, LedgerTransaction
from tests.fund.conftest import approved_claim

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(jobs):
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except NcmsError as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def slow_payouts(monkeypatch):
    """Widen the race: each payout pauses after reading the balance rows."""
    lock_balances = ledger_services.lock_balances

    def slow(*args, **kwargs):
        rows = lock_balances(*args, **kwargs)
        time.sleep(0.3)
        return rows

    monkeypatch.setattr(services, "lock_balances", slow)


def test_two_cashiers_paying_the_same_claim_pay_it_once(funded, cashier, make_user, village, slow_payouts):
    from accounts.models import Role

    other_cashier = make_user(Role.CASHIER, username="cashier2")
    claim = approved_claim(village, "810.00")
    results = at_once([lambda: services.claim_pay(user=cashier, claim=claim),
                       lambda: services.claims_pay_batch(user=other_cashier, claims=[claim])])
    refusals = [result for result in results if isinstance(result, NcmsError)]
    assert len(refusals) == 1 and refusals[0].code == "already_paid"
    assert Claim.objects.get(pk=claim.pk).status == "paid"
    assert LedgerTransaction.objects.filter(kind="payout").count() == 1
    assert ClaimEvent.objects.filter(claim=claim, action="pay").count() == 1
    assert AccountBalance.objects.get(account__code="expenditure", year=2026).balance == Decimal("4190.00")


def test_two_batches_racing_for_the_last_money_never_overdraw(funded, cashier, make_user, village, slow_payouts):
    from accounts.models import Role

    other_cashier = make_user(Role.CASHIER, username="cashier2")
    first, second = approved_claim(village, "3000.00"), approved_claim(village, "3000.00")
    results = at_once([lambda: services.claim_pay(user=cashier, claim=first, paid_date=date(2026, 4, 1)),
                       lambda: services.claim_pay(user=other_cashier, claim=second, paid_date=date(2026, 4, 1))])
    refusals = [result for result in results if isinstance(result, NcmsError)]
    assert len(refusals) == 1 and refusals[0].code == "insufficient_funds"
    assert sorted(Claim.objects.values_list("status", flat=True)) == ["approved", "paid"]
    assert AccountBalance.objects.get(account__code="expenditure", year=2026).balance == Decimal("2000.00")
