"""The plan of an import: which households, members and enrollments are new, changed or
unchanged, counted for the summary (a dry run stops here)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from enrollment.models import Relation
from enrollment.roster.outcome import RosterSummary
from enrollment.roster.rows import Existing, ExistingHousehold, ExistingMember, Row


class PlannedHousehold(NamedTuple):
    number: str
    rows: list[Row]
    head: Row | None  # the file's head row; None when an existing household keeps its head
    existing: ExistingHousehold | None


@dataclass
class Plan:
    summary: RosterSummary
    households: list[PlannedHousehold]
    rows: list[Row]
    existing: Existing


def make_plan(rows: list[Row], existing: Existing) -> Plan:
    """Decide what is new, changed or unchanged, and count it (also for a dry run)."""
    summary = RosterSummary(rows=len(rows))
    by_household: dict[str, list[Row]] = {}
    for item in rows:
        by_household.setdefault(item.household_no, []).append(item)
    households = []
    for household_no, items in by_household.items():
        head = next((item for item in items if item.relation == Relation.HEAD), None)
        in_db = existing.households.get(household_no)
        households.append(PlannedHousehold(household_no, items, head, in_db))
        if in_db is None:
            summary.households_created += 1
        elif head is not None and household_changes(in_db, existing.members.get(head.id_number), head):
            summary.households_updated += 1
    for item in rows:
        member = existing.members.get(item.id_number)
        changed = False
        if member is None:
            summary.members_created += 1
            changed = True
        elif member_changes(member, item):
            summary.members_updated += 1
            changed = True
        if item.contribution is not None and (member is None or member.id not in existing.enrollments):
            summary.enrollments_created += 1
            changed = True
        if not changed:
            summary.unchanged_rows += 1
    return Plan(summary=summary, households=households, rows=rows, existing=existing)


def household_changes(household: ExistingHousehold, head_member: ExistingMember | None, head: Row) -> bool:
    """An existing household gets another head, or the head row gives another phone."""
    return (head_member is None or head_member.id != household.head_id
            or bool(head.phone and head.phone != household.phone))


def member_changes(member: ExistingMember, item: Row) -> bool:
    """The row changes a registered member (an empty phone keeps the registered one)."""
    return (member.name != item.name or member.sex != item.sex or member.birth_date != item.birth_date
            or member.relation != item.relation or member.category != item.category
            or (item.phone != "" and member.phone != item.phone)
            or (item.status is not None
                and (item.status, item.status_date, item.status_reason)
                != (member.status, member.status_date, member.status_reason)))
