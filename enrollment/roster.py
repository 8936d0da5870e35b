"""Household roster import (花名册导入): the contract's "Roster file", all or nothing.

A village's roster lists one row per member. `roster_import` validates every row in plain Python
(one code path for every backend), refuses the whole file listing every invalid row, and otherwise
writes households, members, enrollments and their django-simple-history rows in ONE transaction.

Speed is set-based: the rows that already exist for the file's keys are loaded in a few queries
before validation (one array parameter per table on PostgreSQL), nothing is queried per row, ids
are reserved as one block per table, and the new members and enrollments are written while the
rest of the file is validated: batches go to a helper thread on the same connection and
transaction, which streams them with PostgreSQL COPY and copies their history rows on the server
(bulk_create at once on SQLite). A refused file rolls everything back. Households and updates
follow validation. Importing the same file again finds every row unchanged and writes nothing,
not even history. bench/import_roster.py measures it.
"""
from __future__ import annotations

import gc
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from itertools import chain
from typing import NamedTuple

import psycopg
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from enrollment.models import Category, Enrollment, Household, Member, Payer, Relation, Sex, Village
from enrollment.rules import InvalidIdNumber, id_check_character, looks_mangled_by_excel, parse_resident_id
from ncms.errors import NcmsError
from ncms.money import parse_money
from ncms.tabular import NumericCell, TableError, read_table

# field, Chinese header, English header, required column
FIELDS: list[tuple[str, str, str, bool]] = [
    ("village_code", "村代码", "village_code", True),
    ("household_no", "户号", "household_no", True),
    ("head_id_number", "户主身份证号", "head_id_number", True),
    ("name", "姓名", "name", True),
    ("id_number", "身份证号", "id_number", True),
    ("sex", "性别", "sex", True),
    ("birth_date", "出生日期", "birth_date", True),
    ("relation", "与户主关系", "relation", True),
    ("category", "人员类别", "category", True),
    ("phone", "联系电话", "phone", False),
    ("contribution", "缴费金额", "contribution", False),
    ("paid_date", "缴费日期", "paid_date", False),
    ("receipt_no", "收据号", "receipt_no", False),
]
FIELD_ORDER = {field: i for i, (field, *_rest) in enumerate(FIELDS)}
_HEADER_LOOKUP = {}
for _field, _zh, _en, _required in FIELDS:
    _HEADER_LOOKUP[_zh] = _field
    _HEADER_LOOKUP[_en] = _field

SEXES = {"男": Sex.MALE, "女": Sex.FEMALE, "m": Sex.MALE, "f": Sex.FEMALE,
         "male": Sex.MALE, "female": Sex.FEMALE}
CHILD = "child"  # English roster word: son or daughter by the member's sex
RELATIONS = {
    "户主": Relation.HEAD, "配偶": Relation.SPOUSE, "子": Relation.SON, "女": Relation.DAUGHTER,
    "父母": Relation.PARENT, "孙子女": Relation.GRANDCHILD, "其他": Relation.OTHER,
    "head": Relation.HEAD, "spouse": Relation.SPOUSE, "child": CHILD, "son": Relation.SON,
    "daughter": Relation.DAUGHTER, "parent": Relation.PARENT, "grandchild": Relation.GRANDCHILD,
    "other": Relation.OTHER,
}
CATEGORIES = {
    "普通": Category.ORDINARY, "五保": Category.WUBAO, "低保": Category.DIBAO, "贫困": Category.POOR,
    "ordinary": Category.ORDINARY, "wubao": Category.WUBAO, "dibao": Category.DIBAO,
    "poor": Category.POOR,
}
SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}

_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PHONE = re.compile(r"^[0-9+\-() ]{1,20}$")
_VILLAGE_CODE = re.compile(r"^\d{12}$")

MANGLED_ID = (
    "身份证号被表格软件存成了数字（科学计数法），后几位已经丢失、无法还原；"
    "请在表格中把身份证号这一列设置为文本格式，重新录入后再导入"
)
PROGRESS_EVERY = 1000
CHUNK = 5000
STREAM_CHUNK = 5000  # new members written per background batch


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number: header is row 1, first data row 2 (0 for the whole file)
    column: str  # the header as the file gives it ("" when the problem is the whole row/file)
    value: str
    reason: str  # Chinese words a clerk understands

    def __str__(self) -> str:
        if self.row <= 0:
            return self.reason
        if not self.column:
            return f"第{self.row}行：{self.reason}"
        return f"第{self.row}行 {self.column}「{self.value}」：{self.reason}"


@dataclass
class RosterSummary:
    rows: int = 0
    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    enrollments_created: int = 0
    unchanged_rows: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class RosterInvalid(NcmsError):
    """The roster is refused whole; `.errors` lists every invalid row (nothing was written)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        rows = {e.row for e in errors if e.row > 1}
        if rows:
            message = f"花名册有{len(rows)}行不符合要求，整个文件未导入；请改正后重新导入"
        else:
            message = "花名册文件不符合要求，未导入：" + "；".join(e.reason for e in errors)
        super().__init__(message, code="roster_invalid")


# --- cell helpers --------------------------------------------------------------------------

def _plain(value: str) -> str:
    """Text of a code-like cell; an XLSX number such as 420102100201.0 loses its `.0`."""
    if isinstance(value, NumericCell) and value.endswith(".0"):
        return str(value[:-2])
    return str(value)


def _parse_date(text: str) -> date | None:
    """ISO dates and what clerks type (2026/1/5, 2026.1.5, 2026年1月5日, 20260105); None if not a date."""
    text = text.strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    elif " " in text:
        text = text.split(" ", 1)[0]
    match = _DATE.match(text) or _DATE_COMPACT.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_MISSING = object()


class _Id(NamedTuple):
    number: str
    birth_date: date
    sex: str


def _quick_id_parser(today: date) -> Callable[[str], _Id | None]:
    """The common case of parse_resident_id, fast: a valid upper-case ID, or None.

    None means "not obviously valid": the caller then asks parse_resident_id (the one rule, which
    also words the refusal). Birth dates repeat across a county, so they are parsed once.
    """
    births: dict[str, date | None] = {}
    shape = _ID_SHAPE.match

    def quick(text: str) -> _Id | None:
        if len(text) != 18 or shape(text) is None:
            return None
        if id_check_character(text[:17]) != text[17]:
            return None
        key = text[6:14]
        birth = births.get(key, _MISSING)
        if birth is _MISSING:
            try:
                birth = date(int(key[:4]), int(key[4:6]), int(key[6:]))
            except ValueError:
                birth = None
            if birth is not None and (birth > today or birth.year < 1880):
                birth = None
            births[key] = birth
        if birth is None:
            return None
        return _Id(text, birth, Sex.MALE if int(text[16]) % 2 else Sex.FEMALE)

    return quick


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- the service ---------------------------------------------------------------------------

@dataclass(slots=True)
class _Row:
    """A data row that passed every per-row check (normalised values)."""

    row: int
    village_id: int
    household_no: str
    head_id_number: str
    name: str
    id_number: str
    sex: str
    birth_date: date
    relation: str
    category: str
    phone: str
    contribution: Decimal | None
    paid_date: date | None
    receipt_no: str


def roster_import(*, data: bytes, filename: str, year: int, user=None, township=None,
                  dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
                  ) -> RosterSummary:
    """Validate every row of a roster file, then (unless dry_run) write it in ONE transaction.

    Scheme rules applied (domain.md "Enrollment", contract.md "Roster file"): valid GB 11643 IDs
    agreeing with sex and birth date; a person on one household only; one head per household,
    listed as a member row; a contribution needs its paid date (not after the scheme year: the
    year's contributions are collected from the autumn before) and receipt number; the payer
    is civil affairs for the subsidised groups (五保, 低保, 贫困) and the member otherwise; an
    enrollment already recorded cannot be changed by an import.

    Raises RosterInvalid listing every invalid row; nothing is written then. `township`: when
    given (a township clerk's upload), a village outside it is a row error. `progress(done, total)`
    is called every ~1000 rows; `total` is the number of data rows and `done` grows to it over
    validation and writing (validation counts as the first half when the file is written). It
    must not use the database: on PostgreSQL the import's writer thread is using the connection
    while validation reports (psycopg would make the call wait for the thread's batch).
    """
    with _without_cyclic_gc():
        return _import(data=data, filename=filename, year=year, user=user, township=township,
                       dry_run=dry_run, progress=progress)


@contextmanager
def _without_cyclic_gc():
    """Python's cycle collector off while a roster's rows are built: the rows (millions of small
    objects, none in a cycle) would otherwise make it sweep the growing heap again and again,
    which cost about a third of a 100,000-row import's Python time (bench/import_roster.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(*, data: bytes, filename: str, year: int, user, township, dry_run: bool,
            progress) -> RosterSummary:
    table = _read(data, filename)
    columns, header_errors = _map_headers(table.headers)
    if header_errors:
        raise RosterInvalid(header_errors)
    rows = [cells for cells in table.rows if any(cells)]
    row_numbers = [i + 2 for i, cells in enumerate(table.rows) if any(cells)]
    if not rows:
        raise RosterInvalid([RowError(0, "", "", "文件中没有数据行：第1行是表头，成员从第2行开始填写")])
    total = len(rows)
    validate_share = 1 if dry_run else 2

    def report(done: int) -> None:
        if progress is not None:
            progress(min(total, done), total)

    township_id = getattr(township, "pk", township)
    reason = "花名册导入 " + os.path.basename(filename or "")
    outermost = not connection.in_atomic_block  # nothing of a caller's transaction is pending
    with transaction.atomic():
        writer = _writer(outermost=outermost)
        writer.lock()
        keys = _file_keys(rows, columns)
        existing = _load_existing(keys.household_nos, keys.id_numbers, year=year)
        new_rows = None if dry_run else _NewRows(writer, existing, keys, year=year, user=user,
                                                 reason=reason)
        try:
            validated = _validate(rows, row_numbers, columns, existing, year=year,
                                  township_id=township_id, sink=new_rows,
                                  report=lambda done: report(done // validate_share))
            plan = _plan(validated, year=year)
            if new_rows is None:
                report(total)
                return plan.summary
            new_rows.close()
        except BaseException:
            if new_rows is not None:
                new_rows.abort()
            raise
        _write(writer, plan, new_rows, year=year, user=user, reason=reason,
               report=lambda fraction: report(total // 2 + int(total * fraction / 2)))
        report(total)
    return plan.summary


def _read(data: bytes, filename: str):
    try:
        return read_table(data, filename)
    except TableError as exc:
        raise RosterInvalid([RowError(0, "", "", exc.message)]) from exc


def _map_headers(headers: list[str]) -> tuple[dict[str, tuple[int, str]], list[RowError]]:
    """field -> (column index, header as given). Unknown, duplicate or missing headers are errors."""
    columns: dict[str, tuple[int, str]] = {}
    errors: list[RowError] = []
    for index, header in enumerate(headers):
        text = header.strip().replace("\u3000", "")
        if not text:
            continue
        field = _HEADER_LOOKUP.get(text) or _HEADER_LOOKUP.get(text.lower())
        if field is None:
            errors.append(RowError(1, header, header, "无法识别的列名；可用的列名见花名册模板（中文或英文均可）"))
        elif field in columns:
            errors.append(RowError(1, header, header, f"与“{columns[field][1]}”是同一列，重复了"))
        else:
            columns[field] = (index, header)
    missing = [f"{zh}（{en}）" for field, zh, en, required in FIELDS if required and field not in columns]
    if missing:
        errors.append(RowError(1, "", "", "缺少必需的列：" + "、".join(missing)))
    return columns, errors


@dataclass
class _Existing:
    households: dict  # number -> (id, number, village_id, head_id, address, phone, bank_name, bank_account, card_number, head_id_number)
    members: dict  # id_number -> (id, household_id, name, id_number, sex, birth_date, relation, category, phone, household_number)
    enrollments: dict  # member_id -> (contribution, receipt_no, paid_date)
    used_cards: dict  # card_number -> household number


class _Keys(NamedTuple):
    household_nos: list[str]
    id_numbers: list[str]
    with_contribution: set[str]  # the IDs of rows that record a contribution


def _file_keys(rows, columns) -> _Keys:
    """The file's household numbers and IDs, normalised as _validate does, in one cheap pass.

    They load the rows already in the database before validation, so new rows can be written
    while the file is still being checked (a refused file rolls them back)."""
    i_household, i_id = columns["household_no"][0], columns["id_number"][0]
    i_contribution = columns["contribution"][0] if "contribution" in columns else None
    household_nos: dict[str, None] = {}
    id_numbers: dict[str, None] = {}
    with_contribution: set[str] = set()
    for cells in rows:
        width = len(cells)
        if i_household < width:
            number = cells[i_household]
            household_nos[number if type(number) is str else _plain(number)] = None
        if i_id < width:
            id_number = str(cells[i_id]).strip().upper()
            id_numbers[id_number] = None
            if i_contribution is not None and i_contribution < width and cells[i_contribution]:
                with_contribution.add(id_number)
    household_nos.pop("", None)
    id_numbers.pop("", None)
    return _Keys(list(household_nos), list(id_numbers), with_contribution)


class _NewRows:
    """Writes the new members and enrollments of an import while _validate checks the next rows.

    Ids come from blocks reserved up front for what the file can create at most (exactly that for
    a valid file). Every STREAM_CHUNK new members go to the writer's background() (PostgreSQL: a
    helper thread on the same connection and transaction, so the server inserts while Python
    validates; elsewhere at once). _write then adds households and updates, which need the whole
    file.
    """

    def __init__(self, writer, existing: _Existing, keys: _Keys, *, year: int, user, reason: str):
        self.writer = writer
        self.existing = existing
        self.year = year
        self.user_id = getattr(user, "pk", None)
        self.now = timezone.now()
        self.created = (self.now, reason, "+", self.user_id)
        new_households = sum(1 for no in keys.household_nos if no not in existing.households)
        new_members = [i for i in keys.id_numbers if i not in existing.members]
        enrolled = existing.enrollments
        new_enrollments = sum(1 for i in keys.with_contribution
                              if i not in existing.members or existing.members[i][0] not in enrolled)
        writer.prepare(members=len(new_members), enrollments=new_enrollments)
        self._household_ids = iter(writer.allocate(Household, new_households))
        self._member_ids = iter(writer.allocate(Member, len(new_members)))
        self._enrollment_ids = iter(writer.allocate(Enrollment, new_enrollments))
        self.household_ids: dict[str, int] = {}  # new household number -> its id
        self.member_ids: dict[str, int] = {}  # new member's ID number -> its id
        self.enrollments = 0
        self.amounts_by_date: dict[date, Decimal] = defaultdict(Decimal)
        self._members: list[tuple] = []
        self._enrollment_rows: list[tuple] = []
        self._background = writer.background()

    def add(self, item: _Row) -> None:
        member = self.existing.members.get(item.id_number)
        if member is None:
            if item.id_number in self.member_ids:
                return  # the same person twice in the file: refused after the loop
            in_db = self.existing.households.get(item.household_no)
            if in_db is not None:
                household_id = in_db[0]
            else:
                household_id = self.household_ids.get(item.household_no)
                if household_id is None:
                    household_id = self.household_ids[item.household_no] = next(self._household_ids)
            member_id = self.member_ids[item.id_number] = next(self._member_ids)
            self._members.append((member_id, household_id, item.name, item.id_number, item.sex,
                                  item.birth_date, item.relation, item.category, item.phone))
        else:
            member_id = member[0]
        if item.contribution is not None and (member is None or member_id not in self.existing.enrollments):
            payer = Payer.CIVIL_AFFAIRS if item.category in SUBSIDISED else Payer.SELF
            self._enrollment_rows.append((next(self._enrollment_ids), member_id, self.year, item.contribution,
                                          item.receipt_no, item.paid_date, payer, self.user_id))
            self.amounts_by_date[item.paid_date] += item.contribution
            self.enrollments += 1
        if len(self._members) >= STREAM_CHUNK or len(self._enrollment_rows) >= STREAM_CHUNK:
            self._flush()

    def _flush(self) -> None:
        members, enrollments = self._members, self._enrollment_rows
        self._members, self._enrollment_rows = [], []
        # in ID-number order: the unique ID index (the costliest of the table) is then written
        # in runs instead of all over
        members.sort(key=_by_id_number)
        self._background.submit(self._insert, members, enrollments)

    def _insert(self, members: list[tuple], enrollments: list[tuple]) -> None:
        if members:
            self.writer.insert_with_history(Member, MEMBER_COLUMNS, members, [], (), self.created)
        if enrollments:
            self.writer.insert_with_history(Enrollment, ENROLLMENT_COLUMNS, enrollments, ["recorded_at"],
                                            (self.now,), self.created)

    def close(self) -> None:
        """Write what is left and wait for every write; a failed write raises here."""
        if self._members or self._enrollment_rows:
            self._flush()
        try:
            self._background.close()
        except IntegrityError as exc:
            raise _conflict() from exc

    def abort(self) -> None:
        """Drop the writes not started and wait for the one running (the transaction rolls back)."""
        self._background.abort()


@dataclass
class _Validated:
    rows: list[_Row]
    existing: _Existing


def _validate(rows, row_numbers, columns, existing: _Existing, *, year: int, township_id, report,
              sink: _NewRows | None = None) -> _Validated:
    """Every check of the contract, in plain Python: no query per row.

    `sink` (the write of a real import) gets every good row while no row has failed yet: it
    writes new members and enrollments meanwhile; a refused file rolls them back with the rest.
    """
    errors: list[RowError] = []
    add = errors.append
    header = {field: given for field, (index, given) in columns.items()}
    index_of = {field: index for field, (index, given) in columns.items()}
    width = max(index_of.values()) + 1

    villages = {code: (pk, tsp) for pk, code, tsp in Village.objects.values_list("id", "code", "township_id")}
    today = timezone.localdate()  # a child born today in the county is no birth "in the future"
    latest_paid = date(year, 12, 31)
    date_cache: dict[str, date | None] = {}
    empty_cols = [""] * width

    i_village = index_of["village_code"]
    i_household = index_of["household_no"]
    i_head = index_of["head_id_number"]
    i_name = index_of["name"]
    i_id = index_of["id_number"]
    i_sex = index_of["sex"]
    i_birth = index_of["birth_date"]
    i_relation = index_of["relation"]
    i_category = index_of["category"]
    i_phone = index_of.get("phone")
    i_contribution = index_of.get("contribution")
    i_paid = index_of.get("paid_date")
    i_receipt = index_of.get("receipt_no")

    quick_id = _quick_id_parser(today)
    village_checks: dict[str, tuple] = {}
    money_checks: dict[str, tuple] = {}
    good: list[_Row] = []
    # household_no -> [(row, village text, head text, id text, relation)] over ALL rows
    households: dict[str, list[tuple]] = {}
    ids_in_file: dict[str, int] = {}  # ID -> the first row it is on
    repeated: dict[str, list[int]] = {}  # ID -> every row of an ID listed more than once

    for position, cells in enumerate(rows):
        if position % PROGRESS_EVERY == 0 and position:
            report(position)
        if len(cells) < width:
            cells = cells + empty_cols[len(cells):]
        row = row_numbers[position]
        ok = True

        # village (a file has few villages: each distinct code is checked once)
        village_text = cells[i_village]
        if type(village_text) is not str:
            village_text = _plain(village_text)
        checked = village_checks.get(village_text)
        if checked is None:
            checked = village_checks[village_text] = _check_village(village_text, villages, township_id)
        village_id, village_reason = checked
        if village_reason:
            add(RowError(row, header["village_code"], village_text, village_reason)); ok = False

        # household number
        household_no = cells[i_household]
        if type(household_no) is not str:
            household_no = _plain(household_no)
        if not household_no:
            add(RowError(row, header["household_no"], household_no, "户号不能为空")); ok = False
        elif len(household_no) > 30:
            add(RowError(row, header["household_no"], household_no, "户号最长30个字符")); ok = False

        # head's ID (compared as text with the member rows of the household)
        head_raw = cells[i_head]
        head_text = str(head_raw).upper()
        if not head_text:
            add(RowError(row, header["head_id_number"], head_text, "户主身份证号不能为空")); ok = False
        elif type(head_raw) is not str or ("E" in head_text and looks_mangled_by_excel(head_text)):
            add(RowError(row, header["head_id_number"], str(head_raw), MANGLED_ID)); ok = False

        # name
        name = cells[i_name]
        if not name:
            add(RowError(row, header["name"], name, "姓名不能为空")); ok = False
        elif len(name) > 30:
            add(RowError(row, header["name"], name, "姓名最长30个字")); ok = False

        # ID number
        id_raw = cells[i_id]
        id_text = str(id_raw).upper()
        resident = None
        if not id_text:
            add(RowError(row, header["id_number"], id_text, "身份证号不能为空")); ok = False
        elif type(id_raw) is not str or ("E" in id_text and looks_mangled_by_excel(id_text)):
            add(RowError(row, header["id_number"], str(id_raw), MANGLED_ID)); ok = False
        else:
            try:
                resident = quick_id(id_text) or parse_resident_id(id_text, today=today)
            except InvalidIdNumber as exc:
                add(RowError(row, header["id_number"], str(id_raw), str(exc))); ok = False
            else:
                first_row = ids_in_file.setdefault(resident.number, row)
                if first_row != row:
                    repeated.setdefault(resident.number, [first_row]).append(row)

        # sex
        sex_text = cells[i_sex]
        sex = SEXES.get(sex_text) or SEXES.get(sex_text.lower())
        if sex is None:
            add(RowError(row, header["sex"], sex_text, "性别应为 男 或 女（或 M、F）")); ok = False
        elif resident is not None and resident.sex != sex:
            add(RowError(row, header["sex"], sex_text,
                         f"性别与身份证号不符：按身份证号应为{SEX_WORDS[resident.sex]}")); ok = False

        # birth date
        birth_text = cells[i_birth]
        if birth_text in date_cache:
            birth = date_cache[birth_text]
        else:
            birth = date_cache[birth_text] = _parse_date(birth_text)
        if not birth_text:
            add(RowError(row, header["birth_date"], birth_text, "出生日期不能为空")); ok = False
        elif birth is None:
            add(RowError(row, header["birth_date"], birth_text,
                         "出生日期不是有效日期，应写成 1990-01-31 的样式")); ok = False
        elif resident is not None and resident.birth_date != birth:
            add(RowError(row, header["birth_date"], birth_text,
                         f"出生日期与身份证号不符：按身份证号应为{resident.birth_date.isoformat()}")); ok = False

        # relation
        relation_text = cells[i_relation]
        relation = RELATIONS.get(relation_text) or RELATIONS.get(relation_text.lower())
        if relation is None:
            add(RowError(row, header["relation"], relation_text,
                         "与户主关系应为 户主、配偶、子、女、父母、孙子女、其他 之一")); ok = False
        elif relation == CHILD:
            child_sex = sex or (resident.sex if resident else Sex.MALE)
            relation = Relation.SON if child_sex == Sex.MALE else Relation.DAUGHTER

        # category
        category_text = cells[i_category]
        category = CATEGORIES.get(category_text) or CATEGORIES.get(category_text.lower())
        if category is None:
            add(RowError(row, header["category"], category_text,
                         "人员类别应为 普通、五保、低保、贫困 之一")); ok = False

        # phone (optional)
        phone = _plain(cells[i_phone]) if i_phone is not None else ""
        if phone and not phone.isdigit() and not _PHONE.match(phone):
            add(RowError(row, header["phone"], phone, "联系电话只能填数字（最多20位）")); ok = False

        # contribution, paid date and receipt number
        contribution_text = cells[i_contribution] if i_contribution is not None else ""
        paid_text = cells[i_paid] if i_paid is not None else ""
        receipt = _plain(cells[i_receipt]) if i_receipt is not None else ""
        contribution = paid = None
        if not contribution_text:
            if paid_text or receipt:
                add(RowError(row, header["contribution"] if i_contribution is not None else "",
                             contribution_text, "填写了缴费日期或收据号，但缴费金额是空的")); ok = False
        else:
            checked = money_checks.get(contribution_text)
            if checked is None:
                checked = money_checks[contribution_text] = _check_money(contribution_text)
            contribution, money_reason = checked
            if money_reason:
                add(RowError(row, header["contribution"], contribution_text, money_reason)); ok = False
            if not paid_text:
                add(RowError(row, header.get("paid_date", ""), paid_text, "填写了缴费金额时，缴费日期必填")); ok = False
            else:
                paid = date_cache[paid_text] if paid_text in date_cache else date_cache.setdefault(
                    paid_text, _parse_date(paid_text))
                if paid is None:
                    add(RowError(row, header["paid_date"], paid_text,
                                 "缴费日期不是有效日期，应写成 2026-01-05 的样式")); ok = False
                elif paid > latest_paid:
                    add(RowError(row, header["paid_date"], paid_text,
                                 f"缴费日期晚于{year}年度：{year}年度的缴费日期不能晚于"
                                 f"{latest_paid.isoformat()}")); ok = False
            if not receipt:
                add(RowError(row, header.get("receipt_no", ""), receipt, "填写了缴费金额时，收据号必填")); ok = False
            elif len(receipt) > 40:
                add(RowError(row, header["receipt_no"], receipt, "收据号最长40个字符")); ok = False

        if household_no:
            # the ID as parsed (None when the row's own ID was refused above: no follow-on errors)
            households.setdefault(household_no, []).append(
                (row, village_text, head_text, resident.number if resident else None, relation,
                 len(good) if ok else None))
        if ok:
            item = _Row(row, village_id, household_no, head_text, name, resident.number, sex,
                        birth, relation, category, phone, contribution, paid, receipt)
            good.append(item)
            if sink is not None and not errors:
                sink.add(item)

    report(len(rows))

    # the same person twice in the file
    for id_number, at in repeated.items():
        listed = "、".join(str(r) for r in at)
        for r in at:
            add(RowError(r, header["id_number"], id_number, f"身份证号在文件中重复出现（第{listed}行）"))

    # one household: one village, one head, listed as a member row with relation 户主
    for household_no, members in households.items():
        first_row, first_village, first_head = members[0][0], members[0][1], members[0][2]
        for row, village_text, head_text, _id, _rel, _g in members[1:]:
            if village_text != first_village:
                add(RowError(row, header["village_code"], village_text,
                             f"同一户的村代码必须一致（本户第{first_row}行为{first_village}）"))
            if head_text != first_head:
                add(RowError(row, header["head_id_number"], head_text,
                             f"同一户的户主身份证号必须一致（本户第{first_row}行为{first_head}）"))
        heads = [m for m in members if m[4] == Relation.HEAD]
        in_db = existing.households.get(household_no)
        if len(heads) > 1:
            listed = "、".join(str(m[0]) for m in heads)
            for m in heads:
                add(RowError(m[0], header["relation"], "户主" if m[4] else "",
                             f"一户只能有一名户主（本户第{listed}行都填了户主）"))
        elif len(heads) == 1:
            head = heads[0]
            if head[3] is not None and head[3] != head[2]:
                add(RowError(head[0], header["head_id_number"], head[2],
                             "户主身份证号与本户“户主”行的身份证号不一致"))
        elif all(m[4] is not None for m in members) and (in_db is None or in_db[9] != first_head):
            # an existing household may add members without listing its (unchanged) head again
            add(RowError(first_row, header["head_id_number"], first_head,
                         "本户没有户主行：户主本人须作为本户的一行列出，与户主关系填“户主”，"
                         "身份证号与户主身份证号一致"))
        if in_db is not None and first_village and villages.get(first_village, (None,))[0] != in_db[2]:
            for row, village_text, *_rest in members:
                add(RowError(row, header["village_code"], village_text,
                             "该户号已登记在其他村，户号在全县唯一，不能改到别的村"))

    # against the database: one household per person, enrollments not changed by import
    for item in good:
        member = existing.members.get(item.id_number)
        if member is None:
            continue
        if member[9] != item.household_no:
            add(RowError(item.row, header["id_number"], item.id_number,
                         f"一人只能在一个家庭户参合：此人已登记在户号{member[9]}"))
            continue
        if item.contribution is not None:
            recorded = existing.enrollments.get(member[0])
            if recorded is not None and recorded != (item.contribution, item.receipt_no, item.paid_date):
                add(RowError(item.row, header["contribution"], str(item.contribution),
                             f"此人{year}年度已登记缴费（金额{recorded[0]}，收据号{recorded[1]}，"
                             f"缴费日期{recorded[2].isoformat()}）；一人每年只能参合一次，已登记的缴费不能通过导入修改"))
    for household_no, members in households.items():
        if household_no not in existing.households:
            holder = existing.used_cards.get("HZ" + household_no)
            if holder is not None:
                add(RowError(members[0][0], header["household_no"], household_no,
                             f"合作医疗证号HZ{household_no}已被户号{holder}使用"))

    if errors:
        errors.sort(key=lambda e: (e.row, _column_rank(e.column, header)))
        raise RosterInvalid(errors)
    return _Validated(rows=good, existing=existing)


def _check_village(text: str, villages: dict, township_id) -> tuple[int | None, str]:
    """(village id, "") for a usable village code, else (None, the reason)."""
    if not text:
        return None, "村代码不能为空"
    if not _VILLAGE_CODE.match(text):
        return None, "村代码应为12位数字"
    known = villages.get(text)
    if known is None:
        return None, "村代码不存在：请核对，或先导入乡镇和村"
    if township_id is not None and known[1] != township_id:
        return None, "该村不属于您的乡镇，不能导入"
    return known[0], ""


def _check_money(text: str) -> tuple[Decimal | None, str]:
    try:
        amount = parse_money(text)
    except ValueError as exc:
        return None, f"缴费金额不正确：{exc}"
    if amount < 0:
        return None, "缴费金额不能为负数"
    return amount, ""


def _column_rank(column: str, header: dict) -> int:
    for field, given in header.items():
        if given == column:
            return FIELD_ORDER[field]
    return -1


def _load_existing(household_nos: list[str], id_numbers: list[str], *, year: int) -> _Existing:
    """The rows already in the database for the file's keys: a few chunked queries, none per row."""
    if connection.vendor == "postgresql":
        return _load_existing_postgres(household_nos, id_numbers, year=year)
    size = _chunk_size()
    households = {}
    for chunk in _chunks(household_nos, size):
        for values in Household.objects.filter(number__in=chunk).values_list(
            "id", "number", "village_id", "head_id", "address", "phone", "bank_name",
            "bank_account", "card_number", "head__id_number",
        ):
            households[values[1]] = values
    members = {}
    for chunk in _chunks(id_numbers, size):
        for values in Member.objects.filter(id_number__in=chunk).values_list(
            "id", "household_id", "name", "id_number", "sex", "birth_date", "relation", "category",
            "phone", "household__number",
        ):
            members[values[3]] = values
    enrollments = {}
    member_ids = [m[0] for m in members.values()]
    for chunk in _chunks(member_ids, size):
        for member_id, contribution, receipt, paid in Enrollment.objects.filter(
            year=year, member_id__in=chunk
        ).values_list("member_id", "contribution", "receipt_no", "paid_date"):
            enrollments[member_id] = (contribution, receipt, paid)
    cards = ["HZ" + no for no in household_nos if no not in households]
    used_cards = {}
    for chunk in _chunks(cards, size):
        used_cards.update(Household.objects.filter(card_number__in=chunk).values_list("card_number", "number"))
    return _Existing(households, members, enrollments, used_cards)


# a key list as ONE text joined by U+001F (split on the server: far cheaper to send than a text[]
# of 100,000 elements); the rare key holding that character goes in a small text[] beside it
_KEY_SEPARATOR = "\x1f"
_ANY_KEY = "ANY(string_to_array(%s, chr(31)) || %s::text[])"


def _key_params(keys: list[str]) -> list:
    odd = [key for key in keys if _KEY_SEPARATOR in key] if _KEY_SEPARATOR in "".join(keys) else []
    plain = [key for key in keys if _KEY_SEPARATOR not in key] if odd else keys
    return [_KEY_SEPARATOR.join(plain), odd]


def _load_existing_postgres(household_nos: list[str], id_numbers: list[str], *, year: int) -> _Existing:
    """As _load_existing, one query per table: each key list goes as ONE array parameter."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.id, h.number, h.village_id, h.head_id, h.address, h.phone, h.bank_name,"
            " h.bank_account, h.card_number, m.id_number FROM enrollment_household h"
            f" LEFT JOIN enrollment_member m ON m.id = h.head_id WHERE h.number = {_ANY_KEY}",
            _key_params(household_nos),
        )
        households = {values[1]: values for values in cursor.fetchall()}
        cursor.execute(
            "SELECT m.id, m.household_id, m.name, m.id_number, m.sex, m.birth_date, m.relation,"
            " m.category, m.phone, h.number FROM enrollment_member m"
            f" JOIN enrollment_household h ON h.id = m.household_id WHERE m.id_number = {_ANY_KEY}",
            _key_params(id_numbers),
        )
        members = {values[3]: values for values in cursor.fetchall()}
        cursor.execute(
            "SELECT e.member_id, e.contribution, e.receipt_no, e.paid_date FROM enrollment_enrollment e"
            f" JOIN enrollment_member m ON m.id = e.member_id WHERE e.year = %s AND m.id_number = {_ANY_KEY}",
            [year, *_key_params(id_numbers)],
        )
        enrollments = {member_id: rest for member_id, *rest in cursor.fetchall()}
        enrollments = {k: tuple(v) for k, v in enrollments.items()}
        cards = ["HZ" + no for no in household_nos if no not in households]
        cursor.execute(f"SELECT card_number, number FROM enrollment_household WHERE card_number = {_ANY_KEY}",
                       _key_params(cards))
        used_cards = dict(cursor.fetchall())
    return _Existing(households, members, enrollments, used_cards)


def _chunk_size() -> int:
    limit = connection.features.max_query_params or CHUNK
    return max(100, min(CHUNK, limit - 10))


# --- the plan: what to create and update ---------------------------------------------------

@dataclass
class _Plan:
    summary: RosterSummary
    # households: (number, village_id, phone, head row or None, existing tuple or None)
    households: list
    rows: list[_Row]
    existing: _Existing


def _plan(validated: _Validated, *, year: int) -> _Plan:
    """Decide what is new, changed or unchanged, and count it (also for a dry run)."""
    existing = validated.existing
    summary = RosterSummary(rows=len(validated.rows))
    by_household: dict[str, list[_Row]] = {}
    for item in validated.rows:
        by_household.setdefault(item.household_no, []).append(item)
    households = []
    for household_no, items in by_household.items():
        head = next((item for item in items if item.relation == Relation.HEAD), None)
        in_db = existing.households.get(household_no)
        households.append((household_no, items, head, in_db))
        if in_db is None:
            summary.households_created += 1
        elif head is not None:
            head_member = existing.members.get(head.id_number)
            if (head_member is None or head_member[0] != in_db[3]
                    or (head.phone and head.phone != in_db[5])):
                summary.households_updated += 1
    for item in validated.rows:
        member = existing.members.get(item.id_number)
        changed = False
        if member is None:
            summary.members_created += 1
            changed = True
        elif _member_changes(member, item):
            summary.members_updated += 1
            changed = True
        if item.contribution is not None and (member is None or member[0] not in existing.enrollments):
            summary.enrollments_created += 1
            changed = True
        if not changed:
            summary.unchanged_rows += 1
    return _Plan(summary=summary, households=households, rows=validated.rows, existing=existing)


def _member_changes(member: tuple, item: _Row) -> bool:
    # member: (id, household_id, name, id_number, sex, birth_date, relation, category, phone, number)
    return (member[2] != item.name or member[4] != item.sex or member[5] != item.birth_date
            or member[6] != item.relation or member[7] != item.category
            or (item.phone != "" and member[8] != item.phone))


# --- writing -------------------------------------------------------------------------------

HOUSEHOLD_COLUMNS = ["id", "number", "village_id", "head_id", "address", "phone", "bank_name",
                     "bank_account", "card_number"]
MEMBER_COLUMNS = ["id", "household_id", "name", "id_number", "sex", "birth_date", "relation",
                  "category", "phone"]
ENROLLMENT_COLUMNS = ["id", "member_id", "year", "contribution", "receipt_no", "paid_date", "payer",
                      "recorded_by_id"]
HISTORY_COLUMNS = ["history_date", "history_change_reason", "history_type", "history_user_id"]
SUBSIDISED = {Category.WUBAO, Category.DIBAO, Category.POOR}


def _write(writer, plan: _Plan, new_rows: _NewRows, *, year: int, user, reason: str, report) -> None:
    """Households and updated members with their history, in the caller's transaction, after
    new_rows wrote the new members and enrollments; then book the contributions."""
    existing = plan.existing
    summary = plan.summary
    if len(new_rows.member_ids) != summary.members_created or new_rows.enrollments != summary.enrollments_created:
        raise RuntimeError("roster import: the rows written differ from the plan")  # a bug, never data
    now = new_rows.now
    changed = (now, reason, "~", new_rows.user_id)

    new_households, updated_households = [], []
    updated_members = []
    for household_no, items, head, in_db in plan.households:
        household_id = new_rows.household_ids[household_no] if in_db is None else in_db[0]
        head_id = in_db[3] if in_db is not None else None
        for item in items:
            member = existing.members.get(item.id_number)
            if member is None:
                member_id = new_rows.member_ids[item.id_number]
            else:
                member_id = member[0]
                if _member_changes(member, item):
                    updated_members.append((member_id, household_id, item.name, item.id_number,
                                            item.sex, item.birth_date, item.relation, item.category,
                                            item.phone or member[8]))
            if item is head:
                head_id = member_id
        phone = head.phone if head is not None else ""
        if in_db is None:
            new_households.append((household_id, household_no, items[0].village_id, head_id, "",
                                   phone, "", "", "HZ" + household_no))
        elif head_id != in_db[3] or (phone and phone != in_db[5]):
            updated_households.append((household_id, household_no, in_db[2], head_id, in_db[4],
                                       phone or in_db[5], in_db[6], in_db[7], in_db[8]))

    steps = [
        (Household, HOUSEHOLD_COLUMNS, new_households, updated_households, ("created_at",)),
        (Member, MEMBER_COLUMNS, [], updated_members, ()),
    ]
    work = sum(len(new) + len(updated) for _m, _c, new, updated, _x in steps) or 1
    done = 0
    try:
        for model, columns, new, updated, stamped in steps:
            if new:
                writer.insert_with_history(model, columns, new, list(stamped), (now,) * len(stamped),
                                           new_rows.created)
                done += len(new)
                report(done / work)
            if updated:
                writer.update(model, columns, updated)
                writer.insert(model.history.model, columns + HISTORY_COLUMNS, [row + changed for row in updated])
                done += len(updated)
                report(done / work)
        _book_contributions(new_rows.amounts_by_date, year=year, user=user, at=now)
        writer.finish()
    except IntegrityError as exc:
        raise _conflict() from exc


def _book_contributions(amounts_by_date: dict, *, year: int, user, at) -> None:
    """The closed fund books every recorded contribution as individual income, dated by its paid
    date (contract): one ledger transaction per paid date of this import, in its transaction."""
    from fund.services import contributions_book_bulk

    if amounts_by_date:
        contributions_book_bulk(user=user, year=year, amounts_by_date=dict(amounts_by_date),
                                ref_prefix=f"roster:{at:%Y%m%dT%H%M%S%f}")


def _conflict() -> NcmsError:
    return NcmsError("导入时有人同时登记了相同的户号、合作医疗证号或身份证号，本次未导入；请重新导入",
                     code="roster_conflict")


def _by_id_number(row: tuple) -> str:
    return row[3]


def _writer(*, outermost: bool = False):
    if connection.vendor == "postgresql":
        return _PostgresWriter(outermost=outermost)
    return _OrmWriter()


class _OrmWriter:
    """Any backend (SQLite in development and tests): bulk_create with pre-allocated ids."""

    def lock(self) -> None:
        if connection.vendor == "sqlite":
            # a no-op write takes SQLite's write lock, so the ids read below stay ours
            with connection.cursor() as cursor:
                cursor.execute("UPDATE enrollment_household SET id = id WHERE 1 = 0")

    def allocate(self, model, count: int) -> list[int]:
        if not count:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            highest = cursor.fetchone()[0]
            if connection.vendor == "sqlite":
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                found = cursor.fetchone()
                highest = max(highest, found[0] if found else 0)
        return list(range(highest + 1, highest + 1 + count))

    def insert(self, model, columns: list[str], rows: list[tuple]) -> None:
        model.objects.bulk_create((model(**dict(zip(columns, row))) for row in rows), batch_size=500)

    def insert_with_history(self, model, columns: list[str], rows: list[tuple], stamped: list[str],
                            stamp: tuple, history: tuple) -> None:
        self.insert(model, columns + stamped, [row + stamp for row in rows])
        self.insert(model.history.model, columns + HISTORY_COLUMNS, [row + history for row in rows])

    def update(self, model, columns: list[str], rows: list[tuple]) -> None:
        objects = [model(**dict(zip(columns, row))) for row in rows]
        model.objects.bulk_update(objects, columns[1:], batch_size=500)

    def prepare(self, **new_rows) -> None:
        pass

    def finish(self) -> None:
        pass

    def background(self) -> _Inline:
        return _Inline()


class _Inline:
    """Runs each write at once (SQLite has one writer anyway). As with _Thread, a failed write
    is raised by close(), and the writes after it are skipped."""

    def __init__(self):
        self.error: DatabaseError | None = None

    def submit(self, function, *args) -> None:
        if self.error is None:
            try:
                function(*args)
            except DatabaseError as exc:
                self.error = exc

    def close(self) -> None:
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        pass


class _Thread:
    """Runs the writes one after another on a helper thread, in order, on the caller's PostgreSQL
    connection and transaction (psycopg releases the GIL while the server works, so Python goes on
    validating meanwhile). The caller must not use the connection until close() or abort()."""

    # while both run, hand the GIL over every 0.5 ms instead of 5 ms: the helper needs it for a
    # moment each time the server answers, and would otherwise wait for the validating thread
    SWITCH_INTERVAL = 0.0005

    def __init__(self):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster-write")
        self.futures: list[Future] = []
        self.failed = False
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_interval, self.SWITCH_INTERVAL))

    def submit(self, function, *args) -> None:
        self.futures.append(self.executor.submit(self._run, function, args))

    def _run(self, function, args) -> None:
        if self.failed:
            return  # the transaction is aborted: close() raises the first error
        try:
            function(*args)
        except BaseException:
            self.failed = True
            raise

    def close(self) -> None:
        self._stop(cancel=False)
        with connection.wrap_database_errors:  # psycopg's errors as Django's (IntegrityError ...)
            for future in self.futures:
                future.result()

    def abort(self) -> None:
        self._stop(cancel=True)

    def _stop(self, *, cancel: bool) -> None:
        self.executor.shutdown(wait=True, cancel_futures=cancel)
        sys.setswitchinterval(self.switch_interval)


# (table, column, referenced table, new rows counted by) of the foreign keys a big import checks
# set-based: dropped before the rows go in and added back (same name and definition) before commit,
# PostgreSQL then validates every row in ONE anti-join instead of one trigger query per new row
BULK_CHECKED_KEYS = [
    ("enrollment_member", "household_id", "members"),
    ("enrollment_household", "head_id", "members"),
    ("enrollment_enrollment", "member_id", "enrollments"),
    ("enrollment_enrollment", "recorded_by_id", "enrollments"),  # the importing clerk, on every row
]
BULK_CHECK_MIN_ROWS = 20_000


class _PostgresWriter:
    """PostgreSQL: ids from the sequences, rows streamed with COPY, updates joined from a temp table."""

    def __init__(self, *, outermost: bool = False):
        self.outermost = outermost  # the import is the whole transaction (see prepare())
        self.dropped: list[tuple[str, str, str]] = []
        # the psycopg connection itself: insert_with_history also runs on background()'s thread,
        # where Django's `connection` would be another connection (one per thread)
        connection.ensure_connection()
        self.django = connection
        self.raw = connection.connection

    def background(self) -> _Thread:
        return _Thread()

    def _cursor(self):
        return psycopg.ClientCursor(self.raw)  # as Django's: parameters bound on the client

    def lock(self) -> None:
        # one roster import at a time: the second waits and then sees what the first committed
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ncms.roster_import'))")

    def allocate(self, model, count: int) -> range:
        """A block of `count` ids, reserved by moving the table's sequence past it.

        The table is locked against other writers first (until commit: reads go on), so no other
        session can draw a number from the sequence inside our block meanwhile.
        """
        if not count:
            return range(0)
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                "SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence(%s, 'id') AS s",
                [count, table],
            )
            last = cursor.fetchone()[0]
        return range(last - count + 1, last + 1)

    def insert(self, model, columns: list[str], rows: list[tuple]) -> None:
        self._copy(model._meta.db_table, columns, rows)

    def insert_with_history(self, model, columns: list[str], rows: list[tuple], stamped: list[str],
                            stamp: tuple, history: tuple) -> None:
        """COPY the rows, then copy them into the history table on the server.

        The rows' ids are one block from allocate() on a locked table, so "id in the block" is
        exactly these rows; the history rows never travel over the wire.
        """
        table = model._meta.db_table
        self._copy_rows(table, columns + stamped, rows, tuple(stamp) if stamped else ())
        ids = [row[0] for row in rows]
        low, high = min(ids), max(ids)
        assert high - low + 1 == len(ids), "ids must be one block from allocate()"
        listed = ", ".join(columns)
        with self.django.wrap_database_errors, self._cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {model.history.model._meta.db_table} ({listed}, {', '.join(HISTORY_COLUMNS)})"
                f" SELECT {listed}, %s, %s, %s, %s FROM {table} WHERE id BETWEEN %s AND %s",
                [*history, low, high],
            )

    def update(self, model, columns: list[str], rows: list[tuple]) -> None:
        table = model._meta.db_table
        scratch = f"roster_update_{table}"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
            cursor.execute(
                f"CREATE TEMP TABLE {scratch} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
            )
        self._copy(scratch, columns, rows)
        assignments = ", ".join(f"{column} = s.{column}" for column in columns[1:])
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} AS t SET {assignments} FROM {scratch} AS s WHERE t.id = s.id")
            cursor.execute(f"DROP TABLE {scratch}")

    def prepare(self, **new_rows) -> None:
        """For a big import, swap some per-row foreign-key triggers for one check at the end.

        Only when the import is the whole transaction, and the new rows are many and at least a
        quarter of the table already there (a whole-table check then costs less than a trigger
        query per row). Dropping a constraint locks household, member and enrollment tables
        against readers too until commit (a big import is rare: a township's year roster). The
        constraints come back in finish(), in this transaction, checked over every row: an orphan
        refuses the import (IntegrityError) and nothing is written.
        """
        if not self.outermost:
            return  # inside a caller's transaction: its pending checks are not ours to hurry
        with connection.cursor() as cursor:
            for table, column, counted_by in BULK_CHECKED_KEYS:
                count = new_rows.get(counted_by, 0)
                if count < BULK_CHECK_MIN_ROWS:
                    continue
                cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
                if count * 4 < cursor.fetchone()[0]:
                    continue
                cursor.execute(
                    "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
                    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
                    " WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s"
                    " AND cardinality(c.conkey) = 1",
                    [table, column],
                )
                self.dropped += [(table, name, definition) for name, definition in cursor.fetchall()]
            if self.dropped:
                # the three tables at once (fewer chances of a deadlock than one by one)
                cursor.execute("LOCK TABLE enrollment_household, enrollment_member, enrollment_enrollment"
                               " IN ACCESS EXCLUSIVE MODE")
            for table, name, _definition in self.dropped:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')

    def finish(self) -> None:
        if not self.dropped:
            return
        tables = sorted({table for table, _name, _definition in self.dropped})
        with connection.cursor() as cursor:
            # a table with pending (deferred) checks cannot be altered: run those tables' other
            # deferred checks now (the same checks the commit would run), then defer them again
            cursor.execute(
                "SELECT quote_ident(conname) FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])"
                " AND condeferrable AND condeferred",
                [tables],
            )
            deferred = ", ".join(name for (name,) in cursor.fetchall())
            if deferred:
                cursor.execute(f"SET CONSTRAINTS {deferred} IMMEDIATE")
            for table, name, definition in self.dropped:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            if deferred:
                cursor.execute(f"SET CONSTRAINTS {deferred} DEFERRED")
        self.dropped = []

    def _copy(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        self._copy_rows(table, columns, rows, ())

    def _copy_rows(self, table: str, columns: list[str], rows: list[tuple], suffix: tuple) -> None:
        """COPY rows, each followed by the `suffix` values.

        The rows go as one text block formatted by str's % operator (a C loop: a fraction of a
        call per value), which keeps the GIL free for the validating thread; a block that does not
        come out as exactly one line of plain values per row (a NULL, a tab, a backslash ...)
        goes through psycopg's row writer instead, which escapes everything.
        """
        text = _copy_text(rows, suffix)
        with self.django.wrap_database_errors, self._cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                if text is not None:
                    copy.write(text)
                    return
                write = copy.write_row
                if suffix:
                    for row in rows:
                        write(row + suffix)
                else:
                    for row in rows:
                        write(row)


def _copy_text(rows: list[tuple], suffix: tuple) -> str | None:
    """COPY's text format of rows of ints, plain text, dates, datetimes and Decimals; None when a
    value is NULL or would need escaping."""
    if not rows or None in chain.from_iterable(rows) or None in suffix:
        return None
    width = len(rows[0]) + len(suffix)
    line = "\t".join(["%s"] * len(rows[0])) + "".join("\t" + str(value) for value in suffix) + "\n"
    try:
        text = "".join([line % row for row in rows])
    except TypeError:  # a row of another width
        return None
    if (text.count("\n") != len(rows) or text.count("\t") != len(rows) * (width - 1)
            or "\\" in text or "\r" in text):
        return None
    return text
