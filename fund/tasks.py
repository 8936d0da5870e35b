"""Background jobs of the fund."""
from celery import shared_task
from django.utils import timezone

from .drafts import simulation_task  # noqa: F401  the worker finds the simulation's task here


def last_month(today) -> tuple[int, int]:
    """(year, month) of the month before `today`'s."""
    if today.month == 1:
        return today.year - 1, 12
    return today.year, today.month - 1


@shared_task
def fund_report_store_last_month(year: int | None = None, month: int | None = None) -> dict:
    """Stores version 1 of last month's fund report (or of the given year and month).

    Idempotent per (year, month): when a version is stored already it does nothing, so a repeated
    beat run or a retry never adds versions; a manual regenerate on the dashboard makes n+1.
    A worker killed in the middle stores nothing (the report is one row, inserted in one
    transaction after it is computed) and the next run stores it (tests/faults/test_worker_killed.py).
    """
    from fund.report import fund_report_store_first

    if year is None or month is None:
        year, month = last_month(timezone.localdate())
    report, created = fund_report_store_first(year=year, month=month)
    return {"year": year, "month": month, "version": report.version, "created": created}
