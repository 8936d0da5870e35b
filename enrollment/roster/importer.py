"""The roster import itself: read, validate, plan and write a file, all or nothing.

`roster_import` validates every row in plain Python (one code path for every backend), refuses
the whole file listing every invalid row, and otherwise writes households, members, enrollments
and their django-simple-history rows in ONE transaction.

Speed is set-based: the rows that already exist for the file's keys are loaded in a few queries
before validation (`existing`), nothing is queried per row, ids are reserved as one block per
table, and the new members and enrollments are written while the rest of the file is validated
(`new_rows`, `writers`): batches go to a helper thread on the same connection and transaction,
which streams them with PostgreSQL COPY and copies their history rows on the server (bulk_create
at once on SQLite). A refused file rolls everything back. Households and updates follow
validation. Importing the same file again finds every row unchanged and writes nothing, not even
history. bench/import_roster.py measures it.
"""
from __future__ import annotations

import gc
import os
from collections.abc import Callable
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from core.tabular import RowError, TableError, read_table
from enrollment.roster.columns import map_headers
from enrollment.roster.existing import file_keys, load_receipts
from enrollment.roster.existing import load_existing as _load_existing  # replaced by tests
from enrollment.roster.new_rows import NewRows, write_rest
from enrollment.roster.outcome import RosterInvalid, RosterSummary
from enrollment.roster.plan import make_plan
from enrollment.roster.rows import KnownVillage
from enrollment.roster.validation import validate
from enrollment.roster.writers import writer as backend_writer
from enrollment.services import year_contribution
from places.models import Village

STREAM_CHUNK = 5000  # new members written per background batch


def roster_import(*, data: bytes, filename: str, year: int, user=None, township=None,
                  dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
                  ) -> RosterSummary:
    """Validate every row of a roster file, then (unless dry_run) write it in ONE transaction.

    Scheme rules applied (domain.md "Enrollment", contract.md "Roster file"): valid GB 11643 IDs
    agreeing with sex and birth date; a person on one household only; one head per household,
    listed as a member row; a contribution is the year's policy `contribution.individual` exactly
    (the year's policy loaded first), whoever pays it, and needs its paid date (not after the
    scheme year: the year's contributions are collected from the autumn before) and a receipt
    number used once in the year, in the file and against the database; the payer is civil
    affairs for the subsidised groups (五保, 低保, 贫困) and the member otherwise; an enrollment
    already recorded cannot be changed by an import.

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
    columns, header_errors = map_headers(table.headers)
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
        writer = backend_writer(outermost=outermost)
        writer.lock()
        keys = file_keys(rows, columns)
        existing = _load_existing(keys.household_nos, keys.id_numbers, year=year)
        existing.receipts = load_receipts(keys.receipts, year=year)
        new_rows = None if dry_run else NewRows(writer, existing, keys, year=year, user=user, reason=reason,
                                                chunk=STREAM_CHUNK)
        try:
            good = validate(rows, row_numbers, columns, existing, villages=_villages(), year=year,
                            contribution_amount=year_contribution(year),
                            township_id=township_id, today=timezone.localdate(),
                            sink=new_rows.add if new_rows is not None else None,
                            report=lambda done: report(done // validate_share))
            plan = make_plan(good, existing)
            if new_rows is None:
                report(total)
                return plan.summary
            new_rows.close()
        except BaseException:
            if new_rows is not None:
                new_rows.abort()
            raise
        write_rest(writer, plan, new_rows, year=year, user=user,
                   report=lambda fraction: report(total // 2 + int(total * fraction / 2)))
        report(total)
    return plan.summary


def _read(data: bytes, filename: str):
    try:
        return read_table(data, filename)
    except TableError as exc:
        raise RosterInvalid([RowError(0, "", "", exc.message)]) from exc


def _villages() -> dict[str, KnownVillage]:
    """Every village by code: a county has a few hundred."""
    return {code: KnownVillage(pk, township_id)
            for pk, code, township_id in Village.objects.values_list("id", "code", "township_id")}
