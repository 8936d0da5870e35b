"""Facilities' monthly settlement statements (结算单; docs/rules.md, "Money flow"; docs/contract.md,
`facility_statement`, `pay_statement`).

A statement of facility F for month M of year Y holds F's approved, unpaid, facility-channel claims
discharged on or before M's last day, and withholds F's recoveries (facility-channel claims) and
deductible inspection penalties dated on or before that day and not yet withheld:
net = compensation − penalties − recoveries. When that would be negative it withholds only up to
the compensation, recoveries first (oldest first), then penalties; the rest waits for the next
statement. A facility with nothing to pay and nothing withheld has no statement.

Paying (`statement_pay`) is one transaction: the facility's row lock first (two cashiers paying the
same facility run one after the other), then the claims' locks; the statement row with its claims
and withholdings; in the ledger each claim's payout in full (ref "claim:<id>", as the cashier's
batches book it, so `reconcile` matches claim by claim), and one withholding transaction
(ref "statement:<id>") crediting the withheld recoveries and penalties as fund income, so the net
is what leaves the expenditure account; the claims move to paid on the statement's date; each
inspection's `deducted_amount` grows by what was withheld of its penalty.
"""
from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from claims.models import Channel, Claim, ClaimStatus, Recovery
from claims.services import check_not_approver, claim_transition
from core.errors import NcmsError
from core.money import ZERO
from facilities.models import Facility
from ledger.models import COMPENSATION, EXPENDITURE, PENALTY, RECOVERED, TransactionKind
from ledger.services import chart_ensure, lock_balances, post, require_capability
from oversight.models import Inspection

from .models import FacilityStatement, StatementClaim, StatementWithholding
from .services import _paid_at

REF_MAX = 80


def month_last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _period(year, month) -> tuple[int, int]:
    try:
        year, month = int(year), int(month)
    except (TypeError, ValueError):
        raise NcmsError(f"年度「{year}」或月份「{month}」不正确", code="bad_period") from None
    if not 2000 <= year <= 2100 or not 1 <= month <= 12:
        raise NcmsError(f"年度「{year}」或月份「{month}」不正确：月份应为 1 到 12", code="bad_period")
    return year, month


@dataclass
class Withheld:
    """Part or all of one recovery or one inspection's penalty, withheld on a statement."""

    amount: Decimal
    recovery: Recovery | None = None
    inspection: Inspection | None = None

    @property
    def words(self) -> str:
        if self.recovery is not None:
            return f"追回 {self.recovery.claim.invoice_no}：{self.recovery.reason}"
        return f"{self.inspection.date:%Y-%m-%d} 监督检查扣罚：{self.inspection.findings[:60]}"


@dataclass
class Statement:
    """A statement as computed (unpaid) or as stored (paid)."""

    facility: Facility
    year: int
    month: int
    claims: list = field(default_factory=list)
    compensation: Decimal = ZERO
    penalties: Decimal = ZERO
    recoveries: Decimal = ZERO
    withheld: list[Withheld] = field(default_factory=list)
    stored: FacilityStatement | None = None

    @property
    def net(self) -> Decimal:
        return self.compensation - self.penalties - self.recoveries

    @property
    def paid(self) -> bool:
        return self.stored is not None

    @property
    def period_end(self) -> date:
        return month_last_day(self.year, self.month)

    def as_json(self) -> dict:
        """The contract's statement object."""
        return {"facility": self.facility.code, "year": self.year, "month": self.month,
                "claims": len(self.claims), "compensation": str(self.compensation),
                "penalties": str(self.penalties), "recoveries": str(self.recoveries), "net": str(self.net),
                "paid": self.paid}


def _withheld_so_far(model_field: str, ids) -> dict[int, Decimal]:
    rows = (StatementWithholding.objects.filter(**{f"{model_field}__in": ids}).values_list(model_field)
            .annotate(total=Sum("amount")).values_list(model_field, "total"))
    return {pk: total or ZERO for pk, total in rows}


def _outstanding_recoveries(facility: Facility, until: date) -> list[tuple[Recovery, Decimal]]:
    recoveries = list(Recovery.objects.filter(claim__facility=facility, claim__channel=Channel.FACILITY,
                                              date__lte=until)
                      .select_related("claim").order_by("date", "pk"))
    done = _withheld_so_far("recovery", [r.pk for r in recoveries])
    return [(r, r.amount - done.get(r.pk, ZERO)) for r in recoveries if r.amount - done.get(r.pk, ZERO) > ZERO]


def _outstanding_penalties(facility: Facility, until: date) -> list[tuple[Inspection, Decimal]]:
    inspections = (Inspection.objects.filter(facility=facility, deduct_from_settlements=True, date__lte=until,
                                             penalty_amount__gt=0).order_by("date", "pk"))
    return [(i, i.penalty_amount - i.deducted_amount) for i in inspections if i.penalty_amount > i.deducted_amount]


def _due_claims(facility: Facility, until: date):
    return (Claim.objects.filter(facility=facility, channel=Channel.FACILITY, status=ClaimStatus.APPROVED,
                                 discharge_date__lte=until)
            .select_related("member").order_by("discharge_date", "pk"))


def _compute(facility: Facility, year: int, month: int, claims=None) -> Statement | None:
    until = month_last_day(year, month)
    claims = list(_due_claims(facility, until)) if claims is None else claims
    statement = Statement(facility=facility, year=year, month=month, claims=claims,
                          compensation=sum((c.compensation for c in claims), ZERO))
    room = statement.compensation
    for recovery, left in _outstanding_recoveries(facility, until):
        take = min(left, room)
        if take > ZERO:
            statement.withheld.append(Withheld(amount=take, recovery=recovery))
            statement.recoveries += take
            room -= take
    for inspection, left in _outstanding_penalties(facility, until):
        take = min(left, room)
        if take > ZERO:
            statement.withheld.append(Withheld(amount=take, inspection=inspection))
            statement.penalties += take
            room -= take
    if not claims and not statement.withheld:
        return None
    return statement


def _from_stored(stored: FacilityStatement) -> Statement:
    lines = stored.lines.select_related("claim__member").order_by("claim__discharge_date", "claim_id")
    withheld = [Withheld(amount=w.amount, recovery=w.recovery, inspection=w.inspection)
                for w in stored.withholdings.select_related("recovery__claim", "inspection").order_by("pk")]
    return Statement(facility=stored.facility, year=stored.year, month=stored.month,
                     claims=[line.claim for line in lines], compensation=stored.compensation,
                     penalties=stored.penalties, recoveries=stored.recoveries, withheld=withheld, stored=stored)


def statement_compute(facility: Facility, year, month) -> Statement | None:
    """Facility's statement for the month: the stored one when paid, else as it stands now (or
    None: nothing to pay and nothing to withhold)."""
    year, month = _period(year, month)
    stored = FacilityStatement.objects.filter(facility=facility, year=year, month=month).first()
    if stored is not None:
        return _from_stored(stored)
    return _compute(facility, year, month)


def statements_for_month(year, month, *, facilities=None) -> list[Statement]:
    """Every facility's statement of the month (paid ones as stored), by facility code."""
    year, month = _period(year, month)
    facilities = Facility.objects.order_by("code") if facilities is None else facilities
    found = []
    for facility in facilities:
        statement = statement_compute(facility, year, month)
        if statement is not None:
            found.append(statement)
    return found


def _clean_ref(ref: str) -> str:
    ref = (ref or "").strip()
    if not ref:
        raise NcmsError("请填写业务号（如银行付款凭证号）", code="missing_ref")
    if len(ref) > REF_MAX:
        raise NcmsError(f"业务号最多 {REF_MAX} 个字符", code="bad_ref")
    return ref


@dataclass(frozen=True)
class StatementPayment:
    statement: Statement
    replayed: bool  # True: this ref was paid before; nothing was paid now


def _replay(ref: str, facility: Facility, year: int, month: int) -> StatementPayment | None:
    stored = FacilityStatement.objects.filter(ref=ref).first()
    if stored is None:
        return None
    if (stored.facility_id, stored.year, stored.month) != (facility.pk, year, month):
        raise NcmsError(f"业务号「{ref}」已用于 {stored.facility.code} {stored.year}年{stored.month}月的结算单，"
                        f"本次未支付", code="duplicate_ref")
    return StatementPayment(statement=_from_stored(stored), replayed=True)


def statement_pay(*, user, facility: Facility, year, month, on: date, ref: str) -> StatementPayment:
    """Pay the facility's statement of the month as one transfer on `on` (contract: pay_statement).

    The same `ref` again changes nothing and answers with the paid statement (`replayed`); the
    same statement under another ref is refused (`already_paid`), as is a month with nothing to
    pay, a claim the payer approved (separation of duties), or an expenditure account that does
    not cover the net. `user` None is the county office's command."""
    require_capability(user, "fund.pay", "支付结算单")
    year, month = _period(year, month)
    ref = _clean_ref(ref)
    if on is None:
        raise NcmsError("请填写支付日期", code="missing_date")
    try:
        with transaction.atomic():
            return _pay_locked(user=user, facility=facility, year=year, month=month, on=on, ref=ref)
    except IntegrityError:
        # a concurrent payment under the same ref committed first: answer with it; another
        # payment of the same statement committed first: refused as paid
        replay = _replay(ref, facility, year, month)
        if replay is not None:
            return replay
        if FacilityStatement.objects.filter(facility=facility, year=year, month=month).exists():
            raise NcmsError(f"{facility.code} {year}年{month}月的结算单已由他人支付，本次未支付",
                            code="already_paid") from None
        raise


def _pay_locked(*, user, facility: Facility, year: int, month: int, on: date, ref: str) -> StatementPayment:
    facility = Facility.objects.select_for_update().get(pk=facility.pk)
    replay = _replay(ref, facility, year, month)
    if replay is not None:
        return replay
    earlier = FacilityStatement.objects.filter(facility=facility, year=year, month=month).first()
    if earlier is not None:
        raise NcmsError(f"{facility.code} {year}年{month}月的结算单已于 {earlier.paid_on:%Y-%m-%d} 支付"
                        f"（业务号 {earlier.ref}），不能重复支付", code="already_paid")
    until = month_last_day(year, month)
    ids = list(_due_claims(facility, until).values_list("pk", flat=True))
    claims = list(Claim.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    claims = [c for c in claims if c.status == ClaimStatus.APPROVED]  # re-read under the locks
    statement = _compute(facility, year, month, claims=claims)
    if statement is None:
        raise NcmsError(f"{facility.code} {year}年{month}月没有待支付的结算单", code="nothing_to_pay")
    if user is not None:
        check_not_approver(user, claims)
    on_date, at = _paid_at(on)
    stored = FacilityStatement.objects.create(
        facility=facility, year=year, month=month, ref=ref, claims_count=len(claims),
        compensation=statement.compensation, penalties=statement.penalties, recoveries=statement.recoveries,
        net=statement.net, paid_on=on_date, bank_name=facility.bank_name, bank_account=facility.bank_account,
        paid_by=user)
    StatementClaim.objects.bulk_create([StatementClaim(statement=stored, claim=c, compensation=c.compensation)
                                        for c in claims])
    StatementWithholding.objects.bulk_create([
        StatementWithholding(statement=stored, recovery=w.recovery, inspection=w.inspection, amount=w.amount)
        for w in statement.withheld])
    _book(user=user, stored=stored, statement=statement, claims=claims, on=on_date)
    for claim in claims:
        claim_transition(user=user, claim=claim, action="pay", at=at,
                         note=f"结算单 {facility.code} {year}年{month}月（业务号 {ref}）")
    for w in statement.withheld:
        if w.inspection is not None:
            inspection = Inspection.objects.select_for_update().get(pk=w.inspection.pk)
            inspection.deducted_amount += w.amount
            inspection._history_user = user
            inspection._change_reason = f"结算单 {facility.code} {year}年{month}月扣减"
            inspection.save(update_fields=["deducted_amount"])
    statement.stored = stored
    return StatementPayment(statement=_from_stored(stored), replayed=False)


def _book(*, user, stored: FacilityStatement, statement: Statement, claims, on: date) -> None:
    """The ledger of a statement: withheld amounts back as income first, then every claim in full."""
    accounts = chart_ensure()
    by_year: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for claim in claims:
        by_year[claim.year] += claim.compensation
    years = sorted(set(by_year) | {stored.year})
    balances = {y: lock_balances(accounts, [COMPENSATION, EXPENDITURE, PENALTY, RECOVERED], y) for y in years}
    withheld = statement.penalties + statement.recoveries
    if withheld > ZERO:
        post(user=user, year=stored.year, on=on, kind=TransactionKind.WITHHOLDING, ref=f"statement:{stored.pk}",
             memo=f"结算单 {stored.facility.code} {stored.year}年{stored.month}月 扣回 {withheld} 元",
             accounts=accounts, balances=balances[stored.year],
             movements=[(EXPENDITURE, withheld), (RECOVERED, -statement.recoveries),
                        (PENALTY, -statement.penalties)])
    for year in sorted(by_year):
        available = balances[year][EXPENDITURE].balance
        if available < by_year[year]:
            raise NcmsError(f"支出户{year}年度余额 {available} 元，不足支付结算单中该年度的补偿 {by_year[year]} 元"
                            f"（实付 {statement.net} 元），本次未支付", code="insufficient_funds")
    for claim in claims:
        if claim.compensation > ZERO:
            post(user=user, year=claim.year, on=on, kind=TransactionKind.PAYOUT, ref=f"claim:{claim.pk}",
                 memo=f"结算单兑付 {stored.facility.code} {claim.invoice_no}", accounts=accounts,
                 balances=balances[claim.year],
                 movements=[(EXPENDITURE, -claim.compensation), (COMPENSATION, claim.compensation)])


__all__ = ["Statement", "StatementPayment", "Withheld", "month_last_day", "statement_compute", "statement_pay",
           "statements_for_month"]
