"""Reads of the fund: the reconciliation of the ledger against enrollment and claims, and the
cashier's payout queue. The ledger's own reads (balances, income) are `ledger.selectors`."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from claims.models import Channel, Claim, ClaimStatus
from core.money import ZERO, to_fen
from enrollment.models import ContributionVoid, Enrollment
from ledger.models import (
    COMPENSATION,
    EXPENDITURE,
    RESERVE,
    Account,
    AccountBalance,
    IncomeSource,
    LedgerLine,
    income_code,
)
from policy.models import PolicyVersion


def _fen_values(sums: dict) -> dict:
    """SQLite returns sums without their two places; every figure shown is in fen."""
    return {key: to_fen(value or ZERO) for key, value in sums.items()}


@dataclass(frozen=True)
class Difference:
    """One disagreement found by the reconciliation, in words a clerk understands."""

    kind: str
    key: str
    ledger: Decimal
    expected: Decimal
    message: str


def reconciliation(year: int) -> list[Difference]:
    """Every difference between the ledger of scheme year `year` and what it must agree with
    (none in a healthy system):
    - individual income per day vs the contributions recorded with that paid date, less the
      contributions voided that day (a void's reversing entry is dated the day of the void, and
      the voided contribution stays income of its paid date: the ledger is never edited);
    - payouts vs the compensation of the year's paid claims, claim by claim;
    - each transaction's lines sum to zero; each account's stored balance equals its lines;
    - money accounts not below zero; the reserve equals round(rate × the year's income).
    """
    differences: list[Difference] = []
    lines = LedgerLine.objects.filter(transaction__year=year)

    # contributions, by paid date
    booked = dict(lines.filter(account__code=income_code(IncomeSource.INDIVIDUAL))
                  .values_list("transaction__date").annotate(total=Sum("amount"))
                  .values_list("transaction__date", "total"))
    recorded = defaultdict(lambda: ZERO)
    voids = ContributionVoid.objects.filter(year=year)
    for queryset, day, sign in ((Enrollment.objects.filter(year=year), "paid_date", 1),
                                (voids, "paid_date", 1), (voids, "voided_on", -1)):
        for on, total in queryset.values_list(day).annotate(total=Sum("contribution")).values_list(day, "total"):
            recorded[on] += sign * to_fen(total or ZERO)
    booked, recorded = _fen_values(booked), _fen_values(recorded)
    for on in sorted(set(booked) | set(recorded)):
        ledger, expected = to_fen(-(booked.get(on) or ZERO)), recorded.get(on) or to_fen(ZERO)
        if ledger != expected:
            differences.append(Difference(
                "contributions", on.isoformat(), ledger, expected,
                f"{on:%Y-%m-%d} 个人缴费：账上 {ledger} 元，参合登记 {expected} 元，相差 {ledger - expected} 元"))

    # payouts, claim by claim
    paid_out = defaultdict(lambda: ZERO)
    for ref, amount in (lines.filter(account__code=COMPENSATION, transaction__ref__startswith="claim:")
                        .values_list("transaction__ref", "amount")):
        paid_out[int(ref.split(":", 1)[1])] += to_fen(amount)
    for ref, amount in (lines.filter(account__code=COMPENSATION).exclude(transaction__ref__startswith="claim:")
                        .values_list("transaction__ref", "amount")):
        paid_out[-1] += to_fen(amount)  # compensation booked without a claim: always a difference
    claims = dict(Claim.objects.filter(year=year, status=ClaimStatus.PAID).values_list("pk", "compensation"))
    other_claims = dict(Claim.objects.filter(pk__in=[pk for pk in paid_out if pk not in claims and pk > 0])
                        .values_list("pk", "invoice_no"))
    invoices = dict(Claim.objects.filter(pk__in=list(claims)).values_list("pk", "invoice_no"))
    for pk in sorted(set(paid_out) | set(claims)):
        ledger, expected = paid_out.get(pk, ZERO), claims.get(pk, ZERO)
        if ledger != expected:
            name = invoices.get(pk) or other_claims.get(pk) or ("（无对应申请）" if pk < 0 else f"#{pk}")
            differences.append(Difference(
                "payouts", str(pk), ledger, expected,
                f"补偿申请 {name}：账上兑付 {ledger} 元，已兑付申请的补偿金额 {expected} 元"))

    # balanced transactions (PostgreSQL also refuses an unbalanced commit)
    for pk, total in (lines.values_list("transaction").annotate(total=Sum("amount"))
                      .exclude(total=0).values_list("transaction", "total")):
        total = to_fen(total)
        if total == ZERO:  # SQLite sums decimals as floats: a residue far below the fen is no difference
            continue
        differences.append(Difference("unbalanced", str(pk), total, ZERO, f"凭证 #{pk} 借贷不平衡，相差 {total} 元"))

    # stored balances vs lines, and no money account below zero
    sums = dict(lines.values_list("account__code").annotate(total=Sum("amount")).values_list("account__code", "total"))
    sums = _fen_values(sums)
    stored = dict(AccountBalance.objects.filter(year=year).values_list("account__code", "balance"))
    names = dict(Account.objects.values_list("code", "name"))
    for code in sorted(set(sums) | set(stored)):
        ledger, kept = sums.get(code) or ZERO, stored.get(code) or ZERO
        if ledger != kept:
            differences.append(Difference("balance", code, ledger, kept,
                                          f"{names.get(code, code)} 余额记录 {kept} 元，按分录合计 {ledger} 元"))
    for code in (EXPENDITURE, RESERVE, "special"):
        if (sums.get(code) or ZERO) < ZERO:
            differences.append(Difference("negative", code, sums[code], ZERO, f"{names.get(code, code)} 余额为负数"))

    # the risk reserve
    version = PolicyVersion.objects.filter(year=year).first()
    if version is not None:
        income = -sum((total for code, total in sums.items() if code.startswith("income_")), ZERO)
        expected = to_fen(version.policy().risk_reserve_rate * income)
        reserve = sums.get(RESERVE) or ZERO
        if reserve != expected:
            differences.append(Difference(
                "reserve", RESERVE, reserve, expected,
                f"风险基金 {reserve} 元，应为本年度收入 {income} 元 × {version.policy().risk_reserve_rate} = {expected} 元"))
    return differences


def payout_queue(*, user, year: int | None = None, township=None, q: str = ""):
    """Approved township-channel claims waiting to be paid to households, in the user's scope,
    oldest approval first (a facility-channel claim is paid on its facility's statement). The claims
    the user approved are not offered: the approver of a claim never pays it
    (`claims.services.check_not_approver`), so the queue holds only what this user may pay;
    `held_for_another_cashier` counts the ones left out."""
    claims = (Claim.objects.for_user(user).filter(status=ClaimStatus.APPROVED, channel=Channel.TOWNSHIP)
              .exclude(approved_by=user)
              .select_related("member__household__village__township", "facility")
              .prefetch_related("flags")  # a flagged claim carries its flag in the queue
              .order_by("approved_at", "pk"))
    if year:
        claims = claims.filter(year=year)
    if township:
        claims = claims.filter(township=township)
    if q:
        from django.db.models import Q

        claims = claims.filter(Q(invoice_no__icontains=q) | Q(member__name__icontains=q)
                               | Q(member__household__number__icontains=q))
    return claims


def held_for_another_cashier(*, user) -> int:
    """How many approved claims in the user's scope the user approved, and so may not pay."""
    return Claim.objects.for_user(user).filter(status=ClaimStatus.APPROVED, channel=Channel.TOWNSHIP,
                                               approved_by=user).count()


__all__ = ["Difference", "held_for_another_cashier", "payout_queue", "reconciliation"]
