"""The annual cap under concurrent settlements (docs/rules.md, "Claims": "including when two claims of
the same member are settled at the same moment"), with two real database connections.

The two settlements really run at the same instant and the member's cap row lock
(`MemberYearCap`, SELECT ... FOR UPDATE) makes the second wait for the first, so the member's
claims together hold exactly the cap. PostgreSQL only (marker postgres): SQLite's in-memory test
database (shared cache) reports "table is locked" instead of waiting for the lock.
"""
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections

from accounts.models import Role
from claims.models import Claim, MemberYearCap
from claims.services import claim_settle
from tests.claims.conftest import facts

pytestmark = pytest.mark.postgres


def settle_at_once(jobs):
    """Run each job in its own thread (own connection), released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except Exception as exc:  # reported to the test below, never swallowed
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return results


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin")


@pytest.fixture
def earlier_claim(admin, facility, member):
    """A claim the member already holds (R 200 − deductible 100, 90%: 90.00), so the cap row
    exists and the settlements below meet on its row lock, not on the row's first insert."""
    return claim_settle(user=admin, facts=facts(member, invoice_no="E-1", total_cost="200.00",
                                                non_reimbursable_cost="0.00", admission_date="2026-01-10",
                                                discharge_date="2026-01-12"))[0]


@pytest.fixture
def slow_reads(monkeypatch):
    """Widen the race: each settlement pauses right after reading what the member's claims hold,
    so without the cap lock both would read before either wrote."""
    from claims import lookups

    read = lookups.stays

    def slow(*args, **kwargs):
        stays = read(*args, **kwargs)
        time.sleep(0.3)
        return stays

    monkeypatch.setattr(lookups, "stays", slow)


def test_two_settlements_of_one_member_at_once_hold_exactly_the_cap(transactional_db, small_cap_policy,
                                                                   county_facility, admin, member,
                                                                   earlier_claim, slow_reads):
    # the cap is 1000.00 and 90.00 is held: 910.00 left. Alone, the first would get 810.00
    # (township level: R 1000, deductible 100, 90%) and the second 600.00 (county level: R 1200,
    # deductible 400, 75%); together they may get only 910.00.
    first = facts(member, invoice_no="A-1")
    second = facts(member, facility="F002", invoice_no="B-1", total_cost="1300.00",
                   non_reimbursable_cost="100.00", admission_date="2026-04-01", discharge_date="2026-04-08")
    results = settle_at_once([lambda: claim_settle(user=admin, facts=first),
                              lambda: claim_settle(user=admin, facts=second)])
    assert all(created for _, created in results)
    settled = {claim.invoice_no: Claim.objects.get(pk=claim.pk) for claim, _ in results}
    amounts = (settled["A-1"].compensation, settled["B-1"].compensation)
    assert sum(amounts) == Decimal("910.00")
    assert Claim.objects.filter(member=member).count() == 3
    assert MemberYearCap.objects.get(member=member, year=2026).used == Decimal("1000.00")
    # whichever came first took its full amount, the other what the cap had left
    assert amounts in ((Decimal("810.00"), Decimal("100.00")), (Decimal("310.00"), Decimal("600.00")))


def test_the_same_settlement_retried_at_once_gives_one_claim(transactional_db, policy, admin, member,
                                                             earlier_claim):
    same = facts(member)
    results = settle_at_once([lambda: claim_settle(user=admin, facts=same) for _ in range(3)])
    assert len({claim.pk for claim, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, True]
    assert Claim.objects.filter(invoice_no=same.invoice_no).count() == 1
