"""Writing roster rows: COPY on PostgreSQL, bulk_create elsewhere, with their history rows.

`writer()` answers the backend's writer. Both take rows as records in the table's column order
(`rows.*Record`) and add the simple-history rows of what they insert. `background()` runs the
streamed batches of new rows: on PostgreSQL a helper thread on the same connection and transaction
(`_Thread`), elsewhere at once (`_Inline`).
"""
from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain

import psycopg
from django.db import DatabaseError, connection

from enrollment.roster.rows import HISTORY_COLUMNS


def writer(*, outermost: bool = False):
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
