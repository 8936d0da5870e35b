"""A lost database connection during a payout or a settlement: the retry
neither pays twice nor loses the payment.

The connection dies right after the first INSERT of the write (`lose_connection`): before the
commit (the transaction never commits) or after it (the commit went through but the client never
heard of it). On PostgreSQL the server backend is really terminated (pg_terminate_backend); on
SQLite the driver's OperationalError is raised at the same point. Then the client sends the same
request again on a new connection: the payout form with the idempotency key it was rendered
with, the settlement with its invoice number.
"""
from datetime import date
from decimal import Decimal

import pytest
from django.db import Error
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from claims.models import Claim, ClaimEvent, ClaimStatus, CostLine
from core.errors import NcmsError
from fund import selectors, services
from fund.models import PayoutBatch
from ledger import services as ledger_services
from ledger.models import AccountBalance, LedgerTransaction
from policy.services import policy_load
from tests.claims.conftest import line, member, policy_document  # noqa: F401  (member: a fixture)
from tests.factories import PolicyVersionFactory
from tests.faults.conftest import lose_connection, reconnect
from tests.fund.conftest import approved_claim, cashier  # noqa: F401  (cashier: a fixture)

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture
def funded(db):
    """2026: 10,000.00 booked (3% to the reserve), 5,000.00 in the expenditure account."""
    PolicyVersionFactory(year=2026)
    ledger_services.income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="10000.00",
                           ref="C-1")
    ledger_services.funds_transfer(user=None, year=2026, date=date(2026, 2, 2), amount="5000.00", ref="T-1")


def expenditure() -> Decimal:
    return AccountBalance.objects.get(account__code="expenditure", year=2026).balance


def payouts() -> int:
    return LedgerTransaction.objects.filter(kind="payout").count()


def render_queue(client) -> str:
    """The cashier opens the queue: the form carries a fresh idempotency key."""
    response = client.get(reverse("fund:payout_queue"))
    key = response.context["idempotency_key"]
    assert f'name="idempotency_key" value="{key}"' in response.content.decode()
    return key


def pay(client, key, *claims):
    return client.post(reverse("fund:payout_pay"), {"claim": [c.pk for c in claims], "idempotency_key": key,
                                                    "selected": "1"})


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- payouts ----------------------------------------------------------------------------------------


def test_lost_after_the_payout_committed_the_same_form_again_pays_nothing_twice(client, funded, cashier, village):
    first, second = approved_claim(village, "810.00"), approved_claim(village, "1200.00")
    client.force_login(cashier)
    key = render_queue(client)

    with lose_connection("fund_payoutbatch", when="after_commit") as lost, pytest.raises(Error):
        pay(client, key, first, second)
    assert lost
    reconnect()

    # the payment went through once
    assert payouts() == 2
    assert expenditure() == Decimal("2990.00")
    # the cashier, who saw an error page, sends the same form again
    response = pay(client, key, first, second)

    assert response.status_code == 302
    page = client.get(response.url)
    assert "这批兑付已经完成（重复提交，没有再次付款）：2 件，合计 2,010.00 元" in messages_of(page)
    assert payouts() == 2
    assert expenditure() == Decimal("2990.00")
    assert AccountBalance.objects.get(account__code="compensation", year=2026).balance == Decimal("2010.00")
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.PAID}
    assert ClaimEvent.objects.filter(action="pay").count() == 2
    batch = PayoutBatch.objects.get()
    assert (batch.key, batch.total, batch.created_by) == (key, Decimal("2010.00"), cashier)
    assert sorted(batch.claims.values_list("pk", flat=True)) == sorted([first.pk, second.pk])
    assert selectors.reconciliation(2026) == []


def test_lost_before_the_payout_committed_the_same_form_again_pays_once(client, funded, cashier, village):
    claim = approved_claim(village, "810.00")
    client.force_login(cashier)
    key = render_queue(client)

    # the connection dies after the payout's ledger entry was written, before the commit
    with lose_connection("fund_ledgertransaction", when="before_commit") as lost, pytest.raises(Error):
        pay(client, key, claim)
    assert lost
    reconnect()

    # nothing of it stayed: no money moved, the claim still waits, the key is unused
    assert payouts() == 0
    assert expenditure() == Decimal("5000.00")
    assert Claim.objects.get().status == ClaimStatus.APPROVED
    assert PayoutBatch.objects.count() == 0

    response = pay(client, key, claim)

    assert "已兑付 1 件，合计 810.00 元" in messages_of(client.get(response.url))
    assert payouts() == 1
    assert expenditure() == Decimal("4190.00")
    assert Claim.objects.get().status == ClaimStatus.PAID
    assert PayoutBatch.objects.get().key == key
    assert selectors.reconciliation(2026) == []


def test_a_key_used_for_other_claims_is_refused_and_pays_nothing(funded, cashier, village):
    first, second = approved_claim(village, "810.00"), approved_claim(village, "100.00")
    key = "k" * 32
    services.payout_batch_pay(user=cashier, claims=[first], key=key)

    with pytest.raises(NcmsError) as refused:
        services.payout_batch_pay(user=cashier, claims=[second], key=key)

    assert refused.value.code == "key_reused"
    assert Claim.objects.get(pk=second.pk).status == ClaimStatus.APPROVED
    assert payouts() == 1


def test_a_refused_payout_leaves_its_key_free(funded, cashier, village):
    too_much = approved_claim(village, "6000.00")
    claim = approved_claim(village, "810.00")
    key = "r" * 32
    with pytest.raises(NcmsError) as refused:
        services.payout_batch_pay(user=cashier, claims=[too_much], key=key)
    assert refused.value.code == "insufficient_funds"

    result = services.payout_batch_pay(user=cashier, claims=[claim], key=key)

    assert (result.replayed, [c.pk for c in result.claims]) == (False, [claim.pk])
    assert payouts() == 1


def test_a_missing_or_malformed_key_is_refused(funded, cashier, village):
    claim = approved_claim(village, "810.00")
    for key in ("", "short", "x" * 65, "bad key with spaces!!"):
        with pytest.raises(NcmsError) as refused:
            services.payout_batch_pay(user=cashier, claims=[claim], key=key)
        assert refused.value.code == "bad_key"
    assert payouts() == 0


@pytest.mark.postgres
def test_the_same_key_sent_twice_at_once_pays_once(funded, cashier, village):
    """Two sends of one form at the same instant (own connections): the second's insert of the
    key waits for the first's transaction, then answers with its batch."""
    from tests.fund.test_concurrency import at_once

    claim = approved_claim(village, "810.00")
    key = "c" * 32
    results = at_once([lambda: services.payout_batch_pay(user=cashier, claims=[claim], key=key)] * 2)

    assert sorted(result.replayed for result in results) == [False, True]
    assert {tuple(c.pk for c in result.claims) for result in results} == {(claim.pk,)}
    assert payouts() == 1
    assert expenditure() == Decimal("4190.00")


# --- settlement --------------------------------------------------------------------------------------


@pytest.fixture
def api(make_user, facility):
    policy_load(data=policy_document())
    clerk = make_user(Role.FACILITY_CLERK, facility=facility, username="fclerk")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=clerk).key}")
    return client


def settlement(member) -> dict:
    data = line(member, cost_lines=[{"category": "drugs", "amount": "700.00"},
                                    {"category": "beds", "amount": "300.00"},
                                    {"category": "other", "amount": "100.00", "in_catalog": False}])
    data.pop("facility")
    return data


def test_settlement_lost_after_the_commit_is_answered_again_with_the_same_claim(api, member):
    with lose_connection("claims_claim", when="after_commit") as lost:
        answer = api.post("/api/v1/claims/", settlement(member), format="json")
    assert lost
    # the API says so in JSON (core.api_errors): send it again
    assert answer.status_code == 503 and answer.json()["error"] == "database_unavailable"
    reconnect()
    claim = Claim.objects.get()

    again = api.post("/api/v1/claims/", settlement(member), format="json")

    assert again.status_code == 200
    assert again.json()["id"] == claim.pk
    assert again.json()["compensation"] == "810.00"
    assert Claim.objects.count() == 1
    assert ClaimEvent.objects.filter(claim=claim).count() == 1
    assert CostLine.objects.filter(claim=claim).count() == 3


def test_settlement_lost_before_the_commit_is_made_once_by_the_retry(api, member):
    with lose_connection("claims_claim", when="before_commit") as lost:
        answer = api.post("/api/v1/claims/", settlement(member), format="json")
    assert lost
    # the API says so in JSON (core.api_errors): send it again
    assert answer.status_code == 503 and answer.json()["error"] == "database_unavailable"
    reconnect()
    assert Claim.objects.count() == 0

    again = api.post("/api/v1/claims/", settlement(member), format="json")

    assert again.status_code == 201
    claim = Claim.objects.get()
    assert again.json()["id"] == claim.pk
    assert (claim.compensation, claim.status) == (Decimal("810.00"), ClaimStatus.SUBMITTED)
    assert ClaimEvent.objects.filter(claim=claim).count() == 1
    assert CostLine.objects.filter(claim=claim).count() == 3
