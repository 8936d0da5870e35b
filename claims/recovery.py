"""Recoveries (追回): part of a paid claim's compensation found paid wrongly (docs/rules.md,
"Money flow"; docs/contract.md, `recover_claim`).

`claim_recover` takes the claim's row lock, then the member's cap lock (the order every claim
write takes them), so two recoveries of the same claim at once run one after the other and the
second sees what the first took: together they never exceed the compensation. In the same
transaction it writes the `Recovery`, the claim's event, and the member's cap less the amount
(the cap is released at once). Who pays the money back, and when, is the fund's business
(`fund.statements` withholds a facility's recoveries; `fund.refunds` records a household's).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.roles import user_can
from core.errors import NcmsError
from core.money import ZERO, positive_amount

from .cap import lock_cap, refresh_cap
from .models import Claim, ClaimStatus, Recovery, RecoverySource
from .workflow import lock_claim, record_event

REASON_MAX = 200


def recovered_total(claim: Claim) -> Decimal:
    """What has been recovered of the claim so far."""
    return Recovery.objects.filter(claim=claim).aggregate(total=Sum("amount"))["total"] or ZERO


@transaction.atomic
def claim_recover(*, user, claim: Claim, amount, reason: str, on: date | None = None,
                  source: str = RecoverySource.REVIEW, source_id: int | None = None,
                  check_user: bool = True) -> Recovery:
    """Record that `amount` of the paid `claim`'s compensation was paid wrongly.

    Refused, naming the rule: a claim that is not paid; an amount that is not a positive sum in
    fen; more than the compensation less earlier recoveries; a recovery dated after today or
    before the claim was paid; a missing reason. `check_user` False is for the commands, which
    run as the county office itself."""
    if check_user and not user_can(user, "claims.recover"):
        raise NcmsError("您没有登记追回的权限", code="forbidden")
    if source not in RecoverySource.values:
        raise NcmsError(f"追回来源「{source}」不正确", code="bad_source")
    reason = (reason or "").strip()
    if not reason:
        raise NcmsError("请填写追回原因", code="missing_reason")
    if len(reason) > REASON_MAX:
        raise NcmsError(f"追回原因最多 {REASON_MAX} 个字", code="bad_reason")
    value = positive_amount(amount, words="追回金额")
    today = timezone.localdate()
    on = on or today
    if on > today:
        raise NcmsError(f"追回日期 {on:%Y-%m-%d} 晚于今天，不能登记", code="bad_date")
    claim = lock_claim(claim)
    if claim.status != ClaimStatus.PAID:
        raise NcmsError(f"补偿申请 {claim.invoice_no} 当前状态为「{claim.get_status_display()}」，"
                        f"只有已兑付的申请才能追回", code="not_paid")
    if claim.paid_at and on < timezone.localdate(claim.paid_at):
        raise NcmsError(f"追回日期 {on:%Y-%m-%d} 早于兑付日期 {timezone.localdate(claim.paid_at):%Y-%m-%d}",
                        code="bad_date")
    cap = lock_cap(member_id=claim.member_id, year=claim.year)
    remaining = claim.compensation - recovered_total(claim)
    if value > remaining:
        raise NcmsError(f"追回金额 {value} 元超过补偿申请 {claim.invoice_no} 尚可追回的 {remaining} 元"
                        f"（补偿 {claim.compensation} 元，已追回 {claim.compensation - remaining} 元）",
                        code="too_much")
    recovery = Recovery.objects.create(claim=claim, amount=value, reason=reason, date=on, source=source,
                                       source_id=source_id, created_by=user if getattr(user, "pk", None) else None)
    record_event(claim=claim, action="recover", from_status=claim.status, to_status=claim.status,
                 user=user if getattr(user, "pk", None) else None,
                 note=f"追回 {value} 元（{RecoverySource(source).label}）：{reason}")
    refresh_cap(cap)
    return recovery


__all__ = ["claim_recover", "recovered_total"]
