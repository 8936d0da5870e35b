"""Households' refunds of recovered township-channel claims (退款; docs/rules.md, "Money flow").

A recovery of a township-channel claim was paid to the household: it stays outstanding until the
fund officer records the refund, which the ledger books back into the expenditure account as
recovered income (kind refund). A facility-channel recovery is never refunded this way: the
facility's next statement withholds it (`fund.statements`).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from claims.models import Channel, Recovery
from core.errors import NcmsError
from core.money import ZERO, positive_amount
from ledger.models import EXPENDITURE, RECOVERED, TransactionKind
from ledger.services import chart_ensure, lock_balances, post, require_capability

from .models import RecoveryRefund


def refunded_total(recovery: Recovery) -> Decimal:
    return RecoveryRefund.objects.filter(recovery=recovery).aggregate(total=Sum("amount"))["total"] or ZERO


def outstanding(recovery: Recovery) -> Decimal:
    """What the household still owes of a township-channel recovery (0 for a facility's)."""
    if recovery.claim.channel != Channel.TOWNSHIP:
        return ZERO
    return recovery.amount - refunded_total(recovery)


def refund_record(*, user, recovery: Recovery, amount, on: date, ref: str) -> RecoveryRefund:
    """Record a household's refund of `amount` against a township-channel `recovery`, and book it.
    Refused: a facility's recovery; more than what is outstanding; a date after today or before
    the recovery; a ref used before."""
    require_capability(user, "fund.refund", "登记追回退款")
    value = positive_amount(amount, words="退款金额")
    ref = (ref or "").strip()
    if not ref or len(ref) > 80:
        raise NcmsError("请填写业务号（如收据号），最多 80 个字符", code="missing_ref")
    if on is None:
        raise NcmsError("请填写到账日期", code="missing_date")
    if on > timezone.localdate():
        raise NcmsError(f"到账日期 {on:%Y-%m-%d} 晚于今天", code="bad_date")
    try:
        with transaction.atomic():
            recovery = Recovery.objects.select_for_update().select_related("claim").get(pk=recovery.pk)
            if recovery.claim.channel != Channel.TOWNSHIP:
                raise NcmsError(f"补偿申请 {recovery.claim.invoice_no} 为机构即时结报，追回款从该机构下期结算单中扣回，"
                                f"无需登记退款", code="facility_channel")
            if on < recovery.date:
                raise NcmsError(f"到账日期 {on:%Y-%m-%d} 早于追回日期 {recovery.date:%Y-%m-%d}", code="bad_date")
            left = outstanding(recovery)
            if value > left:
                raise NcmsError(f"退款金额 {value} 元超过尚欠的 {left} 元", code="too_much")
            refund = RecoveryRefund.objects.create(recovery=recovery, amount=value, date=on, ref=ref,
                                                   created_by=user)
            accounts = chart_ensure()
            year = recovery.claim.year
            balances = lock_balances(accounts, [EXPENDITURE, RECOVERED], year)
            post(user=user, year=year, on=on, kind=TransactionKind.REFUND, ref=ref,
                 memo=f"追回退款 {recovery.claim.invoice_no}", accounts=accounts, balances=balances,
                 movements=[(EXPENDITURE, value), (RECOVERED, -value)])
            return refund
    except IntegrityError:
        raise NcmsError(f"业务号「{ref}」已经登记过，不能重复登记", code="duplicate_ref") from None


__all__ = ["outstanding", "refund_record", "refunded_total"]
