"""The county's calendar: a local date's first instant, and a month as a span of instants.

Dates that decide a month are local (the project's TIME_ZONE, Asia/Shanghai), while timestamps
are stored in UTC; a query over a month compares timestamps with these bounds.
"""
from datetime import date, datetime, time

from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The first instant of `day` in the county."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def month_span(year: int, month: int) -> tuple[datetime, datetime]:
    """[the month's first local midnight, the next month's first local midnight)."""
    return local_midnight(date(year, month, 1)), local_midnight(date(year + (month == 12), month % 12 + 1, 1))
