"""Reads of the ledger: balances and the year's income (the monthly report's fund_raised). The
ledger is county-wide; who may read it is `fund.view` (views): these selectors take no user."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from core.money import ZERO, to_fen

from .models import (
    INCOME_CODES,
    Account,
    LedgerLine,
    LedgerTransaction,
)


def account_balance(account, until: date | None = None, *, year: int | None = None) -> Decimal:
    """Sum of the account's lines (debit positive, credit negative), dated on or before `until`
    when given, of scheme year `year` when given. `account` is an Account or its code. The
    special account's own balance excludes its reserve sub-account (see fund.models)."""
    lines = LedgerLine.objects.all()
    lines = lines.filter(account__code=account) if isinstance(account, str) else lines.filter(account=account)
    if until is not None:
        lines = lines.filter(transaction__date__lte=until)
    if year is not None:
        lines = lines.filter(transaction__year=year)
    return to_fen(lines.aggregate(total=Sum("amount"))["total"] or ZERO)


def income_total(*, year: int, until: date) -> Decimal:
    """Income of scheme year `year` in the special account dated on or before `until` (the
    contract's fund_raised): everything credited to the income accounts, net of reversals;
    contributions are dated by their paid date, record_income by its --date. What the fund takes
    back (recoveries, penalties) was never raised and is not counted."""
    total = (LedgerLine.objects.filter(account__code__in=INCOME_CODES, transaction__year=year,
                                       transaction__date__lte=until)
             .aggregate(total=Sum("amount"))["total"]) or ZERO
    return to_fen(-total)


def balances_by_account(*, year: int | None = None) -> list[tuple[Account, Decimal]]:
    """Every account of the chart with its balance (all years, or one year) from the lines."""
    lines = LedgerLine.objects.all()
    if year is not None:
        lines = lines.filter(transaction__year=year)
    sums = dict(lines.values_list("account").annotate(total=Sum("amount")).values_list("account", "total"))
    return [(account, to_fen(sums.get(account.pk) or ZERO)) for account in Account.objects.order_by("order", "code")]


def ledger_years() -> list[int]:
    return sorted(set(LedgerTransaction.objects.values_list("year", flat=True)), reverse=True)
