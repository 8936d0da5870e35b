"""Claim flags of a month, computed in the database (`facility_flags`), and their storage.

The rules and their thresholds are in `oversight.rules` (pure); here the database gives the
facts, fast (bench/facility_flags.py: one month over 1,000,000 claims in about 3.4 s on a loaded
2-core machine):

1. the yardsticks (median and MAD per facility level and diagnosis group, of cost and length of
   stay; per level, of the non-reimbursable share) over the 12 months ending with the month: one
   pass over the reference claims hashed by facility and group (no join, no sort) returning each
   group's columns as one text each, which numpy parses and reduces (`np.median`: the same
   figures as PostgreSQL's percentile_cont(0.5) or Python's statistics.median). On SQLite the
   same arrays come from the ORM.
2. one SQL query with window functions over the members' claims — `LAG` of the previous stay
   ordered by admission, a running `MAX` of earlier discharges and `LEAD` of the next admission —
   gives the month's claims with their neighbours. Only claims that can matter are windowed:
   non-rejected, discharged on or after the earliest admission of the month's claims less 15
   days, admitted by the end of the month (a claim discharged earlier cannot be anyone's previous
   stay within 15 days, and claims before it by admission were discharged even earlier, since
   stays do not overlap). The yardsticks' bounds go in as VALUES tables, so only candidate claims
   come back (a superset of the flagged ones: the Python rules decide and word every flag). The
   SQL runs on PostgreSQL and SQLite (≥ 3.28) alike, with date arithmetic per vendor.

On PostgreSQL the queries run with work_mem 128MB and JIT off (SET LOCAL, in a transaction).
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from claims.models import Claim, ClaimStatus
from facilities.models import Facility

from . import rules

FEN_IN_A_YUAN = Decimal(100)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _months_back(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _fen(value) -> int:
    return int((Decimal(str(value)) * FEN_IN_A_YUAN).to_integral_value())


_WINDOW_SQL = """
WITH {ctes} w AS (
  SELECT c.id, c.member_id, c.admission_date, c.discharge_date, c.facility_id, c.invoice_no, c.diagnosis_code,
         CAST(ROUND(c.total_cost * 100) AS BIGINT) AS total_fen,
         CAST(ROUND(c.non_reimbursable_cost * 100) AS BIGINT) AS nonreimb_fen,
         LAG(c.discharge_date) OVER m AS prev_discharge,
         LAG(c.invoice_no) OVER m AS prev_invoice,
         LAG(c.facility_id) OVER m AS prev_facility,
         MAX(c.discharge_date) OVER (m ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_prev_discharge,
         LEAD(c.admission_date) OVER m AS next_admission,
         LEAD(c.invoice_no) OVER m AS next_invoice
  FROM claims_claim c
  WHERE c.status <> 'rejected' AND c.discharge_date >= %s AND c.admission_date <= %s
  WINDOW m AS (PARTITION BY c.member_id ORDER BY c.admission_date, c.discharge_date, c.id)
)
SELECT w.id, w.invoice_no, w.facility_id, w.member_id, w.admission_date, w.discharge_date,
       w.diagnosis_code, w.total_fen, w.nonreimb_fen,
       w.prev_discharge, w.prev_invoice, w.prev_facility, w.max_prev_discharge, w.next_admission, w.next_invoice,
       {lines}
FROM w {join}
WHERE w.discharge_date BETWEEN %s AND %s {where}
"""

# Only the claims some rule may flag (a superset: Python's rules decide): a previous discharge
# at most 15 days before the admission, an overlap, a cost, stay or share above the bounds
# (given as a VALUES table per facility and diagnosis group), or cost lines without beds.
_CANDIDATES_JOIN = """LEFT JOIN b ON b.facility_id = w.facility_id AND b.dx = UPPER(SUBSTR(w.diagnosis_code, 1, 3))
  LEFT JOIN s ON s.facility_id = w.facility_id"""
_CANDIDATES_WHERE = """AND (
  w.prev_discharge >= {admission_minus_15}
  OR w.max_prev_discharge > w.admission_date OR w.next_admission < w.discharge_date
  OR w.total_fen > b.cost_bound
  OR {los} > COALESCE(b.los_bound, {long_stay})
  OR (w.total_fen > 0 AND w.nonreimb_fen > (s.share_bound - 0.000001) * w.total_fen)
  OR (w.discharge_date > w.admission_date AND EXISTS (SELECT 1 FROM claims_costline l WHERE l.claim_id = w.id)
      AND NOT EXISTS (SELECT 1 FROM claims_costline l WHERE l.claim_id = w.id AND l.category = 'beds'
                      AND l.amount > 0)))"""


def _candidates_sql(yardsticks: rules.Yardsticks | None, facilities: dict) -> tuple[str, str, str, list]:
    """(ctes, join, where, params of the ctes) keeping only candidate claims: the bounds per
    facility and diagnosis group (b) and per facility (s) as VALUES tables; empty strings to keep
    every claim."""
    if yardsticks is None:
        return "", "", "", []
    postgres = connection.vendor == "postgresql"
    if postgres:
        minus, los = "w.admission_date - 15", "(w.discharge_date - w.admission_date)"
        b_row = "(CAST(%s AS INTEGER), CAST(%s AS TEXT), CAST(%s AS DOUBLE PRECISION), CAST(%s AS DOUBLE PRECISION))"
        s_row = "(CAST(%s AS INTEGER), CAST(%s AS DOUBLE PRECISION))"
    else:
        minus = "date(w.admission_date, '-15 days')"
        los = "CAST(julianday(w.discharge_date) - julianday(w.admission_date) AS INTEGER)"
        b_row, s_row = "(%s, %s, %s, %s)", "(%s, %s)"
    b_params, s_params = [], []
    for facility_id, (_, level) in facilities.items():
        for (key_level, dx), (cost, _) in yardsticks.cost.items():
            if key_level == level:
                b_params.append([facility_id, dx, cost, yardsticks.los[(key_level, dx)][0]])
        s_params.append([facility_id, yardsticks.share.get(level, rules.NO_BOUND)[0]])
    b_params = b_params or [[0, "", None, None]]
    ctes = (f"b(facility_id, dx, cost_bound, los_bound) AS (VALUES {', '.join([b_row] * len(b_params))}), "
            f"s(facility_id, share_bound) AS (VALUES {', '.join([s_row] * len(s_params))}),")
    where = _CANDIDATES_WHERE.format(admission_minus_15=minus, los=los, long_stay=rules.LONG_STAY_DAYS)
    params = [value for row in b_params + s_params for value in row]
    return ctes, _CANDIDATES_JOIN, where, params


_LINES_SQL = """(SELECT COUNT(*) FROM claims_costline l WHERE l.claim_id = w.id),
       (SELECT CAST(ROUND(COALESCE(SUM(l.amount), 0) * 100) AS BIGINT) FROM claims_costline l
        WHERE l.claim_id = w.id AND l.category = 'beds')"""


@contextmanager
def _tuned():
    """On PostgreSQL, in a transaction: enough memory to sort in RAM, and no JIT (these queries
    are short; compiling costs more than it saves)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
        yield cursor


def _month_claims(first: date, last: date, *, lines: bool = True,
                  yardsticks: rules.Yardsticks | None = None) -> list[tuple[rules.ClaimFacts, dict]]:
    """The non-rejected claims discharged in [first, last] with what the window functions say of
    their neighbours (and, with `lines`, how many cost lines they have and their bed charges).
    With `yardsticks`, only the claims some rule may flag (`_candidates_sql`)."""
    facilities = {pk: (code, level) for pk, code, level in Facility.objects.values_list("id", "code", "level")}
    with _tuned() as cursor:
        cursor.execute(
            "SELECT MIN(admission_date) FROM claims_claim WHERE status <> 'rejected' "
            "AND discharge_date BETWEEN %s AND %s", [first, last])
        earliest = _day(cursor.fetchone()[0])
        if earliest is None:
            return []
        lower = earliest - timedelta(days=rules.READMISSION_DAYS)
        ctes, join, where, params = _candidates_sql(yardsticks, facilities)
        sql = _WINDOW_SQL.format(ctes=ctes, lines=_LINES_SQL if lines else "0, 0", join=join, where=where)
        cursor.execute(sql, [*params, lower, last, first, last])
        rows = cursor.fetchall()
    day = _day if connection.vendor != "postgresql" else (lambda value: value)  # SQLite gives text
    out = []
    for (pk, invoice, facility_id, member, admission, discharge, diagnosis, total, nonreimb,
         prev_discharge, prev_invoice, prev_facility, max_prev, next_admission, next_invoice,
         line_count, beds) in rows:
        code, level = facilities[facility_id]
        facts = rules.ClaimFacts(
            id=pk, invoice_no=invoice, facility_code=code, level=level, member_id=member,
            admission=day(admission), discharge=day(discharge), diagnosis_code=diagnosis or "",
            total_fen=int(total), non_reimbursable_fen=int(nonreimb), cost_lines=int(line_count),
            beds_fen=int(beds or 0), facility_id=facility_id)
        prev_code = facilities[prev_facility][0] if prev_facility is not None else None
        out.append((facts, {"prev_discharge": day(prev_discharge), "prev_invoice": prev_invoice,
                            "prev_code": prev_code, "max_prev": day(max_prev),
                            "next_admission": day(next_admission), "next_invoice": next_invoice}))
    return out


_PG_REFERENCE_SQL = """
SELECT c.facility_id, UPPER(SUBSTR(c.diagnosis_code, 1, 3)),
       string_agg(c.total_cost::text, ','), string_agg(c.non_reimbursable_cost::text, ','),
       string_agg((c.discharge_date - c.admission_date)::text, ',')
FROM claims_claim c
WHERE c.status <> 'rejected' AND c.discharge_date BETWEEN %s AND %s
GROUP BY 1, 2
"""


def _parse_fen(text: str) -> np.ndarray:
    """"1234.50,99.00" → [123450, 9900] (exact: two-place amounts far below 2**53 fen)."""
    return np.rint(np.array(text.split(","), dtype=np.float64) * 100).astype(np.int64)


def _np_robust(values) -> rules.Robust:
    """rules.robust with numpy (the same figures: the median of an even count is the mean of the
    two middle values)."""
    if len(values) == 0:
        return rules.Robust(0, 0.0, 0.0)
    median = float(np.median(values))
    return rules.Robust(len(values), median, float(np.median(np.abs(values - median))))


def _reference(first: date, last: date) -> dict[tuple[str, str], tuple]:
    """(level, diagnosis group) → (costs in fen, non-reimbursable in fen, lengths of stay) as
    numpy arrays, of the non-rejected claims discharged in [first, last]."""
    out = {}
    if connection.vendor == "postgresql":
        # one pass hashed by facility and group (no join, no sort), each group's column as one
        # text: parsed by numpy, merged per level
        levels = dict(Facility.objects.values_list("id", "level"))
        parts = defaultdict(list)
        with _tuned() as cursor:
            cursor.execute(_PG_REFERENCE_SQL, [first, last])
            for facility_id, dx, costs, nonreimb, stays in cursor.fetchall():
                parts[(levels[facility_id], rules.diagnosis_group(dx))].append(
                    (_parse_fen(costs), _parse_fen(nonreimb), np.array(stays.split(","), dtype=np.int64)))
        for key, chunks in parts.items():
            out[key] = tuple(np.concatenate(column) for column in zip(*chunks))
        return out

    lists = defaultdict(lambda: ([], [], []))
    rows = (Claim.objects.exclude(status=ClaimStatus.REJECTED)
            .filter(discharge_date__gte=first, discharge_date__lte=last)
            .values_list("facility__level", "diagnosis_code", "total_cost", "non_reimbursable_cost",
                         "admission_date", "discharge_date"))
    for level, diagnosis, total, nonreimb, admission, discharge in rows.iterator(chunk_size=5000):
        costs, outside, stays = lists[(level, rules.diagnosis_group(diagnosis))]
        costs.append(_fen(total))
        outside.append(_fen(nonreimb))
        stays.append((discharge - admission).days)
    for key, columns in lists.items():
        out[key] = tuple(np.array(column, dtype=np.int64) for column in columns)
    return out


def _yardsticks(first: date, last: date):
    """(groups, shares): the robust yardsticks of the reference window [first, last]: per
    (level, diagnosis group) of cost and length of stay, per level of the non-reimbursable share."""
    groups: dict[tuple[str, str], tuple[rules.Robust, rules.Robust]] = {}
    shares: dict[str, rules.Robust] = {}
    per_level = defaultdict(list)
    for (level, dx), (costs, outside, stays) in _reference(first, last).items():
        if dx and len(costs) >= rules.MIN_GROUP:
            groups[(level, dx)] = (_np_robust(costs), _np_robust(stays))
        paid = costs > 0
        per_level[level].append(outside[paid] / costs[paid])
    for level, parts in per_level.items():
        values = np.concatenate(parts)
        if len(values) >= rules.MIN_GROUP:
            shares[level] = _np_robust(values)
    return groups, shares


def month_flags(*, year: int, month: int) -> list[tuple[int, str, str, str, str]]:
    """(claim id, invoice_no, facility code, kind, detail) of every flag of the month's claims."""
    first, last = month_bounds(year, month)
    yardsticks = rules.Yardsticks(*_yardsticks(_months_back(first, rules.REFERENCE_MONTHS), last))
    claims = _month_claims(first, last, yardsticks=yardsticks)
    out = []
    for facts, near in claims:
        found = []
        gap = rules.readmission(facts.admission, near["prev_discharge"])
        if gap is not None:
            found.append((rules.READMISSION, rules.readmission_detail(
                gap, near["prev_invoice"], near["prev_code"], near["prev_code"] == facts.facility_code)))
        if near["max_prev"] is not None and near["max_prev"] > facts.admission:
            other = near["prev_invoice"] if near["prev_discharge"] and near["prev_discharge"] > facts.admission else ""
            found.append((rules.OVERLAPPING_STAY, rules.overlap_detail(other)))
        elif near["next_admission"] is not None and near["next_admission"] < facts.discharge:
            found.append((rules.OVERLAPPING_STAY, rules.overlap_detail(near["next_invoice"])))
        found += rules.claim_flags(facts, yardsticks=yardsticks)
        out += [(facts.id, facts.invoice_no, facts.facility_code, kind, detail) for kind, detail in found]
    order = {kind: i for i, kind in enumerate(rules.KINDS)}
    out.sort(key=lambda f: (f[2], f[1], order[f[3]]))
    return out


def facility_flags(*, year: int, month: int) -> list[dict]:
    """The contract's flags of the claims discharged in that month (non-rejected claims), ordered
    by facility code, invoice number and kind: [{"claim", "facility", "kind", "detail"}]."""
    return [{"claim": invoice, "facility": code, "kind": kind, "detail": detail}
            for _, invoice, code, kind, detail in month_flags(year=year, month=month)]


@transaction.atomic
def claim_flags_store(*, year: int, month: int) -> dict[str, int]:
    """Make the stored ClaimFlag rows of the month's claims match the flags computed now:
    new flags created, changed details updated, flags that no longer hold (or whose claim was
    rejected) deleted. Running it again changes nothing. Returns counts."""
    from .models import ClaimFlag

    first, last = month_bounds(year, month)
    wanted = {(pk, kind): detail for pk, _, _, kind, detail in month_flags(year=year, month=month)}
    month_claims = Claim.objects.filter(discharge_date__gte=first, discharge_date__lte=last)
    stored = {(f.claim_id, f.kind): f for f in ClaimFlag.objects.filter(claim__in=month_claims)}
    now = timezone.now()
    gone = [f.pk for key, f in stored.items() if key not in wanted]
    ClaimFlag.objects.filter(pk__in=gone).delete()
    changed = []
    for key, detail in wanted.items():
        flag = stored.get(key)
        if flag is not None and flag.detail != detail:
            flag.detail, flag.computed_at = detail, now
            changed.append(flag)
    ClaimFlag.objects.bulk_update(changed, ["detail", "computed_at"])
    new = [ClaimFlag(claim_id=pk, kind=kind, detail=detail, computed_at=now)
           for (pk, kind), detail in wanted.items() if (pk, kind) not in stored]
    ClaimFlag.objects.bulk_create(new)
    return {"created": len(new), "updated": len(changed), "deleted": len(gone)}
