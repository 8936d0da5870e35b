"""Writes of the closed fund's ledger (docs/rules.md, "The closed fund"; docs/contract.md,
"Commands" for record_income and transfer_funds, and "Income booked automatically").

Every movement goes through `post`, which enforces the closed fund:
- the accounts a movement may touch depend on its kind (`ALLOWED`): income lands in the special
  account (and its risk reserve), the special account pays only into the expenditure account,
  the expenditure account pays only compensation and returns its interest to the special account;
- the lines balance to the fen (PostgreSQL checks it again at commit, migration 0002);
- it first takes the `AccountBalance` rows of the accounts it touches FOR UPDATE, ordered by
  account, then refuses any movement that would take a money account below zero (the expenditure
  account, the special account's transferable part, the reserve);
- a `ref` is booked at most once per kind.

The risk reserve: income of year Y moves, in the same transaction, the policy's
`risk_reserve_rate` share from the special account into its `reserve` sub-account. The share is
computed on the year's running total, so the reserve always equals
round_half_up(rate × income of the year booked so far) exactly: for a single booking that is
rate × amount rounded to the fen, and the fen lost to rounding across many bookings never
accumulates. A year with no policy loaded sets aside nothing until its policy is loaded; the next
income of that year (or `reserve_settle`) catches the reserve up.

Contributions: `contributions_book` books one transaction per enrollment (ref
"enrollment:<id>", dated by its paid date): the clerk's page records one contribution at a time.
`contributions_book_bulk` books one transaction per paid date of a roster import (ref
"<ref_prefix>:<YYYY-MM-DD>"). A voided contribution is taken back out by `contribution_void_book`:
a transaction of its own for that one member's amount, dated the day of the void (a roster's
booking holds many members, so it is never reversed as a whole).

Payouts post through `post` too (`fund.services`).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.roles import user_can
from core.errors import NcmsError
from core.money import ZERO, positive_amount, to_fen
from policy.models import PolicyVersion

from .models import (
    CHART,
    COMPENSATION,
    EXPENDITURE,
    INCOME_CODES,
    PENALTY,
    RECOVERED,
    RESERVE,
    SPECIAL,
    Account,
    AccountBalance,
    AccountKind,
    IncomeSource,
    LedgerLine,
    LedgerTransaction,
    TransactionKind,
    income_code,
)

# The closed fund: which accounts each kind of movement may touch, and in which direction
# ("+" debit, "-" credit): money flows special → expenditure → compensation, never back, and
# income accounts are only credited. A reversal mirrors the transaction it reverses.
BOTH, DEBIT, CREDIT = frozenset("+-"), frozenset("+"), frozenset("-")
ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    TransactionKind.INCOME: {SPECIAL: BOTH, RESERVE: BOTH} | {code: CREDIT for code in INCOME_CODES},
    TransactionKind.TRANSFER: {SPECIAL: CREDIT, EXPENDITURE: DEBIT},
    TransactionKind.PAYOUT: {EXPENDITURE: CREDIT, COMPENSATION: DEBIT},
    TransactionKind.INTEREST_RETURN: {EXPENDITURE: BOTH, SPECIAL: BOTH, RESERVE: BOTH, income_code(IncomeSource.INTEREST): CREDIT},
    TransactionKind.RESERVE: {SPECIAL: BOTH, RESERVE: BOTH},
    # a voided contribution leaves the year's individual income (and its reserve share) again
    TransactionKind.CONTRIBUTION_VOID: {SPECIAL: BOTH, RESERVE: BOTH,
                                        income_code(IncomeSource.INDIVIDUAL): DEBIT},
    # a statement pays the facility net: its withheld recoveries and penalties stay in the
    # expenditure account as the fund's income (the claims' payouts are booked in full)
    TransactionKind.WITHHOLDING: {EXPENDITURE: DEBIT, RECOVERED: CREDIT, PENALTY: CREDIT},
    # a household's refund of a recovered claim comes back into the expenditure account
    TransactionKind.REFUND: {EXPENDITURE: DEBIT, RECOVERED: CREDIT},
}
ACCOUNT_WORDS = {SPECIAL: "财政专户（风险基金以外）", RESERVE: "风险基金", EXPENDITURE: "支出户",
                 COMPENSATION: "补偿支出"}


def require_capability(user, capability: str, words: str) -> None:
    """`user=None` is the system itself (management commands, imports)."""
    if user is not None and not user_can(user, capability):
        raise NcmsError(f"您没有{words}的权限", code="forbidden")


def _amount(value, *, words: str = "金额") -> Decimal:
    return positive_amount(value, words=words)


def _year(year) -> int:
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise NcmsError(f"年度「{year}」不正确", code="bad_year")
    return year


def chart_ensure() -> dict[str, Account]:
    """The fixed chart by code; creates any missing account (a database flushed by a test)."""
    accounts = {account.code: account for account in Account.objects.all()}
    if len(accounts) < len(CHART):
        for code, name, kind, parent, order in CHART:
            if code not in accounts:
                accounts[code], _ = Account.objects.get_or_create(
                    code=code, defaults={"name": name, "kind": kind, "order": order,
                                         "parent": accounts.get(parent) if parent else None})
    return accounts


def lock_balances(accounts: dict[str, Account], codes, year: int) -> dict[str, AccountBalance]:
    """The balance rows of `codes` for `year`, FOR UPDATE, ordered by account (no deadlocks);
    created first when missing, ignoring a concurrent creation, like claims' cap rows."""
    chosen = sorted({accounts[code] for code in codes}, key=lambda account: account.pk)
    AccountBalance.objects.bulk_create(
        [AccountBalance(account=account, year=year, kind=account.kind, balance=ZERO) for account in chosen],
        ignore_conflicts=True)
    rows = (AccountBalance.objects.select_for_update().filter(account__in=chosen, year=year)
            .order_by("account_id"))
    by_id = {row.account_id: row for row in rows}
    return {account.code: by_id[account.pk] for account in chosen}


def _check_ref(kind: str, ref: str) -> None:
    if ref and LedgerTransaction.objects.filter(kind=kind, ref=ref).exists():
        raise NcmsError(f"业务号「{ref}」已经记过账，不能重复记账", code="duplicate_ref")


def post(*, user, year: int, on: date, kind: str, ref: str, memo: str,
          movements: list[tuple[str, Decimal]], balances: dict[str, AccountBalance],
          accounts: dict[str, Account], reverses: LedgerTransaction | None = None) -> LedgerTransaction:
    """Book one balanced transaction; `balances` are the locked rows of every account touched."""
    movements, change = _checked(year=year, kind=kind, movements=movements, balances=balances,
                                 accounts=accounts)
    _check_ref(kind, ref)
    try:
        with transaction.atomic():
            entry = LedgerTransaction.objects.create(year=year, date=on, kind=kind, ref=ref, memo=memo[:200],
                                                     created_by=user, reverses=reverses)
    except IntegrityError as exc:  # a concurrent booking of the same ref won the race
        raise NcmsError(f"业务号「{ref}」已经记过账，不能重复记账", code="duplicate_ref") from exc
    LedgerLine.objects.bulk_create([LedgerLine(transaction=entry, account=accounts[code], amount=amount)
                                    for code, amount in movements])
    for code, delta in change.items():
        if delta:
            balances[code].balance += delta
            balances[code].save(update_fields=["balance"])
    return entry


def _checked(*, year: int, kind: str, movements: list[tuple[str, Decimal]],
             balances: dict[str, AccountBalance], accounts: dict[str, Account]):
    """The closed fund's rules for one transaction: the movements (zero lines dropped) and the
    change of each account's balance, or a refusal (forbidden movement, unbalanced, not to the
    fen, a balance that would go below zero)."""
    movements = [(code, amount) for code, amount in movements if amount != ZERO]
    allowed = ALLOWED.get(kind, {}) if kind != TransactionKind.REVERSAL else {code: BOTH for code, _ in movements}
    forbidden = sorted({code for code, amount in movements
                        if ("+" if amount > ZERO else "-") not in allowed.get(code, ())})
    if forbidden:
        raise NcmsError(f"基金封闭运行：{TransactionKind(kind).label}不能记入科目 {', '.join(forbidden)}",
                        code="forbidden_movement")
    if len(movements) < 2 or sum((amount for _, amount in movements), ZERO) != ZERO:
        raise NcmsError("借贷不平衡，不能记账", code="unbalanced")
    for amount in (amount for _, amount in movements):
        if amount != to_fen(amount):
            raise NcmsError("金额只能精确到分", code="bad_amount")
    change: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for code, amount in movements:
        change[code] += amount
    for code, delta in change.items():
        row = balances[code]
        after = row.balance + delta
        if row.kind != AccountKind.INCOME and after < ZERO:
            raise NcmsError(
                f"{year}年度{ACCOUNT_WORDS.get(code, accounts[code].name)}余额 {row.balance} 元，"
                f"不足支付 {-delta} 元", code="insufficient_funds")
        if row.kind == AccountKind.INCOME and after > ZERO:
            raise NcmsError(f"{year}年度{accounts[code].name}不能冲销到负数", code="insufficient_funds")
    return movements, change


# --- income and the risk reserve ------------------------------------------------------------


def _reserve_rate(year: int) -> Decimal:
    version = PolicyVersion.objects.filter(year=year).first()
    return version.policy().risk_reserve_rate if version is not None else ZERO


def _year_income(year: int) -> Decimal:
    """The year's income raised so far (income accounts are credited: their balances are negative);
    recoveries and penalties taken back are not raised income and set nothing aside."""
    return -(AccountBalance.objects.filter(year=year, account__code__in=INCOME_CODES)
             .aggregate(total=Sum("balance"))["total"] or ZERO)


def _reserve_gap(*, rate: Decimal, income: Decimal, reserve: AccountBalance) -> Decimal:
    """What must move into the reserve so it equals round(rate × income)."""
    return to_fen(rate * income) - reserve.balance


def _reserve_share(*, year: int, balances: dict[str, AccountBalance], extra_income: Decimal) -> Decimal:
    """What must move into the reserve so it equals round(rate × the year's income), income
    including `extra_income` about to be booked. The caller holds the special and reserve locks,
    which every income posting takes, so the year's income cannot change meanwhile."""
    return _reserve_gap(rate=_reserve_rate(year), income=_year_income(year) + extra_income,
                        reserve=balances[RESERVE])


def _income_movements(code: str, amount: Decimal, share: Decimal) -> list[tuple[str, Decimal]]:
    """Income into the special account, and the reserve's share of it set apart."""
    return [(SPECIAL, amount), (code, -amount), (SPECIAL, -share), (RESERVE, share)]


def _income_post(*, user, year: int, on: date, source: str, amount: Decimal, ref: str, memo: str):
    accounts = chart_ensure()
    code = income_code(source)
    balances = lock_balances(accounts, [SPECIAL, RESERVE, code], year)
    share = _reserve_share(year=year, balances=balances, extra_income=amount)
    return post(user=user, year=year, on=on, kind=TransactionKind.INCOME, ref=ref, memo=memo, accounts=accounts,
                 balances=balances, movements=_income_movements(code, amount, share))


@transaction.atomic
def income_record(*, user, year: int, date: date, source: str, amount, ref: str) -> LedgerTransaction:
    """Book income of scheme year `year` into the special account (contract: record_income),
    with the risk reserve's share moved to the reserve sub-account in the same transaction.
    A ref already booked as income is refused."""
    require_capability(user, "fund.income", "登记基金收入")
    year = _year(year)
    if source not in IncomeSource.values:
        raise NcmsError(f"收入来源「{source}」不正确，应为 {', '.join(IncomeSource.values)} 之一",
                        code="bad_source")
    amount = _amount(amount, words="收入金额")
    ref = (ref or "").strip()
    if not ref:
        raise NcmsError("请填写业务号（如财政拨款文号）", code="missing_ref")
    if date is None:
        raise NcmsError("请填写到账日期", code="missing_date")
    return _income_post(user=user, year=year, on=date, source=source, amount=amount, ref=ref,
                        memo=f"{IncomeSource(source).label} {ref}")


@transaction.atomic
def contributions_book(*, user, enrollments) -> list[LedgerTransaction]:
    """Book recorded contributions as individual income (contract), one transaction per
    enrollment, dated by its paid date, ref "enrollment:<id>". Zero contributions book nothing.
    Called inside `enrollment_record_contribution`'s transaction; the caller checked the user."""
    booked = []
    for enrollment in enrollments:
        if enrollment.contribution > ZERO:
            booked.append(_income_post(
                user=user, year=enrollment.year, on=enrollment.paid_date, source=IncomeSource.INDIVIDUAL,
                amount=enrollment.contribution, ref=f"enrollment:{enrollment.pk}",
                memo=f"个人缴费 收据号{enrollment.receipt_no}"))
    return booked


@transaction.atomic
def contributions_book_bulk(*, user, year: int, amounts_by_date: dict[date, Decimal],
                            ref_prefix: str) -> list[LedgerTransaction]:
    """Book a roster import's contributions as individual income: one transaction per paid
    date, for the sum of that date's contributions, ref "<ref_prefix>:<YYYY-MM-DD>" (so the same
    import booked again is refused). Call it inside the import's transaction."""
    days = [(on, to_fen(Decimal(amounts_by_date[on]))) for on in sorted(amounts_by_date)]
    days = [(on, amount) for on, amount in days if amount > ZERO]
    if not days:
        return []
    # What `_income_post` does date by date, with the chart, the locked balances, the reserve
    # rate and the year's income read once, and the transactions and their lines written with
    # two inserts (an import's contributions fall on a hundred paid dates or more).
    accounts = chart_ensure()
    code = income_code(IncomeSource.INDIVIDUAL)
    balances = lock_balances(accounts, [SPECIAL, RESERVE, code], year)
    refs = [f"{ref_prefix}:{on.isoformat()}" for on, _ in days]
    taken = LedgerTransaction.objects.filter(kind=TransactionKind.INCOME, ref__in=refs).values_list("ref", flat=True).first()
    if taken:
        raise NcmsError(f"业务号「{taken}」已经记过账，不能重复记账", code="duplicate_ref")
    rate, income = _reserve_rate(year), _year_income(year)
    entries, lines = [], []
    for (on, amount), ref in zip(days, refs):
        share = _reserve_gap(rate=rate, income=income + amount, reserve=balances[RESERVE])
        movements, change = _checked(year=year, kind=TransactionKind.INCOME, balances=balances, accounts=accounts,
                                     movements=_income_movements(code, amount, share))
        for account_code, delta in change.items():
            balances[account_code].balance += delta
        income += amount
        entry = LedgerTransaction(year=year, date=on, kind=TransactionKind.INCOME, ref=ref, created_by=user,
                                  memo=f"个人缴费（花名册导入）{on.isoformat()}")
        entries.append(entry)
        lines += [(entry, account_code, value) for account_code, value in movements]
    LedgerTransaction.objects.bulk_create(entries)
    LedgerLine.objects.bulk_create([LedgerLine(transaction=entry, account=accounts[account_code], amount=value)
                                    for entry, account_code, value in lines])
    for row in balances.values():
        row.save(update_fields=["balance"])
    return entries


@transaction.atomic
def reserve_settle(*, user, year: int, date: date) -> LedgerTransaction | None:
    """Bring the year's risk reserve to round(rate × the year's income), e.g. after the year's
    policy was loaded later than its first income. Nothing to move books nothing."""
    require_capability(user, "fund.income", "计提风险基金")
    accounts = chart_ensure()
    balances = lock_balances(accounts, [SPECIAL, RESERVE], year)
    share = _reserve_share(year=year, balances=balances, extra_income=ZERO)
    if share == ZERO:
        return None
    return post(user=user, year=year, on=date, kind=TransactionKind.RESERVE, ref="", memo="风险基金计提调整",
                 accounts=accounts, balances=balances, movements=[(SPECIAL, -share), (RESERVE, share)])


@transaction.atomic
def contribution_void_book(*, user, year: int, on: date, amount: Decimal, ref: str, memo: str
                           ) -> LedgerTransaction:
    """Take a voided contribution out of the year's individual income: the income account is
    debited by the amount, the special account credited, and the risk reserve brought back to
    round(rate × the year's remaining income), in one transaction dated `on` (the day of the
    void). `ref` ("void:enrollment:<id>") is booked at most once. Called inside the void's
    transaction; the caller checked the user. Refused when the special account no longer holds
    the money (it was transferred to the expenditure account)."""
    amount = _amount(amount, words="作废的缴费金额")
    accounts = chart_ensure()
    code = income_code(IncomeSource.INDIVIDUAL)
    balances = lock_balances(accounts, [SPECIAL, RESERVE, code], year)
    share = _reserve_share(year=year, balances=balances, extra_income=-amount)
    return post(user=user, year=year, on=on, kind=TransactionKind.CONTRIBUTION_VOID, ref=ref, memo=memo,
                 accounts=accounts, balances=balances,
                 movements=[(SPECIAL, -amount), (code, amount), (SPECIAL, -share), (RESERVE, share)])


# --- transfers and interest -------------------------------------------------------------------


@transaction.atomic
def funds_transfer(*, user, year: int, date: date, amount, ref: str) -> LedgerTransaction:
    """Move money of scheme year `year` from the special account to the expenditure account
    (contract: transfer_funds). Refused when the special account's balance less the risk reserve
    would not cover it, or the ref was booked before."""
    require_capability(user, "fund.transfer", "划拨基金")
    year = _year(year)
    amount = _amount(amount, words="划拨金额")
    ref = (ref or "").strip()
    if not ref:
        raise NcmsError("请填写划拨业务号", code="missing_ref")
    if date is None:
        raise NcmsError("请填写划拨日期", code="missing_date")
    accounts = chart_ensure()
    balances = lock_balances(accounts, [SPECIAL, EXPENDITURE], year)
    _check_ref(TransactionKind.TRANSFER, ref)
    available = balances[SPECIAL].balance
    if available < amount:
        reserve = AccountBalance.objects.filter(account=accounts[RESERVE], year=year).values_list(
            "balance", flat=True).first() or ZERO
        raise NcmsError(f"财政专户{year}年度可划拨余额 {available} 元（风险基金 {reserve} 元不可划拨），"
                        f"不足划拨 {amount} 元", code="insufficient_funds")
    return post(user=user, year=year, on=date, kind=TransactionKind.TRANSFER, ref=ref, memo=f"划拨支出户 {ref}",
                 accounts=accounts, balances=balances, movements=[(SPECIAL, -amount), (EXPENDITURE, amount)])


@transaction.atomic
def interest_return(*, user, year: int, date: date, amount, ref: str) -> LedgerTransaction:
    """The expenditure account's interest goes back to the special account (docs/rules.md, "The
    closed fund"): booked as interest earned on the expenditure account and returned to the
    special account in one transaction, so it is income of the year (with its reserve share) and
    never stays to be spent."""
    require_capability(user, "fund.transfer", "回缴利息")
    year = _year(year)
    amount = _amount(amount, words="利息金额")
    ref = (ref or "").strip()
    if not ref:
        raise NcmsError("请填写利息回缴业务号", code="missing_ref")
    accounts = chart_ensure()
    interest = income_code(IncomeSource.INTEREST)
    balances = lock_balances(accounts, [SPECIAL, RESERVE, EXPENDITURE, interest], year)
    share = _reserve_share(year=year, balances=balances, extra_income=amount)
    return post(user=user, year=year, on=date, kind=TransactionKind.INTEREST_RETURN, ref=ref, memo=f"支出户利息回缴 {ref}",
                 accounts=accounts, balances=balances,
                 movements=[(EXPENDITURE, amount), (interest, -amount), (SPECIAL, amount), (EXPENDITURE, -amount),
                            (SPECIAL, -share), (RESERVE, share)])


# --- corrections -------------------------------------------------------------------------------


@transaction.atomic
def transaction_reverse(*, user, transaction: LedgerTransaction, memo: str, date: date | None = None
                        ) -> LedgerTransaction:
    """Correct a booked transaction by a new one with every line negated (nothing is ever
    edited or deleted). A reversal is not reversed again, a transaction at most once, and a
    payout never (a paid claim stays paid); the reversal must leave no money account negative."""
    require_capability(user, "fund.transfer", "冲销账务")
    memo = (memo or "").strip()
    if not memo:
        raise NcmsError("请说明冲销原因", code="missing_memo")
    original = LedgerTransaction.objects.select_for_update().get(pk=transaction.pk)
    if original.kind == TransactionKind.REVERSAL:
        raise NcmsError("冲销凭证不能再冲销", code="bad_reversal")
    if original.kind == TransactionKind.PAYOUT:
        raise NcmsError("补偿兑付不能冲销：已兑付的补偿申请保持已兑付", code="bad_reversal")
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise NcmsError(f"凭证 #{original.pk} 已经冲销过", code="already_reversed")
    lines = list(original.lines.select_related("account"))
    accounts = chart_ensure()
    movements = [(line.account.code, -line.amount) for line in lines]
    income_change = -sum((amount for code, amount in movements if code in INCOME_CODES), ZERO)
    codes = {code for code, _ in movements} | ({SPECIAL, RESERVE} if income_change else set())
    balances = lock_balances(accounts, codes, original.year)
    if income_change:
        # Mirroring the original's reserve share alone can leave the reserve a fen off
        # round(rate × the year's remaining income); the reversal settles that fen too.
        mirrored = sum((amount for code, amount in movements if code == RESERVE), ZERO)
        share = _reserve_share(year=original.year, balances=balances, extra_income=income_change) - mirrored
        movements += [(SPECIAL, -share), (RESERVE, share)]
    return post(user=user, year=original.year, on=date or timezone.localdate(), kind=TransactionKind.REVERSAL,
                 ref=f"reverse:{original.pk}", memo=f"冲销 #{original.pk}：{memo}", accounts=accounts,
                 balances=balances, reverses=original, movements=movements)
