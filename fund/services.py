"""Payouts (兑付) of approved claims from the expenditure account.

`claims_pay_batch` locks the claims (ordered by pk) and then the expenditure balance, so two
cashiers paying the same claim at once pay it once; the payout lines and the claim's move to paid
(`claims.services.claim_transition`, action "pay") are one database transaction, and a batch is
all or nothing. `payout_batch_pay` adds the request's idempotency key (a `PayoutBatch` row in the
same transaction): a retry after a lost connection pays nothing twice and loses nothing.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.models import Channel, Claim, ClaimStatus
from claims.services import check_not_approver, claim_transition
from core.errors import NcmsError
from ledger.models import COMPENSATION, EXPENDITURE, TransactionKind
from ledger.services import ZERO, chart_ensure, lock_balances, post, require_capability

from .models import PayoutBatch

# --- payouts (兑付) ----------------------------------------------------------------------------


def _paid_at(paid_date: date | None):
    today = timezone.localdate()
    if paid_date is None or paid_date == today:
        return today, timezone.now()
    # a payout booked on another day (import_claims' history): noon of that day in the county
    return paid_date, timezone.make_aware(datetime.combine(paid_date, time(12, 0)))


@transaction.atomic
def claims_pay_batch(*, user, claims, paid_date: date | None = None, to_facility: bool = False) -> list:
    """Pay approved claims (兑付): lock them, refuse unless every one is approved and by someone
    other than `user` (`claims.services.check_not_approver`: a batch holding a claim `user`
    approved is refused whole, naming it), lock the expenditure account's balance of their
    years and refuse when it does not cover the batch; then book each payout (expenditure →
    compensation paid, ref "claim:<id>") and move the claim to paid. All or nothing: any refusal
    pays none.

    Payee by channel: the cashier's batch pays households, so only township-channel claims; a
    facility-channel claim is owed to its facility and paid on its statement (`fund.statements`).
    `to_facility` True is import_claims' history, where a paid facility-channel line was paid to
    its facility on its paid date."""
    require_capability(user, "fund.pay", "兑付补偿")
    ids = sorted({claim.pk for claim in claims})
    if not ids:
        raise NcmsError("请选择要兑付的补偿申请", code="nothing_selected")
    locked = list(Claim.objects.select_for_update().filter(pk__in=ids).select_related("facility").order_by("pk"))
    if len(locked) != len(ids):
        raise NcmsError("所选补偿申请不存在", code="not_found")
    for claim in locked:
        if claim.status == ClaimStatus.PAID:
            raise NcmsError(f"补偿申请 {claim.invoice_no} 已经兑付（{timezone.localdate(claim.paid_at):%Y-%m-%d}），"
                            f"不能重复兑付",
                            code="already_paid")
        if claim.status != ClaimStatus.APPROVED:
            raise NcmsError(f"补偿申请 {claim.invoice_no} 当前状态为「{claim.get_status_display()}」，"
                            f"审批通过后才能兑付", code="not_approved")
        if claim.channel != Channel.TOWNSHIP and not to_facility:
            raise NcmsError(f"补偿申请 {claim.invoice_no} 为机构即时结报，补偿款付给定点医疗机构，"
                            f"请通过该机构的月度结算单支付", code="facility_channel")
    # separation of duties, for every cashier and superuser alike: the approver never pays
    check_not_approver(user, locked)
    on, at = _paid_at(paid_date)
    accounts = chart_ensure()
    needed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for claim in locked:
        needed[claim.year] += claim.compensation
    balances_by_year = {}
    for year in sorted(needed):
        balances = lock_balances(accounts, [EXPENDITURE, COMPENSATION], year)
        if balances[EXPENDITURE].balance < needed[year]:
            raise NcmsError(f"支出户{year}年度余额 {balances[EXPENDITURE].balance} 元，不足兑付 {needed[year]} 元"
                            f"（{sum(1 for c in locked if c.year == year)} 件），本次未兑付任何申请",
                            code="insufficient_funds")
        balances_by_year[year] = balances
    paid = []
    for claim in locked:
        if claim.compensation > ZERO:
            payee = f"付{claim.facility.code}" if claim.channel != Channel.TOWNSHIP else "付参合家庭"
            post(user=user, year=claim.year, on=on, kind=TransactionKind.PAYOUT, ref=f"claim:{claim.pk}",
                  memo=f"兑付 {claim.invoice_no} {payee}", accounts=accounts, balances=balances_by_year[claim.year],
                  movements=[(EXPENDITURE, -claim.compensation), (COMPENSATION, claim.compensation)])
        paid.append(claim_transition(user=user, claim=claim, action="pay", at=at))
    return paid


@transaction.atomic
def claim_pay(*, user, claim, paid_date: date | None = None):
    """Pay one approved claim: its payout and its move to paid are one transaction."""
    return claims_pay_batch(user=user, claims=[claim], paid_date=paid_date)[0]


# --- payouts with an idempotency key -------------------------------------------------------------

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class PayoutResult:
    batch: PayoutBatch
    claims: list
    replayed: bool  # True: this key's batch was paid before; nothing was paid now


def _payout_replay(*, key: str, ids: list[int], user) -> PayoutResult | None:
    batch = PayoutBatch.objects.filter(key=key).first()
    if batch is None:
        return None
    paid_ids = sorted(batch.claims.values_list("pk", flat=True))
    if paid_ids != ids or batch.created_by_id != getattr(user, "pk", None):
        raise NcmsError("该兑付请求已用于另一批补偿申请，本次未兑付；请刷新页面后重新选择", code="key_reused")
    return PayoutResult(batch=batch, claims=list(Claim.objects.filter(pk__in=ids).order_by("pk")), replayed=True)


def payout_batch_pay(*, user, claims, key: str, paid_date: date | None = None) -> PayoutResult:
    """Pay a batch of approved claims (`claims_pay_batch`) under the request's idempotency key.

    Why: a cashier whose connection to the database was lost does not know whether the
    money went out. The key is generated when the payout form is rendered and sent with it; the
    batch row holding it is written first, in the payout's transaction, so
    - lost after the commit: the retry with the same key finds the batch and answers with what
      was paid (`replayed`), paying nothing again;
    - lost before the commit: nothing of the batch exists, and the retry pays it once;
    - two sends of the same key at once: the second's insert of the key waits for the first's
      transaction and then finds its batch.
    A key is bound to its claims and its cashier: used for other claims, it is refused.
    """
    key = (key or "").strip()
    if not IDEMPOTENCY_KEY.match(key):
        raise NcmsError("兑付请求编号缺失或不正确，本次未兑付；请刷新页面后重新提交", code="bad_key")
    require_capability(user, "fund.pay", "兑付补偿")
    ids = sorted({claim.pk for claim in claims})
    replay = _payout_replay(key=key, ids=ids, user=user)
    if replay is not None:
        return replay
    try:
        with transaction.atomic():
            batch = PayoutBatch.objects.create(key=key, created_by=user, total=ZERO)
            paid = claims_pay_batch(user=user, claims=claims, paid_date=paid_date)
            batch.total = sum((claim.compensation for claim in paid), ZERO)
            batch.save(update_fields=["total"])
            batch.claims.set(paid)
    except IntegrityError:
        # the same key committed by a concurrent send of the same request: answer with its batch
        replay = _payout_replay(key=key, ids=ids, user=user)
        if replay is None:
            raise
        return replay
    return PayoutResult(batch=batch, claims=paid, replayed=False)
