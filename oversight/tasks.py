"""Background jobs of facility oversight."""
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from claims.models import Claim


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


@shared_task
def claim_flags_refresh(since_hours: int = 48, all_months: bool = False) -> dict:
    """Store the flags (facilities.models.ClaimFlag) of claims new or changed in the last
    `since_hours` hours (48 by default: a missed night is caught up the next one).

    The months recomputed are the discharge months of those claims and the month after each
    (a new stay can make a claim of the next month a readmission); `claim_flags_store` makes a
    month's stored flags match, so running it again changes nothing (idempotent).
    `all_months=True` recomputes every month that has claims (first run, or after a rules change).
    """
    from .flags import claim_flags_store

    claims = Claim.objects.all()
    if not all_months:
        claims = claims.filter(updated_at__gte=timezone.now() - timedelta(hours=since_hours))
    months = set()
    for day in claims.order_by().values_list("discharge_date", flat=True).distinct():
        months.add((day.year, day.month))
        months.add(_next_month(day.year, day.month))
    today = timezone.localdate()
    totals = {"months": 0, "created": 0, "updated": 0, "deleted": 0}
    for year, month in sorted(months):
        if (year, month) > (today.year, today.month):
            continue
        counts = claim_flags_store(year=year, month=month)
        totals["months"] += 1
        for key, value in counts.items():
            totals[key] += value
    return totals
