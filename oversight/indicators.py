"""Monthly indicators of the designated facilities (机构监管指标), per facility and per level.

A claim counts in the month of its discharge and only when not rejected (as the flags). Per
facility (and the same per level, all facilities of the level in the county) and month:

- admissions: how many claims;
- avg_cost: total cost per admission (yuan, to the fen, half up) and avg_cost_change, its change
  over the same month of the previous year (ratio to 4 places; None without admissions then);
- non_reimbursable_share: non-reimbursable cost / total cost (4 places);
- avg_los: length of stay (discharge − admission, days) per admission, to 0.1 day;
- readmissions: claims flagged `readmission_15d` (oversight.rules);
- compensation_share: the facility's compensation / the county's compensation of the month.

A facility whose avg_cost is above its level's county average that month (the level's total cost
/ the level's admissions) gets a warning for the month; three warnings or more within a calendar
year put it on the suspension-review list (`suspension_review`).

Sums per facility and month are taken in the database (money as integer fen, so every figure is
exact; readmissions with the same LAG window as the flags), per level and the comparisons with
pandas, and turned into Decimal at the end.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from django.db import connection
from django.db.models import Min

from claims.models import Claim, ClaimStatus
from core.money import to_fen, to_ratio
from facilities.models import Facility

from . import rules
from .flags import month_bounds

WARNINGS_FOR_REVIEW = 3
TENTH = Decimal("0.1")


def months_ending(year: int, month: int, count: int = 12) -> list[tuple[int, int]]:
    """The `count` months ending with (year, month), oldest first."""
    index = year * 12 + month - 1
    return [((i // 12), i % 12 + 1) for i in range(index - count + 1, index + 1)]


@dataclass
class Figures:
    """One facility's (or level's) indicators of one month."""

    year: int
    month: int
    admissions: int = 0
    total_cost: Decimal = Decimal("0.00")
    avg_cost: Decimal | None = None
    avg_cost_last_year: Decimal | None = None
    avg_cost_change: Decimal | None = None
    non_reimbursable_share: Decimal | None = None
    avg_los: Decimal | None = None
    readmissions: int = 0
    compensation: Decimal = Decimal("0.00")
    compensation_share: Decimal | None = None
    level_avg_cost: Decimal | None = None
    warning: bool = False

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


@dataclass
class Indicators:
    months: list[tuple[int, int]]
    facilities: dict[int, dict[tuple[int, int], Figures]] = field(default_factory=dict)
    levels: dict[str, dict[tuple[int, int], Figures]] = field(default_factory=dict)
    county_compensation: dict[tuple[int, int], Decimal] = field(default_factory=dict)

    def warnings(self, facility_id: int, year: int) -> int:
        return sum(1 for (y, _), figures in self.facilities.get(facility_id, {}).items()
                   if y == year and figures.warning)


def _sql_parts() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {"los": "(c.discharge_date - c.admission_date)",
                "gap": "(c.admission_date - w.prev_discharge)",
                "year": "CAST(EXTRACT(YEAR FROM c.discharge_date) AS INTEGER)",
                "month": "CAST(EXTRACT(MONTH FROM c.discharge_date) AS INTEGER)"}
    return {"los": "CAST(julianday(c.discharge_date) - julianday(c.admission_date) AS INTEGER)",
            "gap": "CAST(julianday(c.admission_date) - julianday(w.prev_discharge) AS INTEGER)",
            "year": "CAST(strftime('%%Y', c.discharge_date) AS INTEGER)",
            "month": "CAST(strftime('%%m', c.discharge_date) AS INTEGER)"}


_SUMS_SQL = """
SELECT c.facility_id, {year} AS y, {month} AS m, COUNT(*),
       SUM(CAST(ROUND(c.total_cost * 100) AS BIGINT)), SUM(CAST(ROUND(c.non_reimbursable_cost * 100) AS BIGINT)),
       SUM({los}), SUM(CAST(ROUND(c.compensation * 100) AS BIGINT))
FROM claims_claim c
WHERE c.status <> 'rejected' AND c.discharge_date BETWEEN %s AND %s
GROUP BY 1, 2, 3
"""

# readmissions within 15 days per facility and month: the previous stay by LAG (oversight.flags)
_READMISSIONS_SQL = """
WITH w AS (
  SELECT c.id, LAG(c.discharge_date) OVER (PARTITION BY c.member_id
                                           ORDER BY c.admission_date, c.discharge_date, c.id) AS prev_discharge
  FROM claims_claim c
  WHERE c.status <> 'rejected' AND c.discharge_date >= %s AND c.admission_date <= %s
)
SELECT c.facility_id, {year} AS y, {month} AS m, COUNT(*)
FROM w JOIN claims_claim c ON c.id = w.id
WHERE c.discharge_date BETWEEN %s AND %s AND w.prev_discharge IS NOT NULL
  AND {gap} BETWEEN 0 AND %s
GROUP BY 1, 2, 3
"""


def _frame(first: date, last: date) -> pd.DataFrame:
    """Per facility and month of discharge: admissions and sums (money in fen), in the database."""
    levels = dict(Facility.objects.values_list("id", "level"))
    with connection.cursor() as cursor:
        cursor.execute(_SUMS_SQL.format(**_sql_parts()), [first, last])
        data = [(f, levels[f], int(y), int(m), int(n), int(t), int(nr), int(los), int(comp))
                for f, y, m, n, t, nr, los, comp in cursor.fetchall()]
    return pd.DataFrame(data, columns=["facility", "level", "year", "month", "n", "total", "nonreimb", "los", "comp"])


def _readmissions(first: date, last: date) -> dict[tuple[int, int, int], int]:
    """(facility id, year, month) → claims flagged readmission_15d, discharged in [first, last]."""
    earliest = (Claim.objects.exclude(status=ClaimStatus.REJECTED)
                .filter(discharge_date__gte=first, discharge_date__lte=last)
                .aggregate(m=Min("admission_date"))["m"])
    if earliest is None:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_READMISSIONS_SQL.format(**_sql_parts()),
                       [earliest - timedelta(days=rules.READMISSION_DAYS), last, first, last,
                        rules.READMISSION_DAYS])
        return {(f, int(y), int(m)): int(n) for f, y, m, n in cursor.fetchall()}


def _yuan(fen) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def _figures(year, month, count, total, nonreimb, los, comp, county_comp) -> Figures:
    count = int(count)
    return Figures(
        year=year, month=month, admissions=count, total_cost=_yuan(total),
        avg_cost=to_fen(Decimal(int(total)) / count / 100) if count else None,
        non_reimbursable_share=to_ratio(Decimal(int(nonreimb)) / Decimal(int(total))) if total else None,
        avg_los=(Decimal(int(los)) / count).quantize(TENTH, rounding=ROUND_HALF_UP) if count else None,
        compensation=_yuan(comp),
        compensation_share=to_ratio(Decimal(int(comp)) / Decimal(int(county_comp))) if county_comp else None,
    )


def indicators(*, year: int, month: int, months: int = 12) -> Indicators:
    """Every facility's and level's indicators for the `months` months ending with (year, month)."""
    wanted = months_ending(year, month, months)
    first = month_bounds(*months_ending(*wanted[0], 13)[0])[0]  # the same month a year earlier
    last = month_bounds(year, month)[1]
    frame = _frame(first, last)
    result = Indicators(months=wanted)
    readmissions = _readmissions(month_bounds(*wanted[0])[0], last)
    level_of = dict(zip(frame["facility"], frame["level"])) if not frame.empty else {}
    level_readmissions: dict[tuple[str, int, int], int] = {}
    for (facility, y, m), count in readmissions.items():
        key = (level_of.get(facility), y, m)
        level_readmissions[key] = level_readmissions.get(key, 0) + count
    if frame.empty:
        return result
    county = frame.groupby(["year", "month"])["comp"].sum().to_dict()
    result.county_compensation = {key: _yuan(value) for key, value in county.items()}
    sums = ["total", "nonreimb", "los", "comp"]
    by_level = frame.groupby(["level", "year", "month"])[["n", *sums]].agg("sum")
    for (level, y, m), row in by_level.iterrows():
        figures = _figures(int(y), int(m), row["n"], row["total"], row["nonreimb"], row["los"], row["comp"],
                           county.get((y, m), 0))
        figures.readmissions = level_readmissions.get((level, int(y), int(m)), 0)
        result.levels.setdefault(level, {})[(int(y), int(m))] = figures
    by_facility = frame.groupby(["facility", "level", "year", "month"])[["n", *sums]].agg("sum")
    for (facility, level, y, m), row in by_facility.iterrows():
        key = (int(y), int(m))
        figures = _figures(key[0], key[1], row["n"], row["total"], row["nonreimb"], row["los"], row["comp"],
                           county.get((y, m), 0))
        figures.readmissions = readmissions.get((int(facility), *key), 0)
        level_figures = result.levels[level][key]
        figures.level_avg_cost = level_figures.avg_cost
        figures.warning = figures.avg_cost > level_figures.avg_cost
        result.facilities.setdefault(int(facility), {})[key] = figures
    for groups in (result.facilities, result.levels):
        for per_month in groups.values():
            for (y, m), figures in per_month.items():
                before = per_month.get((y - 1, m))
                if before is not None and before.avg_cost:
                    figures.avg_cost_last_year = before.avg_cost
                    figures.avg_cost_change = to_ratio((figures.avg_cost - before.avg_cost) / before.avg_cost)
            for key in [key for key in per_month if key not in wanted]:
                del per_month[key]
    return result


def suspension_review(*, year: int, month: int, result: Indicators | None = None) -> list[dict]:
    """Facilities with at least three warnings in `year` up to `month`: [{facility_id, warnings,
    months}] ordered by warnings (most first) then facility id."""
    if result is None:
        result = indicators(year=year, month=month, months=month)
    out = []
    for facility_id, per_month in result.facilities.items():
        warned = sorted(key for key, figures in per_month.items() if key[0] == year and figures.warning)
        if len(warned) >= WARNINGS_FOR_REVIEW:
            out.append({"facility_id": facility_id, "warnings": len(warned),
                        "months": [f"{y}-{m:02d}" for y, m in warned]})
    out.sort(key=lambda item: (-item["warnings"], item["facility_id"]))
    return out
