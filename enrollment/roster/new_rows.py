"""Writing an import: the new members and enrollments while validation goes on (`NewRows`),
then households and updates, which need the whole file (`write_rest`), then the fund booking."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import IntegrityError
from django.utils import timezone

from core.statistics import refresh_statistics
from enrollment.models import Enrollment, Household, Member, MemberStatus, Payer
from enrollment.roster.columns import SUBSIDISED
from enrollment.roster.existing import FileKeys
from enrollment.roster.outcome import conflict
from enrollment.roster.plan import Plan, member_changes
from enrollment.roster.rows import (
    DATED_MEMBER_COLUMNS,
    ENROLLMENT_COLUMNS,
    HISTORY_COLUMNS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    EnrollmentRecord,
    Existing,
    HistoryStamp,
    HouseholdRecord,
    MemberRecord,
    Row,
)
from ledger.services import contributions_book_bulk

# the columns the lookups after an import filter and join by (the roster's own loading, the
# claims' batch lookups, the household search): their statistics are refreshed after a big import
ANALYZED_COLUMNS = {
    Household: ["id", "number", "village_id", "head_id", "card_number"],
    Member: ["id", "household_id", "id_number"],
    Enrollment: ["id", "member_id", "year", "paid_date"],
}
_record = tuple.__new__  # a record without its NamedTuple's Python __new__ (two per new member)


class NewRows:
    """Writes the new members and enrollments of an import while validation checks the next rows.

    Ids come from blocks reserved up front for what the file can create at most (exactly that for
    a valid file). Every `chunk` new members go to the writer's background() (PostgreSQL: a helper
    thread on the same connection and transaction, so the server inserts while Python validates;
    elsewhere at once). write_rest then adds households and updates, which need the whole file.
    """

    def __init__(self, writer, existing: Existing, keys: FileKeys, *, year: int, user, reason: str,
                 chunk: int):
        self.writer = writer
        self.existing = existing
        self.year = year
        self.chunk = chunk
        self.user_id = getattr(user, "pk", None)
        self.now = timezone.now()
        self.reason = reason
        self.created = HistoryStamp(self.now, reason, "+", self.user_id)
        new_households = sum(1 for no in keys.household_nos if no not in existing.households)
        new_members = [i for i in keys.id_numbers if i not in existing.members]
        new_leaving = sum(1 for i in new_members if i in keys.leaving)
        new_enrollments = sum(1 for i in keys.with_contribution
                              if i not in existing.members or existing.members[i].id not in existing.enrollments)
        writer.prepare(members=len(new_members), enrollments=new_enrollments)
        self._household_ids = iter(writer.allocate(Household, new_households))
        # one block: the members on the roll first, then those written with a status date (a
        # block of their own, written last); a few ids may stay unused at the end of the first
        ids = writer.allocate(Member, len(new_members) + new_leaving)
        self._member_ids = iter(ids[:len(new_members)])
        self._leaving_ids = iter(ids[len(new_members):])
        self._leaving: list[tuple] = []
        self._enrollment_ids = iter(writer.allocate(Enrollment, new_enrollments))
        self.household_ids: dict[str, int] = {}  # new household number -> its id
        self.member_ids: dict[str, int] = {}  # new member's ID number -> its id
        self.enrollments = 0
        self.amounts_by_date: dict[date, Decimal] = defaultdict(Decimal)
        self._members: list[MemberRecord] = []
        self._enrollment_records: list[EnrollmentRecord] = []
        self._background = writer.background()

    def add(self, item: Row) -> None:
        member = self.existing.members.get(item.id_number)
        if member is None:
            if item.id_number in self.member_ids:
                return  # the same person twice in the file: refused after validation
            if item.status_date is None:
                member_id = self.member_ids[item.id_number] = next(self._member_ids)
                self._members.append(_record(MemberRecord, (
                    member_id, self._household_id(item.household_no), item.name, item.id_number, item.sex,
                    item.birth_date, item.relation, item.category, item.phone, MemberStatus.ACTIVE, "")))
            else:
                member_id = self.member_ids[item.id_number] = next(self._leaving_ids)
                self._leaving.append((
                    member_id, self._household_id(item.household_no), item.name, item.id_number, item.sex,
                    item.birth_date, item.relation, item.category, item.phone, item.status, item.status_reason,
                    item.status_date))
        else:
            member_id = member.id
        if item.contribution is not None and (member is None or member_id not in self.existing.enrollments):
            payer = Payer.CIVIL_AFFAIRS if item.category in SUBSIDISED else Payer.SELF
            self._enrollment_records.append(_record(EnrollmentRecord, (
                next(self._enrollment_ids), member_id, self.year, item.contribution, item.receipt_no,
                item.paid_date, payer, self.user_id)))
            self.amounts_by_date[item.paid_date] += item.contribution
            self.enrollments += 1
        if len(self._members) >= self.chunk or len(self._enrollment_records) >= self.chunk:
            self._flush()

    def _household_id(self, household_no: str) -> int:
        in_db = self.existing.households.get(household_no)
        if in_db is not None:
            return in_db.id
        household_id = self.household_ids.get(household_no)
        if household_id is None:
            household_id = self.household_ids[household_no] = next(self._household_ids)
        return household_id

    def _flush(self) -> None:
        members, enrollments = self._members, self._enrollment_records
        self._members, self._enrollment_records = [], []
        # in ID-number order: the unique ID index (the costliest of the table) is then written
        # in runs instead of all over
        members.sort(key=_by_id_number)
        self._background.submit(self._insert, members, enrollments)

    def _insert(self, members: list[MemberRecord], enrollments: list[EnrollmentRecord]) -> None:
        if members:
            self.writer.insert_with_history(Member, MEMBER_COLUMNS, members, [], (), self.created)
        if enrollments:
            self.writer.insert_with_history(Enrollment, ENROLLMENT_COLUMNS, enrollments, ["recorded_at"],
                                            (self.now,), self.created)

    def close(self) -> None:
        """Write what is left and wait for every write; a failed write raises here."""
        if self._members or self._enrollment_records:
            self._flush()
        if self._leaving:
            leaving, self._leaving = self._leaving, []
            self._background.submit(self.writer.insert_with_history, Member, DATED_MEMBER_COLUMNS, leaving, [], (),
                                    self.created)
        try:
            self._background.close()
        except IntegrityError as exc:
            raise conflict() from exc

    def abort(self) -> None:
        """Drop the writes not started and wait for the one running (the transaction rolls back)."""
        self._background.abort()


def _by_id_number(record: MemberRecord) -> str:
    return record.id_number


def write_rest(writer, plan: Plan, new_rows: NewRows, *, year: int, user, report) -> None:
    """Households and updated members with their history, in the caller's transaction, after
    new_rows wrote the new members and enrollments; then book the contributions."""
    summary = plan.summary
    if len(new_rows.member_ids) != summary.members_created or new_rows.enrollments != summary.enrollments_created:
        raise RuntimeError("roster import: the rows written differ from the plan")  # a bug, never data
    now = new_rows.now
    changed = HistoryStamp(now, new_rows.reason, "~", new_rows.user_id)
    new_households, updated_households, updated_members = _household_records(plan, new_rows)
    steps = [
        (Household, HOUSEHOLD_COLUMNS, new_households, updated_households, ("created_at",)),
        (Member, DATED_MEMBER_COLUMNS, [], updated_members, ()),
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
                writer.insert(model.history.model, columns + HISTORY_COLUMNS,
                              [record + changed for record in updated])
                done += len(updated)
                report(done / work)
        _book_contributions(new_rows.amounts_by_date, year=year, user=user, at=now)
        writer.finish()
    except IntegrityError as exc:
        raise conflict() from exc
    written = {Household: len(new_households), Member: len(new_rows.member_ids), Enrollment: new_rows.enrollments}
    refresh_statistics([(model._meta.db_table, ANALYZED_COLUMNS[model], rows) for model, rows in written.items()])


def _household_records(plan: Plan, new_rows: NewRows):
    """(new households, updated households, updated members) as records to write."""
    existing = plan.existing
    new_households, updated_households, updated_members = [], [], []
    for household_no, items, head, in_db in plan.households:
        household_id = new_rows.household_ids[household_no] if in_db is None else in_db.id
        head_id = in_db.head_id if in_db is not None else None
        for item in items:
            member = existing.members.get(item.id_number)
            if member is None:
                member_id = new_rows.member_ids[item.id_number]
            else:
                member_id = member.id
                if member_changes(member, item):
                    status = ((item.status, item.status_reason, item.status_date) if item.status is not None
                              else (member.status, member.status_reason, member.status_date))
                    updated_members.append((
                        member_id, household_id, item.name, item.id_number, item.sex, item.birth_date,
                        item.relation, item.category, item.phone or member.phone, *status))
            if item is head:
                head_id = member_id
        phone = head.phone if head is not None else ""
        if in_db is None:
            new_households.append(HouseholdRecord(household_id, household_no, items[0].village_id, head_id,
                                                  "", phone, "", "", "HZ" + household_no))
        elif head_id != in_db.head_id or (phone and phone != in_db.phone):
            updated_households.append(HouseholdRecord(
                household_id, household_no, in_db.village_id, head_id, in_db.address, phone or in_db.phone,
                in_db.bank_name, in_db.bank_account, in_db.card_number))
    return new_households, updated_households, updated_members


def _book_contributions(amounts_by_date: dict, *, year: int, user, at) -> None:
    """The closed fund books every recorded contribution as individual income, dated by its paid
    date (contract): one ledger transaction per paid date of this import, in its transaction."""
    if amounts_by_date:
        contributions_book_bulk(user=user, year=year, amounts_by_date=dict(amounts_by_date),
                                ref_prefix=f"roster:{at:%Y%m%dT%H%M%S%f}")
