"""What the database already holds for a roster file's keys, loaded before validation.

Set-based: a few queries for the whole file, none per row. On PostgreSQL one query per table,
each key list sent as ONE parameter; elsewhere chunked `IN` lists.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection

from enrollment.models import Enrollment, Household, Member, MemberStatus
from enrollment.roster.cells import plain
from enrollment.roster.columns import Columns, status_of
from enrollment.roster.rows import Existing, ExistingHousehold, ExistingMember, ReceiptHolder, RecordedEnrollment

CHUNK = 5000
_as = tuple.__new__  # a fetched row as its NamedTuple, without the NamedTuple's Python __new__


class FileKeys(NamedTuple):
    household_nos: list[str]
    id_numbers: list[str]
    with_contribution: set[str]  # the IDs of rows that record a contribution
    receipts: list[str]  # the receipt numbers of rows that record a contribution
    leaving: set[str]  # the IDs of rows whose status is died or moved out (written with its date)


def file_keys(rows: list[list], columns: Columns) -> FileKeys:
    """The file's household numbers and IDs, normalised as validation does, in one cheap pass.

    They load the rows already in the database before validation, so new rows can be written
    while the file is still being checked (a refused file rolls them back)."""
    i_household, i_id = columns.index["household_no"], columns.index["id_number"]
    i_contribution = columns.index.get("contribution")
    i_receipt = columns.index.get("receipt_no")
    household_nos: dict[str, None] = {}
    id_numbers: dict[str, None] = {}
    with_contribution: set[str] = set()
    receipts: dict[str, None] = {}
    leaving: set[str] = set()
    i_status = columns.index.get("status")
    for cells in rows:
        width = len(cells)
        if i_household < width:
            number = cells[i_household]
            household_nos[number if type(number) is str else plain(number)] = None
        if i_id < width:
            id_number = str(cells[i_id]).strip().upper()
            id_numbers[id_number] = None
            if (i_status is not None and i_status < width and cells[i_status]
                    and status_of(cells[i_status]) not in (None, MemberStatus.ACTIVE)):
                leaving.add(id_number)
            if i_contribution is not None and i_contribution < width and cells[i_contribution]:
                with_contribution.add(id_number)
                if i_receipt is not None and i_receipt < width:
                    receipts[plain(cells[i_receipt])] = None
    household_nos.pop("", None)
    id_numbers.pop("", None)
    receipts.pop("", None)
    return FileKeys(list(household_nos), list(id_numbers), with_contribution, list(receipts), leaving)


def load_receipts(receipts: list[str], *, year: int) -> dict[str, ReceiptHolder]:
    """Which of the file's receipt numbers are recorded for `year` already, and for whom."""
    if not receipts:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # `receipt_no <> ''` lets the planner use the partial unique (year, receipt_no) index
            cursor.execute(
                "SELECT e.receipt_no, m.id_number, h.number, m.name FROM enrollment_enrollment e"
                " JOIN enrollment_member m ON m.id = e.member_id"
                " JOIN enrollment_household h ON h.id = m.household_id"
                f" WHERE e.year = %s AND e.receipt_no <> '' AND e.receipt_no = {_ANY_KEY}",
                [year, *_key_params(receipts)],
            )
            return {values[0]: _as(ReceiptHolder, values[1:]) for values in cursor.fetchall()}
    holders = {}
    for chunk in _chunks(receipts, _chunk_size()):
        for receipt_no, *holder in Enrollment.objects.filter(year=year, receipt_no__in=chunk).values_list(
            "receipt_no", "member__id_number", "member__household__number", "member__name",
        ):
            holders[receipt_no] = ReceiptHolder._make(holder)
    return holders


def load_existing(household_nos: list[str], id_numbers: list[str], *, year: int) -> Existing:
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
            household = ExistingHousehold._make(values)
            households[household.number] = household
    members = {}
    for chunk in _chunks(id_numbers, size):
        for values in Member.objects.filter(id_number__in=chunk).values_list(
            "id", "household_id", "name", "id_number", "sex", "birth_date", "relation", "category",
            "phone", "household__number", "status", "status_date", "status_reason",
        ):
            member = ExistingMember._make(values)
            members[member.id_number] = member
    enrollments = {}
    member_ids = [member.id for member in members.values()]
    for chunk in _chunks(member_ids, size):
        for member_id, *recorded in Enrollment.objects.filter(
            year=year, member_id__in=chunk
        ).values_list("member_id", "contribution", "receipt_no", "paid_date"):
            enrollments[member_id] = RecordedEnrollment._make(recorded)
    cards = ["HZ" + no for no in household_nos if no not in households]
    used_cards = {}
    for chunk in _chunks(cards, size):
        used_cards.update(Household.objects.filter(card_number__in=chunk).values_list("card_number", "number"))
    return Existing(households, members, enrollments, used_cards)


# a key list as ONE text joined by U+001F (split on the server: far cheaper to send than a text[]
# of 100,000 elements); the rare key holding that character goes in a small text[] beside it
_KEY_SEPARATOR = "\x1f"
_ANY_KEY = "ANY(string_to_array(%s, chr(31)) || %s::text[])"


def _key_params(keys: list[str]) -> list:
    odd = [key for key in keys if _KEY_SEPARATOR in key] if _KEY_SEPARATOR in "".join(keys) else []
    plain_keys = [key for key in keys if _KEY_SEPARATOR not in key] if odd else keys
    return [_KEY_SEPARATOR.join(plain_keys), odd]


def _load_existing_postgres(household_nos: list[str], id_numbers: list[str], *, year: int) -> Existing:
    """As load_existing, one query per table: each key list goes as ONE array parameter."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.id, h.number, h.village_id, h.head_id, h.address, h.phone, h.bank_name,"
            " h.bank_account, h.card_number, m.id_number FROM enrollment_household h"
            f" LEFT JOIN enrollment_member m ON m.id = h.head_id WHERE h.number = {_ANY_KEY}",
            _key_params(household_nos),
        )
        households = {values[1]: _as(ExistingHousehold, values) for values in cursor.fetchall()}
        cursor.execute(
            "SELECT m.id, m.household_id, m.name, m.id_number, m.sex, m.birth_date, m.relation,"
            " m.category, m.phone, h.number, m.status, m.status_date, m.status_reason FROM enrollment_member m"
            f" JOIN enrollment_household h ON h.id = m.household_id WHERE m.id_number = {_ANY_KEY}",
            _key_params(id_numbers),
        )
        members = {values[3]: _as(ExistingMember, values) for values in cursor.fetchall()}
        # each member's enrollment of the year by the unique (member, year) index, one probe per
        # member (LIMIT 1 keeps the subquery a per-member probe): the plan does not depend on the
        # planner's statistics, which a freshly imported table lacks
        cursor.execute(
            "SELECT m.id, e.contribution, e.receipt_no, e.paid_date FROM enrollment_member m"
            " CROSS JOIN LATERAL (SELECT e.contribution, e.receipt_no, e.paid_date FROM enrollment_enrollment e"
            "  WHERE e.member_id = m.id AND e.year = %s LIMIT 1) AS e"
            f" WHERE m.id_number = {_ANY_KEY}",
            [year, *_key_params(id_numbers)],
        )
        enrollments = {values[0]: _as(RecordedEnrollment, values[1:]) for values in cursor.fetchall()}
        cards = ["HZ" + no for no in household_nos if no not in households]
        cursor.execute(f"SELECT card_number, number FROM enrollment_household WHERE card_number = {_ANY_KEY}",
                       _key_params(cards))
        used_cards = dict(cursor.fetchall())
    return Existing(households, members, enrollments, used_cards)


def _chunk_size() -> int:
    limit = connection.features.max_query_params or CHUNK
    return max(100, min(CHUNK, limit - 10))


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
