"""Writing the demo county's places, facilities and people (the enrollment part of `seed_demo`):
the second stage after the builders of enrollment/demo.py, inside seed_demo's transaction, with
`bulk_create` and one "created" history row per household, member, enrollment and facility
(change reason 演示数据)."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection

from accounts.models import Role, User
from enrollment.demo import HISTORY_REASON, DemoCounty
from enrollment.models import Enrollment, Household, Member, MemberStatus, Relation
from enrollment.services import member_move
from facilities.models import Facility
from places.models import Township, Village, VillagePopulation


@dataclass
class WriteContext:
    county: DemoCounty
    now: object
    townships: dict[str, int] = field(default_factory=dict)  # code -> pk
    villages: dict[str, int] = field(default_factory=dict)
    facilities: dict[str, int] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # username -> user
    summary: dict[str, int] = field(default_factory=dict)

    def history(self, model, objects: list) -> None:
        model.history.bulk_history_create(
            objects, batch_size=1000, default_date=self.now, default_change_reason=HISTORY_REASON,
        )


def write_places(ctx: WriteContext) -> None:
    county = ctx.county
    townships = Township.objects.bulk_create(Township(code=t.code, name=t.name) for t in county.townships)
    ctx.townships = {t.code: t.pk for t in townships}
    villages = Village.objects.bulk_create(
        Village(code=v.code, name=v.name, township_id=ctx.townships[v.township_code]) for v in county.villages
    )
    ctx.villages = {v.code: v.pk for v in villages}
    populations = VillagePopulation.objects.bulk_create(
        VillagePopulation(village_id=ctx.villages[v.code], year=county.config.year, population=v.population)
        for v in county.villages if v.population
    )
    ctx.summary.update(townships=len(townships), villages=len(villages), populations=len(populations))


def write_facilities(ctx: WriteContext) -> None:
    facilities = Facility.objects.bulk_create(
        Facility(code=f.code, name=f.name, level=f.level,
                 township_id=ctx.townships[f.township_code] if f.township_code else None,
                 agreement_start=f.agreement_start, agreement_end=f.agreement_end, status=f.status,
                 suspended_from=f.suspended_from, suspension_reason=f.suspension_reason,
                 bank_name=f.bank_name, bank_account=f.bank_account)
        for f in ctx.county.facilities
    )
    ctx.history(Facility, facilities)
    ctx.facilities = {f.code: f.pk for f in facilities}
    ctx.summary["facilities"] = len(facilities)


def write_households(ctx: WriteContext) -> None:
    """Households, members and enrollments with their history rows, as plain rows (see _Rows).

    Ids are allocated up front so a household points at its head before the head's row exists
    (foreign keys are checked at commit); the ORM's per-value preparation would take most of the
    time for 20,000 members, so rows go straight to executemany (SQLite) or COPY (PostgreSQL).
    """
    county = ctx.county
    year = county.config.year
    now = ctx.now
    clerks = {u.township_id: u.pk for u in ctx.users.values() if u.role == Role.TOWNSHIP_CLERK}
    all_members = [m for h in county.households for m in h.members]
    household_ids = _allocate(Household, len(county.households))
    member_ids = iter(_allocate(Member, len(all_members)))
    enrollment_ids = iter(_allocate(Enrollment, sum(1 for m in all_members if m.enrollment)))
    households = _Rows(Household, ["id", "number", "village_id", "head_id", "address", "phone",
                                   "bank_name", "bank_account", "card_number", "created_at"])
    members = _Rows(Member, ["id", "household_id", "name", "id_number", "sex", "birth_date",
                             "relation", "category", "phone", "status", "status_date", "status_reason"])
    enrollments = _Rows(Enrollment, ["id", "member_id", "year", "contribution", "receipt_no",
                                     "paid_date", "payer", "recorded_by_id", "recorded_at"])
    for household_id, spec in zip(household_ids, county.households):
        # the demo clerk of the township recorded its contributions (no clerk: left blank)
        recorded_by = clerks.get(ctx.townships[spec.village_code[:9]])
        head_id = None
        for m in spec.members:
            member_id = next(member_ids)
            head_id = head_id or member_id  # members[0] is the head
            members.add(member_id, household_id, m.name, m.id_number, m.sex, m.birth_date,
                        m.relation, m.category, m.phone, m.status, m.status_date, m.status_reason)
            e = m.enrollment
            if e is not None:
                enrollments.add(next(enrollment_ids), member_id, year, e.contribution, e.receipt_no,
                                e.paid_date, e.payer, recorded_by, now)
        households.add(household_id, spec.number, ctx.villages[spec.village_code], head_id,
                       spec.address, spec.phone, spec.bank_name, spec.bank_account,
                       spec.card_number, now)
    for rows in (households, members, enrollments):
        rows.write(history_date=now)
    ctx.summary.update(households=len(households.rows), members=len(members.rows),
                       enrollments=len(enrollments.rows))
    _demo_move(ctx, household_ids)


def _demo_move(ctx: WriteContext, household_ids: list[int]) -> None:
    """One member moved to another household of the same village on 1 March, by the township's
    clerk (`member_move`: the move and the history row kept): the last member of the first
    household of three or more whose village has another household of at most five."""
    clerks = {u.township_id: u for u in ctx.users.values() if u.role == Role.TOWNSHIP_CLERK}
    specs = list(zip(household_ids, ctx.county.households))
    for household_id, spec in specs:
        clerk = clerks.get(ctx.townships[spec.village_code[:9]])
        if clerk is None or len(spec.members) < 3 or spec.members[-1].status != MemberStatus.ACTIVE:
            continue
        target = next((other for _, other in specs if other is not spec
                       and other.village_code == spec.village_code and len(other.members) <= 5), None)
        if target is None:
            continue
        member = Member.objects.get(household_id=household_id, id_number=spec.members[-1].id_number)
        member_move(user=clerk, member=member, to_household_number=target.number, relation=Relation.OTHER,
                    on=date(ctx.county.config.year, 3, 1), reason="分户")
        return


def _allocate(model, count: int) -> list[int]:
    """`count` fresh primary keys of the model's table, taken in this transaction."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        highest = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            highest = max(highest, found[0] if found else 0)
    return list(range(highest + 1, highest + 1 + count))


class _Rows:
    """Rows of one model's table given as plain values, written with their "created" history rows."""

    HISTORY = ["history_date", "history_change_reason", "history_type", "history_user_id"]

    def __init__(self, model, columns: list[str]):
        self.model = model
        self.columns = columns
        self.rows: list[tuple] = []

    def add(self, *values) -> None:
        self.rows.append(values)

    def write(self, *, history_date) -> None:
        _insert(self.model, self.columns, self.rows)
        history = self.model.history.model
        tracked = [f.attname for f in history.tracked_fields]
        picks = [self.columns.index(name) for name in tracked]
        extra = (history_date, HISTORY_REASON, "+", None)
        _insert(history, tracked + self.HISTORY,
                [tuple(row[i] for i in picks) + extra for row in self.rows])


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [model._meta.get_field(name).column for name in columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(map(quote, names))}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # SQLite (and others): aware datetimes as the backend stores them, the rest by the driver
        timestamps = [i for i, value in enumerate(rows[0]) if isinstance(value, datetime)]
        if timestamps:
            adapt = functools.lru_cache(maxsize=64)(connection.ops.adapt_datetimefield_value)
            rows = [list(row) for row in rows]
            for row in rows:
                for i in timestamps:
                    row[i] = adapt(row[i])
        placeholders = ", ".join(["%s"] * len(names))
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(map(quote, names))}) VALUES ({placeholders})", rows
        )


