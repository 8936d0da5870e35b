"""Importing historical or batch claims, the engine of `import_claims` (docs/contract.md, "Commands").

A line is a quote_claims input line plus `"status"` (`submitted`, `approved` or `paid`) and, for
paid ones, `"paid_date"`. The file is taken whole or not at all:

1. Reading (`_read`): every line is parsed; a line that is not JSON, a missing or malformed fact
   (`claims.eligibility.parse_facts`), a missing invoice number, a bad status, a paid line without
   `paid_date` (or an unpaid line with one), a paid date before the discharge or after today, and
   the same (facility, invoice) twice in the file are listed, each as
   `第{n}行 {field}「{value}」：{reason}` (n: the line of the file, the first line is 1).
2. Checking (`_check`): the lines that read well are checked and valued per scheme year by the
   same engine as quote_claims (`claims.quoting.BatchQuoter`), in chronological order (see 4), so
   a refusal carries the contract's code (`not_enrolled`, `duplicate_invoice`, `bad_dates` for
   a discharge after today, `bad_amounts` for a total cost above the ceiling, ...) and a
   member's annual cap is consumed line after line on top of what the database holds.
3. The expenditure account by date (`expenditure_shortfall`): the expenditure account is kept per
   scheme year; for each year with paid lines, every movement of that year's expenditure account
   already booked (transfers in, payouts out, interest, reversals — whatever their date) and the
   payouts the file would book on their paid dates are summed per date; the running balance at
   the end of each date (all movements of a date count together, so a transfer and a payout of
   the same day net out) must not be below zero on the first paid date of the file or any date
   after it. Otherwise the file is refused, naming the year, the first such date and the
   shortfall. A payout dated before a transfer that is already booked is refused even though
   today's balance would cover it, and a payout that would overdraw a later payout already booked
   is refused as well.
4. Writing (`claims_import`), in ONE transaction, through the same services as the pages:
   claims are submitted (`claim_submit`, channel facility: historical claims are not held to the
   township office's deadline counted from today) in order of discharge date, then admission
   date, then line number — the order they would have been brought in — so the annual cap is
   consumed in that order; approved and paid lines are reviewed (`claim_review`) and approved
   (`claims_bulk_approve`); the expenditure check of 3 runs again on the stored compensation; the
   paid lines are paid per paid date in date order (`fund.services.claims_pay_batch` with
   `paid_date`: ledger transactions dated on the paid date, `paid_at` noon of that day). Any
   refusal raises `ImportInvalid` and rolls everything back: no claim, no event, no ledger line.

Who: three system users, created on demand, without a usable password (nobody can log in as
them; they stay active because the services check the capability of an active user), stand for the import in every record — claim fields, `ClaimEvent.user`, the
history tables and `LedgerTransaction.created_by`:
`import` (role reviewer: submits and reviews), `import-approver` (role approver: approves) and
`import-cashier` (role cashier: pays). Review and approval are by two different users, so the
services' rule "the approver is never the reviewer" holds for imported claims as for any other,
and each actor has exactly the capability its step requires. The events of submission, review
and approval carry the time of the import (the services stamp them); the payment carries its
paid date.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from claims.eligibility import ClaimFacts, parse_facts
from claims.models import Channel, Claim, ClaimStatus
from claims.quoting import BatchQuoter
from claims.services import claim_review, claim_submit, claims_bulk_approve
from core.errors import NcmsError
from core.money import ZERO, to_fen
from core.statistics import refresh_statistics
from ledger.models import EXPENDITURE, LedgerLine

from .services import claims_pay_batch

STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.PAID)
CHUNK = 2000

# what parse_facts calls each field, to name the field of its refusal
_FIELD_WORDS = [
    ("目录外", "non_reimbursable_cost"), ("住院总费用", "total_cost"), ("入院日期", "admission_date"),
    ("出院日期", "discharge_date"), ("身份证号", "id_number"), ("机构代码", "facility"),
    ("发票号", "invoice_no"), ("是否转诊", "referred"), ("分娩方式", "delivery"),
    ("诊断编码", "diagnosis"), ("诊断", "diagnosis_text"), ("转诊单号", "referral_no"),
]
_CODE_FIELDS = {
    "not_enrolled": "id_number", "not_yet_covered": "admission_date", "member_deceased": "admission_date", "unknown_member": "id_number",
    "unknown_facility": "facility", "facility_suspended": "facility", "facility_not_designated": "admission_date",
    "duplicate_invoice": "invoice_no", "overlapping_stay": "admission_date", "bad_dates": "discharge_date",
    "no_policy": "discharge_date", "bad_amounts": "total_cost", "bad_referral": "referral_no",
}

# the system users of an import: step → (username, role, full name)
SYSTEM_USERS = {
    "review": ("import", "reviewer", "批量导入"),
    "approve": ("import-approver", "approver", "批量导入（审批）"),
    "pay": ("import-cashier", "cashier", "批量导入（兑付）"),
}


@dataclass(frozen=True)
class LineError:
    """One thing wrong in the file: its line (0: the file as a whole), field, value, reason."""

    line: int
    field: str
    value: object
    reason: str
    code: str = "bad_input"

    def __str__(self) -> str:
        value = "" if self.value is None else self.value
        if isinstance(value, (dict, list, bool)):
            value = json.dumps(value, ensure_ascii=False)
        where = f"第{self.line}行 " if self.line else ""
        subject = f"{self.field}「{value}」：" if self.field else ""
        return f"{where}{subject}{self.reason}"


class ImportInvalid(NcmsError):
    """The file is refused whole; `errors` lists every problem found."""

    def __init__(self, errors: list[LineError], message: str = "文件有误，未导入任何申请"):
        super().__init__(message, code="import_invalid")
        self.errors = errors


@dataclass
class ImportLine:
    number: int
    data: dict
    facts: ClaimFacts
    status: str
    paid_date: date | None
    compensation: Decimal = ZERO
    channel: str = Channel.FACILITY

    @property
    def order(self) -> tuple:
        return (self.facts.discharge_date, self.facts.admission_date, self.number)


@dataclass
class ImportSummary:
    lines: int = 0
    by_status: dict = field(default_factory=dict)
    compensation: Decimal = ZERO
    paid: Decimal = ZERO
    paid_dates: int = 0


# ---------------------------------------------------------------------------------------------
# 1. Reading


def _field_of(error: NcmsError) -> str:
    for word, key in _FIELD_WORDS:
        if f"（{key}）" in error.message:
            return key
    for word, key in _FIELD_WORDS:
        if word in error.message:
            return key
    return _CODE_FIELDS.get(error.code, "")


def _paid_date(number: int, data: dict, status: str, facts: ClaimFacts | None, today: date,
               errors: list[LineError]) -> date | None:
    raw = data.get("paid_date")
    if status != ClaimStatus.PAID:
        if raw is not None:
            errors.append(LineError(number, "paid_date", raw, f"状态为 {status} 的申请尚未兑付，不应填写兑付日期",
                                    "bad_dates"))
        return None
    if raw is None or raw == "":
        errors.append(LineError(number, "paid_date", "", "状态为 paid（已兑付）时必须填写兑付日期", "bad_dates"))
        return None
    if not isinstance(raw, str) or len(raw) != 10 or raw[4] != "-" or raw[7] != "-":
        errors.append(LineError(number, "paid_date", raw, "兑付日期应写成 YYYY-MM-DD", "bad_dates"))
        return None
    try:
        paid = date.fromisoformat(raw)
    except ValueError:
        errors.append(LineError(number, "paid_date", raw, "不是有效的日期", "bad_dates"))
        return None
    if facts is not None and paid < facts.discharge_date:
        errors.append(LineError(number, "paid_date", raw, f"兑付日期早于出院日期 {facts.discharge_date}", "bad_dates"))
        return None
    if paid > today:
        errors.append(LineError(number, "paid_date", raw, f"兑付日期晚于今天（{today}）", "bad_dates"))
        return None
    return paid


def _read(text: str, today: date) -> tuple[list[ImportLine], list[LineError]]:
    lines: list[ImportLine] = []
    errors: list[LineError] = []
    seen_invoices: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError as exc:
            errors.append(LineError(number, "", None, f"不是有效的 JSON（{exc.msg}，第{exc.colno}个字符）"))
            continue
        if not isinstance(data, dict):
            errors.append(LineError(number, "", None, "每一行应为一个 JSON 对象 {...}"))
            continue
        found: list[LineError] = []
        facts = None
        try:
            facts = parse_facts(data)
        except NcmsError as error:
            key = _field_of(error)
            found.append(LineError(number, key, data.get(key) if key else None, error.message, error.code))
        if facts is not None and not facts.invoice_no:
            found.append(LineError(number, "invoice_no", data.get("invoice_no"), "导入的申请必须填写发票号"))
        status = data.get("status")
        if status not in STATUSES:
            reason = "缺少状态" if status in (None, "") else "状态不正确"
            found.append(LineError(number, "status", status, f"{reason}，应为 submitted、approved 或 paid"))
            status = None
        paid = _paid_date(number, data, status, facts, today, found) if status else None
        channel = data.get("channel", Channel.FACILITY)
        if channel not in (Channel.FACILITY, Channel.TOWNSHIP):
            found.append(LineError(number, "channel", channel,
                                   "报销渠道不正确，应为 facility（机构即时结报）或 township（乡镇回乡报销）"))
        if facts is not None and facts.invoice_no:
            key = (facts.facility, facts.invoice_no)
            first = seen_invoices.setdefault(key, number)
            if first != number:
                found.append(LineError(number, "invoice_no", facts.invoice_no,
                                       f"与第{first}行重复：同一机构 {facts.facility} 的同一发票号只能报销一次",
                                       "duplicate_invoice"))
        if found:
            errors.extend(found)
            continue
        lines.append(ImportLine(number=number, data=data, facts=facts, status=status, paid_date=paid,
                                channel=channel))
    return lines, errors


# ---------------------------------------------------------------------------------------------
# 2. Checking and valuing, as quote_claims does


def _check(lines: list[ImportLine], today: date) -> list[LineError]:
    """Check and value every line by its year's policy, in chronological order within a year;
    sets each line's `compensation`. A line discharged after `today` is refused (`bad_dates`)."""

    errors: list[LineError] = []
    by_year: dict[int, list[ImportLine]] = defaultdict(list)
    for item in lines:
        by_year[item.facts.year].append(item)
    for year in sorted(by_year):
        quoter = BatchQuoter(year, today=today)
        ordered = sorted(by_year[year], key=lambda item: item.order)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start:start + CHUNK]
            texts = [json.dumps({**item.data, "ref": item.number}, ensure_ascii=False) for item in chunk]
            for item, result in zip(chunk, quoter.quote_chunk(texts), strict=True):
                if result["ok"]:
                    item.compensation = Decimal(result["compensation"])
                    continue
                code = result["error"]
                key = _CODE_FIELDS.get(code, "")
                errors.append(LineError(item.number, key, item.data.get(key) if key else None,
                                        f"{result['message']}（{code}）", code))
    errors.sort(key=lambda error: error.line)
    return errors


# ---------------------------------------------------------------------------------------------
# 3. The expenditure account, date by date


def expenditure_shortfall(payouts: dict[tuple[int, date], Decimal]):
    """The first (year, date, balance) at which the expenditure account of a scheme year would end
    the day below zero, were `payouts` ({(year, paid date): amount}) booked on their dates on top
    of every movement of that account already booked; None when it never would. Dates before the
    first new payout of a year are not judged (nothing of this import changes them)."""

    for year in sorted({year for year, _ in payouts}):
        changes: dict[date, Decimal] = defaultdict(lambda: ZERO)
        booked = (LedgerLine.objects.filter(account__code=EXPENDITURE, transaction__year=year)
                  .values_list("transaction__date").annotate(total=Sum("amount")).order_by())
        for on, total in booked.values_list("transaction__date", "total"):
            changes[on] += to_fen(total or ZERO)
        mine = {on: amount for (y, on), amount in payouts.items() if y == year and amount > ZERO}
        if not mine:
            continue
        for on, amount in mine.items():
            changes[on] -= amount
        first = min(mine)
        running = ZERO
        for on in sorted(changes):
            running += changes[on]
            if on >= first and running < ZERO:
                return year, on, running
    return None


def _payouts(lines: list[ImportLine], amount_of) -> dict[tuple[int, date], Decimal]:
    payouts: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    for item in lines:
        if item.status == ClaimStatus.PAID:
            payouts[(item.facts.year, item.paid_date)] += amount_of(item)
    return payouts


def _shortfall_error(lines: list[ImportLine], payouts) -> LineError | None:
    found = expenditure_shortfall(payouts)
    if found is None:
        return None
    year, on, balance = found
    numbers = [str(item.number) for item in lines
               if item.status == ClaimStatus.PAID and item.facts.year == year and item.paid_date <= on]
    shown = "、".join(numbers[:20]) + ("等" if len(numbers) > 20 else "")
    return LineError(
        0, "", None,
        f"{year}年度支出户余额不足：按兑付日期记账后，{on} 当日结束时余额将为 {balance} 元，"
        f"缺少 {-balance} 元（截至该日兑付的导入申请：第{shown}行）。请先把资金划拨到支出户"
        f"（划拨日期不晚于兑付日期），整个文件未导入", "insufficient_funds")


# ---------------------------------------------------------------------------------------------
# 4. Writing


def system_users() -> dict[str, object]:
    """The import's actors by step, created on demand (no usable password: nobody logs in as them)."""

    actors = {}
    for step, (username, role, full_name) in SYSTEM_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, role=role, full_name=full_name)
            user.set_unusable_password()
            user.save()
        actors[step] = user
    return actors


def _numbered(item: ImportLine, error: NcmsError) -> ImportInvalid:
    key = _CODE_FIELDS.get(error.code, "")
    return ImportInvalid([LineError(item.number, key, item.data.get(key) if key else None,
                                    f"{error.message}（{error.code}）", error.code)])


def claims_import(*, text: str, today: date | None = None) -> ImportSummary:
    """Import the claims of a JSON-lines file (text) whole, or raise `ImportInvalid` having
    written nothing."""
    today = today or timezone.localdate()
    lines, errors = _read(text, today)
    if not lines and not errors:
        raise ImportInvalid([LineError(0, "", None, "文件中没有任何申请")], "文件为空，未导入任何申请")
    errors += _check(lines, today)
    if errors:
        errors.sort(key=lambda error: error.line)
        raise ImportInvalid(errors, f"文件有 {len({e.line for e in errors})} 行有误，未导入任何申请")
    problem = _shortfall_error(lines, _payouts(lines, lambda item: item.compensation))
    if problem is not None:
        raise ImportInvalid([problem], "支出户余额不足，未导入任何申请")
    return _write(lines)


@transaction.atomic
def _write(lines: list[ImportLine]) -> ImportSummary:


    actors = system_users()
    claims: dict[int, Claim] = {}
    to_approve = []
    for item in sorted(lines, key=lambda item: item.order):
        try:
            claim = claim_submit(user=actors["review"], facts=item.facts, channel=item.channel, historical=True)
            if item.status in (ClaimStatus.APPROVED, ClaimStatus.PAID):
                claim = claim_review(user=actors["review"], claim=claim)
                to_approve.append(claim)
        except NcmsError as error:
            raise _numbered(item, error) from None
        claims[item.number] = claim
    if to_approve:
        claims_bulk_approve(user=actors["approve"], claims=to_approve)
    paid_lines = [item for item in lines if item.status == ClaimStatus.PAID]
    payouts = _payouts(paid_lines, lambda item: claims[item.number].compensation)
    problem = _shortfall_error(paid_lines, payouts)
    if problem is not None:
        raise ImportInvalid([problem], "支出户余额不足，未导入任何申请")
    by_date: dict[date, list[Claim]] = defaultdict(list)
    for item in paid_lines:
        by_date[item.paid_date].append(claims[item.number])
    for on in sorted(by_date):
        # a paid line was paid to its payee on its paid date: the household (township channel) or
        # the facility (facility channel, as its statement would have)
        claims_pay_batch(user=actors["pay"], claims=by_date[on], paid_date=on, to_facility=True)
    summary = ImportSummary(lines=len(lines), paid_dates=len(by_date))
    for item in lines:
        summary.by_status[item.status] = summary.by_status.get(item.status, 0) + 1
        summary.compensation += claims[item.number].compensation
    summary.paid = sum(payouts.values(), ZERO)
    # a historical import can double the claims table: the quotes and the reports that follow
    # find claims by member, facility and invoice
    refresh_statistics([
        (Claim._meta.db_table, ["id", "member_id", "year", "status", "facility_id", "invoice_no"], len(lines)),
    ])
    return summary
