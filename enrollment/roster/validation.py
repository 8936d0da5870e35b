"""Validating a roster's rows: plain values in, good rows or every row error out (no ORM).

`validate` runs every check of the contract without a query: per-row checks here, then the checks
across rows and against what the database already holds (`consistency`). The per-row checks are
grouped by the cells they read: each `_*_check` builds a closure over the column indexes and its
caches (a local lookup each, on a path run once per cell) that adds every problem to the errors as a
RowError and answers the row's normalised values and whether they were all good. A file has few
distinct villages, amounts and dates, so each is checked once.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from core.tabular import RowError
from enrollment.models import MemberStatus, Relation, Sex
from enrollment.roster import consistency
from enrollment.roster.cells import check_money, check_village, parse_date, plain, quick_id_parser
from enrollment.roster.columns import (
    CATEGORIES,
    CHILD,
    MANGLED_ID,
    RELATIONS,
    SEX_WORDS,
    SEXES,
    STATUS_WORDS,
    Columns,
    status_of,
)
from enrollment.roster.outcome import RosterInvalid
from enrollment.roster.rows import Existing, HouseholdLine, KnownVillage, Row
from enrollment.rules import (
    PHONE_DIGITS_ONLY,
    PHONE_MAX_DIGITS,
    InvalidIdNumber,
    digits_only,
    looks_mangled_by_excel,
    no_policy_message,
    parse_resident_id,
    wrong_amount_message,
)

PROGRESS_EVERY = 1000
_new_line = tuple.__new__  # HouseholdLine without its Python __new__ (one per row)


def validate(rows: list[list], row_numbers: list[int], columns: Columns, existing: Existing, *,
             villages: dict[str, KnownVillage], year: int, contribution_amount: Decimal | None,
             township_id, today: date, report: Callable[[int], None],
             sink: Callable[[Row], None] | None = None) -> list[Row]:
    """Every good row, normalised; raises RosterInvalid listing every bad one.

    `contribution_amount` is the year's policy `contribution.individual` (None: no policy loaded
    for the year, so no contribution can be recorded). `sink` (the write of a real import) gets
    every good row while no row has failed yet: it writes new members and enrollments meanwhile;
    a refused file rolls them back with the rest. A row repeating an earlier row's receipt number
    never reaches it (the receipt is unique per year in the database too).
    """
    errors: list[RowError] = []
    place = _place_check(columns, villages, township_id, existing.households, errors.append)
    person = _person_check(columns, today, errors.append)
    standing = _standing_check(columns, errors.append)
    payment = _payment_check(columns, year, contribution_amount, errors.append)
    life = _status_check(columns, today, year, errors.append) if "status" in columns.index else None
    status, status_date, status_reason, status_ok = None, None, "", True
    registered_members = existing.members
    add_error = errors.append
    header_contribution = columns.header.get("contribution", "")
    i_contribution = columns.index.get("contribution")
    receipt_holders = existing.receipts
    receipts_in_file: dict[str, int] = {}  # receipt number -> the first row recording it
    repeated_receipts: dict[str, list[int]] = {}  # receipt -> every row of a receipt used more than once
    header_receipt = columns.header.get("receipt_no", "")
    width = columns.width
    blank = [""] * width
    good: list[Row] = []
    households: dict[str, list[HouseholdLine]] = {}  # household number -> its rows, good or not
    ids_in_file: dict[str, int] = {}  # ID -> the first row it is on
    repeated: dict[str, list[int]] = {}  # ID -> every row of an ID listed more than once

    for position, cells in enumerate(rows):
        if position % PROGRESS_EVERY == 0 and position:
            report(position)
        if len(cells) < width:
            cells = cells + blank[len(cells):]
        row = row_numbers[position]
        village_id, village_text, household_no, head_text, place_ok = place(row, cells)
        name, resident, sex, birth, person_ok = person(row, cells)
        relation, category, phone, standing_ok = standing(row, cells, sex, resident)
        contribution, paid, receipt, payment_ok = payment(row, cells)
        if life is not None:
            status, status_date, status_reason, status_ok = life(row, cells, birth, contribution)
        if contribution is not None and status is None and resident is not None:
            registered = registered_members.get(resident.number)
            if (registered is not None and registered.status != MemberStatus.ACTIVE
                    and registered.status_date is not None and registered.status_date.year < year):
                add_error(RowError(row, header_contribution, str(cells[i_contribution]),
                                   f"{registered.name}已于{registered.status_date.isoformat()}"
                                   f"{STATUS_WORDS[registered.status]}，不能登记{year}年度的缴费"))
                payment_ok = False
        same_person_again = False
        if resident is not None:
            first_row = ids_in_file.setdefault(resident.number, row)
            if first_row != row:
                repeated.setdefault(resident.number, [first_row]).append(row)
                same_person_again = True  # listed as a repeated ID, not again for its receipt
        if receipt and contribution is not None and not same_person_again:
            first_row = receipts_in_file.setdefault(receipt, row)
            if first_row != row:
                repeated_receipts.setdefault(receipt, [first_row]).append(row)
                payment_ok = False
            holder = receipt_holders.get(receipt)
            if holder is not None and (resident is None or holder.id_number != resident.number):
                errors.append(RowError(row, header_receipt, receipt,
                                       f"收据号{receipt}在{year}年度已用于户号{holder.household_number}的"
                                       f"{holder.name}，一个收据号每年只能用一次"))
                payment_ok = False
        if household_no:
            households.setdefault(household_no, []).append(_new_line(HouseholdLine, (
                row, village_text, head_text, resident.number if resident else None, relation)))
        if place_ok and person_ok and standing_ok and payment_ok and status_ok:
            item = Row(row, village_id, household_no, head_text, name, resident.number, sex, birth,
                       relation, category, phone, contribution, paid, receipt, status, status_date, status_reason)
            good.append(item)
            if sink is not None and not errors:
                sink(item)
    report(len(rows))

    header = columns.header
    errors += consistency.repeated_ids(repeated, header)
    errors += consistency.repeated_receipts(repeated_receipts, header)
    errors += consistency.households(households, existing, villages, header)
    errors += consistency.against_database(good, households, existing, header, year=year)
    if errors:
        errors.sort(key=lambda e: (e.row, columns.rank(e.column)))
        raise RosterInvalid(errors)
    return good


def _place_check(columns: Columns, villages, township_id, registered, add):
    header, index = columns.header, columns.index
    i_village, i_household, i_head = index["village_code"], index["household_no"], index["head_id_number"]
    village_checks: dict[str, tuple] = {}

    def place(row: int, cells: list) -> tuple[int | None, str, str, str, bool]:
        """Village, household number and the head's ID (compared as text with the member rows)."""
        ok = True
        village_text = cells[i_village]
        if type(village_text) is not str:
            village_text = plain(village_text)
        checked = village_checks.get(village_text)
        if checked is None:
            checked = village_checks[village_text] = check_village(village_text, villages, township_id)
        village_id, village_reason = checked
        if village_reason:
            add(RowError(row, header["village_code"], village_text, village_reason)); ok = False
        household_no = cells[i_household]
        if type(household_no) is not str:
            household_no = plain(household_no)
        if not household_no:
            add(RowError(row, header["household_no"], household_no, "户号不能为空")); ok = False
        elif len(household_no) > 30:
            add(RowError(row, header["household_no"], household_no, "户号最长30个字符")); ok = False
        # any number unique in the county is taken from a roster (docs/contract.md, "Roster file"):
        # a county's older numbering stays; the clerk's form numbers new households itself
        head_raw = cells[i_head]
        head_text = str(head_raw).upper()
        if not head_text:
            add(RowError(row, header["head_id_number"], head_text, "户主身份证号不能为空")); ok = False
        elif type(head_raw) is not str or ("E" in head_text and looks_mangled_by_excel(head_text)):
            add(RowError(row, header["head_id_number"], str(head_raw), MANGLED_ID)); ok = False
        return village_id, village_text, household_no, head_text, ok

    return place


def _person_check(columns: Columns, today: date, add):
    header, index = columns.header, columns.index
    i_name, i_id, i_sex, i_birth = index["name"], index["id_number"], index.get("sex"), index.get("birth_date")
    quick_id = quick_id_parser(today)
    dates: dict[str, date | None] = {}

    def person(row: int, cells: list):
        """Name, ID number, and the sex and birth date, which must agree with the ID."""
        ok = True
        name = cells[i_name]
        if not name:
            add(RowError(row, header["name"], name, "姓名不能为空")); ok = False
        elif len(name) > 30:
            add(RowError(row, header["name"], name, "姓名最长30个字")); ok = False
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
        # sex and birth date follow from the ID: a blank cell (or no such column) takes them from
        # it, a given one must agree with it
        sex_text = cells[i_sex] if i_sex is not None else ""
        sex = SEXES.get(sex_text) or SEXES.get(sex_text.lower())
        if not sex_text:
            sex = resident.sex if resident is not None else None
        elif sex is None:
            add(RowError(row, header["sex"], sex_text, "性别应为 男 或 女（或 M、F）")); ok = False
        elif resident is not None and resident.sex != sex:
            add(RowError(row, header["sex"], sex_text,
                         f"性别与身份证号不符：按身份证号应为{SEX_WORDS[resident.sex]}")); ok = False
        birth_text = cells[i_birth] if i_birth is not None else ""
        if birth_text in dates:
            birth = dates[birth_text]
        else:
            birth = dates[birth_text] = parse_date(birth_text)
        if not birth_text:
            birth = resident.birth_date if resident is not None else None
        elif birth is None:
            add(RowError(row, header["birth_date"], birth_text,
                         "出生日期不是有效日期，应写成 1990-01-31 的样式")); ok = False
        elif resident is not None and resident.birth_date != birth:
            add(RowError(row, header["birth_date"], birth_text,
                         f"出生日期与身份证号不符：按身份证号应为{resident.birth_date.isoformat()}")); ok = False
        return name, resident, sex, birth, ok

    return person


def _standing_check(columns: Columns, add):
    header, index = columns.header, columns.index
    i_relation, i_category, i_phone = index["relation"], index["category"], index.get("phone")

    def standing(row: int, cells: list, sex: str | None, resident):
        """Relation to the head (an English "child" is son or daughter by sex), category, phone."""
        ok = True
        relation_text = cells[i_relation]
        relation = RELATIONS.get(relation_text) or RELATIONS.get(relation_text.lower())
        if relation is None:
            add(RowError(row, header["relation"], relation_text,
                         "与户主关系应为 户主、配偶、子、女、父母、孙子女、其他 之一")); ok = False
        elif relation == CHILD:
            child_sex = sex or (resident.sex if resident else Sex.MALE)
            relation = Relation.SON if child_sex == Sex.MALE else Relation.DAUGHTER
        category_text = cells[i_category]
        category = CATEGORIES.get(category_text) or CATEGORIES.get(category_text.lower())
        if category is None:
            add(RowError(row, header["category"], category_text,
                         "人员类别应为 普通、五保、低保、贫困 之一")); ok = False
        phone_text = plain(cells[i_phone]) if i_phone is not None else ""
        phone = digits_only(phone_text, max_digits=PHONE_MAX_DIGITS)
        if phone is None:
            add(RowError(row, header["phone"], phone_text, PHONE_DIGITS_ONLY)); ok = False
            phone = ""
        return relation, category, phone, ok

    return standing


def _status_check(columns: Columns, today: date, year: int, add):
    header, index = columns.header, columns.index
    i_status, i_date, i_reason = index["status"], index.get("status_date"), index.get("status_reason")
    dates: dict[str, date | None] = {}

    def life(row: int, cells: list, birth: date | None, contribution):
        """The member's status: blank keeps the registered one (a new member is on the roll); 死亡
        and 迁出本县 need their date, neither in the future nor before birth, and the member then
        records no contribution for a year after it."""
        status_text = str(cells[i_status]).strip()
        date_text = str(cells[i_date]).strip() if i_date is not None else ""
        reason = str(cells[i_reason]).strip() if i_reason is not None else ""
        if not status_text:
            if date_text or reason:
                add(RowError(row, header["status"], status_text, "填写了状态日期或原因，但人员状态是空的"))
                return None, None, "", False
            return None, None, "", True
        status = status_of(status_text)
        if status is None:
            add(RowError(row, header["status"], status_text, "人员状态应为 在册、死亡、迁出本县 之一"))
            return None, None, "", False
        if status == MemberStatus.ACTIVE:
            return status, None, "", True
        ok = True
        word = STATUS_WORDS[status]
        if len(reason) > 200:
            add(RowError(row, header["status_reason"], reason, "状态原因最长200个字")); ok = False
        if not date_text:
            add(RowError(row, header.get("status_date", ""), date_text, f"人员状态为{word}时，状态日期必填"))
            return status, None, reason, False
        on = dates[date_text] if date_text in dates else dates.setdefault(date_text, parse_date(date_text))
        if on is None:
            add(RowError(row, header["status_date"], date_text, "状态日期不是有效日期，应写成 2026-01-05 的样式"))
            return status, None, reason, False
        if on > today:
            add(RowError(row, header["status_date"], date_text, f"{word}日期晚于今天{today.isoformat()}")); ok = False
        if birth is not None and on < birth:
            add(RowError(row, header["status_date"], date_text,
                         f"{word}日期早于出生日期{birth.isoformat()}")); ok = False
        if contribution is not None and on.year < year:
            add(RowError(row, header["status"], status_text,
                         f"已于{on.isoformat()}{word}，不能登记{year}年度的缴费")); ok = False
        return status, on, reason, ok

    return life


def _payment_check(columns: Columns, year: int, contribution_amount: Decimal | None, add):
    header, index = columns.header, columns.index
    i_contribution, i_paid, i_receipt = index.get("contribution"), index.get("paid_date"), index.get("receipt_no")
    latest_paid = date(year, 12, 31)  # the year's contributions are collected from the autumn before
    amounts: dict[str, tuple] = {}
    dates: dict[str, date | None] = {}

    def payment(row: int, cells: list):
        """Contribution, paid date and receipt number: all three, or none of them."""
        contribution_text = cells[i_contribution] if i_contribution is not None else ""
        paid_text = cells[i_paid] if i_paid is not None else ""
        receipt = plain(cells[i_receipt]) if i_receipt is not None else ""
        if not contribution_text:
            if paid_text or receipt:
                add(RowError(row, header["contribution"] if i_contribution is not None else "",
                             contribution_text, "填写了缴费日期或收据号，但缴费金额是空的"))
                return None, None, receipt, False
            return None, None, receipt, True
        ok = True
        checked = amounts.get(contribution_text)
        if checked is None:
            checked = amounts[contribution_text] = check_money(contribution_text)
        contribution, money_reason = checked
        if not money_reason and contribution != contribution_amount:
            money_reason = (no_policy_message(year) if contribution_amount is None
                            else wrong_amount_message(year, contribution_amount))
        if money_reason:
            add(RowError(row, header["contribution"], contribution_text, money_reason)); ok = False
        paid = None
        if not paid_text:
            add(RowError(row, header.get("paid_date", ""), paid_text, "填写了缴费金额时，缴费日期必填")); ok = False
        else:
            paid = dates[paid_text] if paid_text in dates else dates.setdefault(paid_text, parse_date(paid_text))
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
        return contribution, paid, receipt, ok

    return payment
