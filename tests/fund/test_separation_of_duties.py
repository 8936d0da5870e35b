"""Separation of duties at the payout (docs/rules.md, "Money flow"): the approver of a claim never
pays it, whoever they are, a superuser included; one payout, a batch, a batch under an idempotency
key and the cashier's page all refuse, writing nothing, and the page offers only what the user may
pay."""
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from claims.models import Claim, ClaimEvent, ClaimStatus
from claims.services import check_not_approver
from core.errors import NcmsError
from fund import services
from fund.models import PayoutBatch
from fund.selectors import held_for_another_cashier, payout_queue
from ledger.models import AccountBalance, LedgerTransaction
from tests.fund.conftest import approved_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(make_user):
    """The administrator: a superuser, who carries every capability."""
    return make_user(Role.ADMINISTRATOR, username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def approver(make_user):
    return make_user(Role.APPROVER, username="approver")


def nothing_paid():
    return (LedgerTransaction.objects.filter(kind="payout").count(), PayoutBatch.objects.count(),
            ClaimEvent.objects.filter(action="pay").count(),
            sorted(set(Claim.objects.values_list("status", flat=True))),
            AccountBalance.objects.get(account__code="expenditure", year=2026).balance)


NOTHING_PAID = (0, 0, 0, [ClaimStatus.APPROVED], Decimal("5000.00"))


def test_the_check_names_every_claim_the_user_approved(village, root, approver, cashier):
    mine = approved_claim(village, approved_by=root, invoice_no="INV-MINE")
    theirs = approved_claim(village, approved_by=approver, invoice_no="INV-THEIRS")
    check_not_approver(cashier, [mine, theirs])  # approved by others: nothing to say
    with pytest.raises(NcmsError) as refused:
        check_not_approver(root, [theirs, mine])
    assert refused.value.code == "payer_is_approver"
    assert refused.value.message == "补偿申请 INV-MINE 由您审批，兑付须由另一位工作人员进行"


@pytest.mark.parametrize("who", ["superuser", "cashier"])
def test_the_approver_does_not_pay_one_claim(funded, village, root, cashier, who):
    """The superuser who approved, or a cashier who was made to approve through the services (the
    rule is about the person, not the role), is refused; another cashier pays."""
    payer = root if who == "superuser" else cashier
    claim = approved_claim(village, "810.00", approved_by=payer, invoice_no="INV-1")
    with pytest.raises(NcmsError) as refused:
        services.claim_pay(user=payer, claim=claim)
    assert refused.value.code == "payer_is_approver"
    assert "补偿申请 INV-1 由您审批" in refused.value.message
    assert nothing_paid() == NOTHING_PAID
    other = cashier if who == "superuser" else root
    paid = services.claim_pay(user=other, claim=claim)
    assert (paid.status, paid.paid_by, paid.approved_by) == (ClaimStatus.PAID, other, payer)


def test_a_batch_holding_one_claim_the_cashier_approved_is_refused_whole(funded, village, root, approver):
    theirs = approved_claim(village, "810.00", approved_by=approver, invoice_no="INV-A")
    mine = approved_claim(village, "190.00", approved_by=root, invoice_no="INV-B")
    with pytest.raises(NcmsError) as refused:
        services.claims_pay_batch(user=root, claims=[theirs, mine])
    assert refused.value.code == "payer_is_approver"
    assert "INV-B" in refused.value.message and "INV-A" not in refused.value.message
    assert nothing_paid() == NOTHING_PAID
    assert [claim.pk for claim in services.claims_pay_batch(user=root, claims=[theirs])] == [theirs.pk]


def test_a_keyed_batch_is_refused_and_keeps_no_batch_row(funded, village, root, approver):
    claims = [approved_claim(village, approved_by=approver), approved_claim(village, approved_by=root)]
    with pytest.raises(NcmsError) as refused:
        services.payout_batch_pay(user=root, claims=claims, key="k" * 32)
    assert refused.value.code == "payer_is_approver"
    assert nothing_paid() == NOTHING_PAID


def test_the_queue_offers_only_what_the_user_may_pay(client, funded, village, root, approver):
    theirs = approved_claim(village, approved_by=approver, invoice_no="INV-THEIRS")
    mine = approved_claim(village, approved_by=root, invoice_no="INV-MINE")
    assert [claim.pk for claim in payout_queue(user=root)] == [theirs.pk]
    assert held_for_another_cashier(user=root) == 1
    client.force_login(root)
    page = client.get(reverse("fund:payout_queue")).content.decode()
    assert "INV-THEIRS" in page and "INV-MINE" not in page
    assert "另有 1 件补偿申请由您审批，须由另一位工作人员兑付，未列在这里。" in page
    # a post naming it anyway (an old page, a crafted form) is refused with the claim named
    response = client.post(reverse("fund:payout_pay"), {"claim": [theirs.pk, mine.pk]}, follow=True)
    assert "补偿申请 INV-MINE 由您审批，兑付须由另一位工作人员进行" in response.content.decode()
    assert nothing_paid() == NOTHING_PAID


def test_a_cashier_who_approved_nothing_sees_no_note(client, funded, village, approver, cashier):
    approved_claim(village, approved_by=approver)
    client.force_login(cashier)
    page = client.get(reverse("fund:payout_queue")).content.decode()
    assert "由您审批" not in page
    assert held_for_another_cashier(user=cashier) == 0
