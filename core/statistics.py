"""Planner statistics after a bulk load (PostgreSQL).

A table just loaded by a bulk import has no statistics until autovacuum's next ANALYZE (a minute
or more later): meanwhile the planner guesses, and a query run right after the import (the
clerks' quote_claims on the roster just imported) can take the wrong index. `refresh_statistics`
ANALYZEs, in the import's own transaction, each table that received many rows compared with what
it held, on the columns that lookups filter and join by (the whole table costs three times more
and the other columns are not searched by); autovacuum completes the rest later.
"""
from __future__ import annotations

from django.db import connection

# a table is analysed when a load wrote at least this many rows, and at least this share of the
# rows the planner believed it held (autovacuum's default threshold is a tenth)
ANALYZE_MIN_ROWS = 1000
ANALYZE_MIN_SHARE = 0.1


def refresh_statistics(written: list[tuple[str, list[str], int]]) -> list[str]:
    """ANALYZE each (table, key columns, rows written) that received many rows; answers the
    tables analysed. Inside a transaction ANALYZE sees the transaction's own new rows, and its
    statistics are kept only if the transaction commits. Nothing on other databases."""
    if connection.vendor != "postgresql":
        return []
    analysed = []
    with connection.cursor() as cursor:
        for table, columns, rows in written:
            if rows < ANALYZE_MIN_ROWS:
                continue
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            believed = max(cursor.fetchone()[0], 0)  # -1: never analysed
            if rows < believed * ANALYZE_MIN_SHARE:
                continue
            cursor.execute(f"ANALYZE {table} ({', '.join(columns)})")
            analysed.append(table)
    return analysed
