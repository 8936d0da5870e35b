"""Writes to the designated-facility registry (定点医疗机构).

`facilities_import` implements the contract's "Facility file": one row per facility, matched by
code; importing again updates the facility. All or nothing, every invalid row listed. Each created
or changed facility is saved one by one so django-simple-history records who, when and why.

`facility_suspend` / `facility_reinstate` / `facility_agreement_change` are the registry's own
changes, each saved with its user and a change reason that names the date and the written reason.
`inspection_record` and `inspection_document_add` record inspections (监督检查) with their
penalty and documents.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from django.db import transaction

from core.errors import NcmsError
from core.tabular import NumericCell, RowError, Table, TableInvalid, code_cell, map_headers, read_table
from places.models import Township
from places.rules import is_township_code

from .models import Facility, FacilityStatus, Level

CODE_MAX, NAME_MAX, REASON_MAX = 20, 100, 200

# field, accepted headers (English first, as the contract names them), required
FACILITY_COLUMNS: list[tuple[str, tuple[str, ...], bool]] = [
    ("code", ("code", "机构代码"), True),
    ("name", ("name", "机构名称"), True),
    ("level", ("level", "级别"), True),
    ("township_code", ("township_code", "所在乡镇代码", "乡镇代码"), True),
    ("agreement_start", ("agreement_start", "协议开始日期"), True),
    ("agreement_end", ("agreement_end", "协议结束日期"), True),
    ("status", ("status", "状态"), True),
    # optional: the suspension's date and reason when status is suspended
    ("suspended_from", ("suspended_from", "暂停日期"), False),
    ("suspension_reason", ("suspension_reason", "暂停原因"), False),
    # optional: where its settlement statements are paid
    ("bank_name", ("bank_name", "开户银行"), False),
    ("bank_account", ("bank_account", "银行账号"), False),
]

LEVELS: dict[str, str] = {
    "township": Level.TOWNSHIP, "county": Level.COUNTY,
    "municipal": Level.MUNICIPAL, "provincial": Level.PROVINCIAL,
    "乡镇卫生院": Level.TOWNSHIP, "乡镇": Level.TOWNSHIP, "乡级": Level.TOWNSHIP,
    "县级医院": Level.COUNTY, "县级": Level.COUNTY,
    "县外市级医院": Level.MUNICIPAL, "市级医院": Level.MUNICIPAL, "市级": Level.MUNICIPAL,
    "省级医院": Level.PROVINCIAL, "省级": Level.PROVINCIAL,
}
STATUSES: dict[str, str] = {
    "active": FacilityStatus.ACTIVE, "正常": FacilityStatus.ACTIVE,
    "suspended": FacilityStatus.SUSPENDED, "暂停": FacilityStatus.SUSPENDED,
}
# Township health centres and county hospitals stand in a township of the county; municipal and
# provincial hospitals lie outside it, so their township may be blank.
LEVELS_NEEDING_TOWNSHIP = {Level.TOWNSHIP, Level.COUNTY}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BANK_NAME_MAX = 60
BANK_ACCOUNT = re.compile(r"[0-9]{8,32}")

UPDATED_FIELDS = [
    "name", "level", "township", "agreement_start", "agreement_end",
    "status", "suspended_from", "suspension_reason", "bank_name", "bank_account",
]


@dataclass(frozen=True)
class FacilityRow:
    row: int
    code: str
    name: str
    level: str
    township_code: str  # "" when blank
    agreement_start: date
    agreement_end: date
    status: str
    suspended_from: date | None
    suspension_reason: str | None  # None when the file has no such column (keep what is stored)
    has_suspended_from: bool
    bank_name: str | None = None  # None when the file has no such column (keep what is stored)
    bank_account: str | None = None


@dataclass
class FacilityImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _iso_date(text: str) -> date:
    value = text.strip()
    if not value:
        raise ValueError("不能为空")
    if not _ISO_DATE.match(value):
        raise ValueError("日期格式应为 YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("不是真实存在的日期") from exc


def _validate(table: Table, known_townships: set[str]) -> tuple[list[FacilityRow], list[RowError]]:
    index, header, errors = map_headers(table, FACILITY_COLUMNS)
    if errors:
        return [], errors
    rows: list[FacilityRow] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(table.rows):
        number = offset + 2
        if not any(cell.strip() for cell in cells):
            continue
        raw = {field: cells[i] if i < len(cells) else "" for field, i in index.items()}
        row_errors: list[RowError] = []

        def refuse(field: str, reason: str) -> None:
            row_errors.append(RowError(number, header[field], raw[field], reason))

        code = code_cell(raw["code"])
        if not code:
            refuse("code", "机构代码不能为空")
        elif len(code) > CODE_MAX or re.search(r"\s", code):
            refuse("code", f"机构代码不能含空格，且不能超过{CODE_MAX}个字符")
        elif code in seen:
            refuse("code", f"机构代码与第{seen[code]}行重复")
        name = raw["name"].strip()
        if not name:
            refuse("name", "机构名称不能为空")
        elif len(name) > NAME_MAX:
            refuse("name", f"机构名称不能超过{NAME_MAX}个字")
        level = LEVELS.get(raw["level"].strip().lower()) or LEVELS.get(raw["level"].strip())
        if level is None:
            refuse("level", "级别应为 township、county、municipal、provincial 之一"
                            "（或 乡镇卫生院、县级医院、县外市级医院、省级医院）")
        township_code = code_cell(raw["township_code"])
        if not township_code:
            if level in LEVELS_NEEDING_TOWNSHIP:
                refuse("township_code", "乡镇卫生院和县级医院必须填写所在乡镇代码")
        elif not is_township_code(township_code):
            refuse("township_code", "乡镇代码必须是9位数字")
        elif township_code not in known_townships:
            refuse("township_code", "系统中没有这个乡镇，请先导入乡镇村人口文件")
        start = end = None
        try:
            start = _iso_date(raw["agreement_start"])
        except ValueError as exc:
            refuse("agreement_start", f"协议开始日期{exc}")
        try:
            end = _iso_date(raw["agreement_end"])
        except ValueError as exc:
            refuse("agreement_end", f"协议结束日期{exc}")
        if start and end and end < start:
            refuse("agreement_end", f"协议结束日期早于开始日期 {start.isoformat()}")
        status = STATUSES.get(raw["status"].strip().lower()) or STATUSES.get(raw["status"].strip())
        if status is None:
            refuse("status", "状态应为 active 或 suspended（或 正常、暂停）")
        suspended_from = None
        has_suspended_from = "suspended_from" in raw
        if has_suspended_from and raw["suspended_from"].strip():
            try:
                suspended_from = _iso_date(raw["suspended_from"])
            except ValueError as exc:
                refuse("suspended_from", f"暂停日期{exc}")
        reason = raw["suspension_reason"].strip() if "suspension_reason" in raw else None
        if reason and len(reason) > REASON_MAX:
            refuse("suspension_reason", f"暂停原因不能超过{REASON_MAX}个字")
        bank_name = raw["bank_name"].strip() if "bank_name" in raw else None
        if bank_name and len(bank_name) > BANK_NAME_MAX:
            refuse("bank_name", f"开户银行不能超过{BANK_NAME_MAX}个字")
        bank_account = None
        if "bank_account" in raw:
            bank_account = code_cell(raw["bank_account"]).replace(" ", "")
            if isinstance(raw["bank_account"], NumericCell) and bank_account:
                # a spreadsheet keeps 15 significant digits: a longer account is already wrong
                refuse("bank_account", "银行账号被表格软件存成了数字，末几位可能已丢失；请把该列设置为“文本”格式后重新填写")
            elif bank_account and not BANK_ACCOUNT.fullmatch(bank_account):
                refuse("bank_account", "银行账号应为8至32位数字（可含空格分组）")

        if row_errors:
            errors.extend(row_errors)
            continue
        seen[code] = number
        rows.append(FacilityRow(number, code, name, level, township_code, start, end, status,
                                suspended_from, reason, has_suspended_from, bank_name, bank_account))
    if not rows and not errors:
        errors.append(RowError(0, "", "", "文件中没有数据行"))
    return rows, errors


def _apply(facility: Facility, row: FacilityRow, township: Township | None) -> None:
    facility.name = row.name
    facility.level = row.level
    facility.township = township
    facility.agreement_start = row.agreement_start
    facility.agreement_end = row.agreement_end
    facility.status = row.status
    if row.status == FacilityStatus.ACTIVE:
        # reinstated (or never suspended): the suspension lives on only in the history
        facility.suspended_from = None
        facility.suspension_reason = ""
    else:
        if row.has_suspended_from:
            facility.suspended_from = row.suspended_from
        if row.suspension_reason is not None:
            facility.suspension_reason = row.suspension_reason
    if row.bank_name is not None:
        facility.bank_name = row.bank_name
    if row.bank_account is not None:
        facility.bank_account = row.bank_account


def _snapshot(facility: Facility) -> tuple:
    return tuple(getattr(facility, "township_id" if f == "township" else f) for f in UPDATED_FIELDS)


@transaction.atomic
def facilities_import(*, data: bytes, filename: str, user=None) -> FacilityImportSummary:
    """Create or update designated facilities from a facility file (matched by code).

    Refuses the whole file (TableInvalid, nothing written) when any row is invalid. Each change
    is saved on its own so the history records it, with `user` (None from the command line).
    """
    table = read_table(data, filename)
    townships = {t.code: t for t in Township.objects.all()}
    rows, errors = _validate(table, set(townships))
    if errors:
        raise TableInvalid(errors, what="定点医疗机构文件")

    summary = FacilityImportSummary(rows=len(rows))
    existing = {
        f.code: f
        for f in Facility.objects.select_for_update().order_by("pk").filter(code__in=[r.code for r in rows])
    }
    reason = f"导入定点医疗机构文件 {filename}"
    for row in rows:
        township = townships.get(row.township_code) if row.township_code else None
        facility = existing.get(row.code)
        if facility is None:
            facility = Facility(code=row.code)
            _apply(facility, row, township)
            summary.created += 1
        else:
            before = _snapshot(facility)
            _apply(facility, row, township)
            if _snapshot(facility) == before:
                summary.unchanged += 1
                continue
            summary.updated += 1
        facility._history_user = user
        facility._change_reason = reason
        facility.save()
    return summary



# --- suspension, reinstatement, agreement period -------------------------------------------------


def _locked(facility: Facility) -> Facility:
    return Facility.objects.select_for_update().get(pk=facility.pk)


def _reason_text(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise NcmsError(f"请写明{what}原因", code="reason_required")
    if len(text) > REASON_MAX:
        raise NcmsError(f"{what}原因不能超过{REASON_MAX}个字", code="reason_too_long")
    return text


def _save_with_history(facility: Facility, *, user, reason: str, fields: list[str]) -> None:
    facility._history_user = user
    facility._change_reason = reason
    facility.save(update_fields=fields)


@transaction.atomic
def facility_suspend(*, user, facility: Facility, from_date: date, reason: str) -> Facility:
    """Suspend a facility's designation from `from_date` (暂停定点资格).

    Scheme rule: a suspended facility settles no claim admitted on or after that date
    (claims.eligibility refuses it with `facility_suspended`); claims admitted before stay
    settleable. The history records who, when, the date and the reason.
    """
    text = _reason_text(reason, "暂停")
    if from_date is None:
        raise NcmsError("请填写暂停日期", code="bad_dates")
    facility = _locked(facility)
    if facility.status == FacilityStatus.SUSPENDED:
        since = facility.suspended_from.isoformat() if facility.suspended_from else "—"
        raise NcmsError(f"{facility.name} 已自 {since} 起暂停，请先恢复再重新暂停", code="already_suspended")
    facility.status = FacilityStatus.SUSPENDED
    facility.suspended_from = from_date
    facility.suspension_reason = text
    _save_with_history(facility, user=user, reason=f"自 {from_date.isoformat()} 起暂停：{text}",
                       fields=["status", "suspended_from", "suspension_reason"])
    return facility


@transaction.atomic
def facility_reinstate(*, user, facility: Facility, on_date: date, reason: str) -> Facility:
    """Lift a facility's suspension (恢复定点资格) as of `on_date`.

    Stays admitted from `on_date` on settle again; the suspended days [suspended_from, on_date)
    are kept in `past_suspensions`, so a stay admitted in them is still refused. The suspension
    also lives on in the history, with the reinstatement's date and reason in the change reason.
    """
    text = _reason_text(reason, "恢复")
    if on_date is None:
        raise NcmsError("请填写恢复日期", code="bad_dates")
    facility = _locked(facility)
    if facility.status != FacilityStatus.SUSPENDED:
        raise NcmsError(f"{facility.name} 未被暂停，无需恢复", code="not_suspended")
    if facility.suspended_from and on_date < facility.suspended_from:
        raise NcmsError(f"恢复日期 {on_date.isoformat()} 早于暂停日期 {facility.suspended_from.isoformat()}",
                        code="bad_dates")
    if facility.suspended_from and on_date > facility.suspended_from:
        # the suspended days stay suspended: stays admitted in them are still refused
        facility.past_suspensions = [*facility.past_suspensions, {
            "from": facility.suspended_from.isoformat(), "until": on_date.isoformat(),
            "reason": facility.suspension_reason}]
    facility.status = FacilityStatus.ACTIVE
    facility.suspended_from = None
    facility.suspension_reason = ""
    _save_with_history(facility, user=user, reason=f"自 {on_date.isoformat()} 起恢复：{text}",
                       fields=["status", "suspended_from", "suspension_reason", "past_suspensions"])
    return facility


@transaction.atomic
def facility_agreement_change(*, user, facility: Facility, start: date, end: date, reason: str) -> Facility:
    """Change a facility's agreement period (定点协议期): claims admitted outside it are refused
    with `facility_not_designated`."""
    text = _reason_text(reason, "变更")
    if start is None or end is None:
        raise NcmsError("请填写协议开始和结束日期", code="bad_dates")
    if end < start:
        raise NcmsError(f"协议结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}", code="bad_dates")
    facility = _locked(facility)
    if (facility.agreement_start, facility.agreement_end) == (start, end):
        raise NcmsError("协议期没有变化", code="unchanged")
    facility.agreement_start = start
    facility.agreement_end = end
    _save_with_history(facility, user=user,
                       reason=f"协议期改为 {start.isoformat()} 至 {end.isoformat()}：{text}",
                       fields=["agreement_start", "agreement_end"])
    return facility


# --- inspections ----------------------------------------------------------------------------------
