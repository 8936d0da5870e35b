"""The shapes rows take through an import, each with named fields.

- `Row`: a file row that passed every per-row check, its values normalised;
- `HouseholdLine`: what the household checks need of every row, good or not;
- `Existing*`: what the database already holds for the file's keys;
- `*Record`: a row to write, its fields in the table's column order (COPY and bulk_create).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple


@dataclass(slots=True)
class Row:
    """A data row that passed every per-row check (normalised values)."""

    row: int  # spreadsheet row number
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
    status: str | None = None  # None: the status cell was blank (keep the registered one)
    status_date: date | None = None
    status_reason: str = ""


class HouseholdLine(NamedTuple):
    """One row of a household as the household checks see it (also a row refused for itself)."""

    row: int
    village_code: str
    head_id_number: str
    id_number: str | None  # as parsed; None when the row's own ID was refused (no follow-on errors)
    relation: str | None  # None when the relation cell was refused


class KnownVillage(NamedTuple):
    id: int
    township_id: int


class ExistingHousehold(NamedTuple):
    id: int
    number: str
    village_id: int
    head_id: int | None
    address: str
    phone: str
    bank_name: str
    bank_account: str
    card_number: str
    head_id_number: str | None


class ExistingMember(NamedTuple):
    id: int
    household_id: int
    name: str
    id_number: str
    sex: str
    birth_date: date
    relation: str
    category: str
    phone: str
    household_number: str
    status: str
    status_date: date | None
    status_reason: str


class RecordedEnrollment(NamedTuple):
    """An enrollment of the import's year already recorded: compared with the file's payment."""

    contribution: Decimal
    receipt_no: str
    paid_date: date


class ReceiptHolder(NamedTuple):
    """Who a receipt number of the import's year is already recorded for."""

    id_number: str
    household_number: str
    name: str


@dataclass
class Existing:
    households: dict[str, ExistingHousehold]  # by household number
    members: dict[str, ExistingMember]  # by ID number
    enrollments: dict[int, RecordedEnrollment]  # by member id
    used_cards: dict[str, str]  # card number -> the household number holding it
    receipts: dict[str, ReceiptHolder] = field(default_factory=dict)  # the file's receipts recorded this year


class HouseholdRecord(NamedTuple):
    id: int
    number: str
    village_id: int
    head_id: int | None
    address: str
    phone: str
    bank_name: str
    bank_account: str
    card_number: str


class MemberRecord(NamedTuple):
    """A member to write. The status date is not one of its fields (most members have none, and
    COPY's fast text path takes no NULL): a member with one is written as `record + (date,)`
    under DATED_MEMBER_COLUMNS."""

    id: int
    household_id: int
    name: str
    id_number: str
    sex: str
    birth_date: date
    relation: str
    category: str
    phone: str
    status: str
    status_reason: str


class EnrollmentRecord(NamedTuple):
    id: int
    member_id: int
    year: int
    contribution: Decimal
    receipt_no: str
    paid_date: date
    payer: str
    recorded_by_id: int | None


class HistoryStamp(NamedTuple):
    """The values simple-history adds to each history row (HISTORY_COLUMNS' order)."""

    history_date: datetime
    history_change_reason: str
    history_type: str  # "+" created, "~" changed
    history_user_id: int | None


HOUSEHOLD_COLUMNS = list(HouseholdRecord._fields)
MEMBER_COLUMNS = list(MemberRecord._fields)
DATED_MEMBER_COLUMNS = [*MEMBER_COLUMNS, "status_date"]
ENROLLMENT_COLUMNS = list(EnrollmentRecord._fields)
HISTORY_COLUMNS = list(HistoryStamp._fields)
