"""The annual cap under concurrency (docs/rules.md, "Claims": the cap holds per member per scheme
year across all their claims that are not rejected, also when two claims of the same member are
settled at the same moment; docs/contract.md, "Policy file", step 5).

Every write that changes what a member holds against the cap of a year locks that member's
`MemberYearCap` row first (`lock_cap`: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, which
creates the row when missing and row-locks it either way), and only then reads what the member's
claims already hold. Two settlements of the same member at the same instant therefore run one after
the other on PostgreSQL, and the second is capped by what the first took. `refresh_cap` writes the
new sum while the lock is held.
"""
from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from core.money import FEN, ZERO

from .models import Claim, MemberYearCap, Recovery


def lock_cap(*, member_id: int, year: int) -> MemberYearCap:
    """Take the member's cap row for the year under a row lock, creating it when missing.

    One statement: INSERT ... ON CONFLICT (member_id, year) DO UPDATE SET used = used RETURNING.
    On PostgreSQL the DO UPDATE row-locks the existing row until the transaction ends (as SELECT
    ... FOR UPDATE would), and two first claims of a member racing to create the row both end up
    waiting on the same row lock instead of one failing. SQLite (3.35+) runs the same statement
    (it has a single writer anyway); other databases insert-if-missing, then SELECT FOR UPDATE.
    """
    if connection.vendor in ("postgresql", "sqlite"):
        meta, quote = MemberYearCap._meta, connection.ops.quote_name
        table = quote(meta.db_table)
        member_col, year_col, used_col = (quote(meta.get_field(name).column) for name in ("member", "year", "used"))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({member_col}, {year_col}, {used_col}) VALUES (%s, %s, 0) "
                f"ON CONFLICT ({member_col}, {year_col}) DO UPDATE SET {used_col} = {table}.{used_col} "
                f"RETURNING {quote(meta.pk.column)}, {used_col}",
                [member_id, year],
            )
            pk, used = cursor.fetchone()
        return MemberYearCap(pk=pk, member_id=member_id, year=year, used=Decimal(str(used)).quantize(FEN))
    MemberYearCap.objects.bulk_create([MemberYearCap(member_id=member_id, year=year, used=ZERO)],
                                      ignore_conflicts=True)
    return MemberYearCap.objects.select_for_update().get(member_id=member_id, year=year)


def refresh_cap(cap: MemberYearCap, *, used: Decimal | None = None) -> None:
    """Set `used` while holding the lock: recomputed from the claims (the truth), or `used` when
    the caller has just summed them under the same lock (a settlement: its stays plus itself)."""
    if used is None:
        held = Claim.objects.holding_cap().filter(member_id=cap.member_id, year=cap.year)
        used = ((held.aggregate(total=Sum("compensation"))["total"] or ZERO)
                - (Recovery.objects.filter(claim__in=held).aggregate(total=Sum("amount"))["total"] or ZERO))
    if used != cap.used:
        cap.used = used
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {MemberYearCap._meta.db_table} SET used = %s WHERE id = %s",
                           [connection.ops.adapt_decimalfield_value(used, 18, 2), cap.pk])
