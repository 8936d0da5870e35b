"""Policy simulation (补偿方案测算): every claim of a scheme year valued under a draft policy at
once, writing nothing (docs/contract.md, "Policy simulation").

The result is the one `claims.rules.value_claim` gives claim by claim, each member's annual cap
used up in order of discharge date, then admission date, then invoice number (then the claim's
id, the one order two claims of a member at two facilities with the same invoice number and
dates can still tie on). `rules_one_by_one` is that reference, claim by claim; `value_columns`
computes the same figures on whole columns, fast enough for a county's year of claims:

- money is integer fen in int64 arrays; ratios and ratio points (at most four places,
  `policy.rules.RATIO_MAX_PLACES`) integer basis points, so a band pays
  ratio_bp × width_fen / 10⁴ fen exactly, and the claim's exact amount, the sum over its bands,
  is an integer of 10⁻⁴ fen, rounded once, half up, to the fen: (n + 5000) // 10⁴, the very
  figure Decimal's ROUND_HALF_UP gives. No float touches money. Amounts too large for int64 in
  that product or in the year's sums (`needs_python_integers`: a ceiling set above about
  7 × 10¹⁰ yuan) are valued on Python integers instead, exact at any size.
- the cap: a member's claims sorted in the order above, S their running sum before the cap,
  the cap used after a claim is min(cap, S) (each claim takes min(before_cap, what is left),
  so what is used never passes the cap), and the claim's compensation is the step between
  the used amount after it and before it.

`read_year` reads the claims of a year in one streamed query of the claims table (COPY on
PostgreSQL) into columns, the facilities' levels, members' groups and recoveries beside it;
`simulate_year` is the two together.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Sum

from core.errors import NcmsError
from core.money import to_fen
from enrollment.models import Member
from facilities.models import Facility
from policy.rules import CATEGORIES, DELIVERY_TYPES, LEVELS, Policy

from . import rules
from .models import Claim, ClaimStatus, Recovery

BASIS = 10_000  # basis points in 1
HALF = BASIS // 2
EPOCH = date(1970, 1, 1)
# Below this many fen, bp (≤ 10⁴) × fen summed over a claim's bands stays well inside int64.
INT64_SAFE_FEN = (2**62) // (BASIS * 64)
SKIPPED_STATUSES = (ClaimStatus.REJECTED, ClaimStatus.RETURNED)


# ---------------------------------------------------------------------------------------------
# The claims as columns


@dataclass
class ClaimColumns:
    """The facts of n claims, one array each (the policy's categories as indexes: `level` into
    `policy.rules.LEVELS`, `category` into CATEGORIES, `delivery` 0 for none or 1 + its index
    into DELIVERY_TYPES; `diagnosis` indexes `diagnoses`, the distinct codes). Money in fen;
    dates as days since 1970-01-01; `current` is what the claim holds now (its compensation
    less its recoveries)."""

    claim_id: np.ndarray
    member: np.ndarray
    level: np.ndarray
    category: np.ndarray
    total: np.ndarray
    non_reimbursable: np.ndarray
    referred: np.ndarray
    delivery: np.ndarray
    diagnosis: np.ndarray
    diagnoses: list[str]
    discharge: np.ndarray
    admission: np.ndarray
    invoice: np.ndarray | None  # object array of str, or None: `invoices` reads them when needed
    current: np.ndarray
    # {claim id: invoice number} for the given claim ids: only claims of a member with the same
    # dates need their invoice numbers (cap_order), so a reader fetches those alone
    invoices: Callable[[list[int]], dict[int, str]] | None = None
    # the claim's own township (Claim.township, the member's when it was made): what the page's
    # results are grouped by; None where the claims were not read from the database
    township: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.claim_id)


@dataclass(frozen=True)
class ClaimRow:
    """One claim's facts as `claims.rules` takes them (Decimal yuan, dates), plus what orders it."""

    claim_id: int
    member: int
    level: str
    category: str
    total_cost: Decimal
    non_reimbursable_cost: Decimal
    referred: bool
    delivery: str | None
    diagnosis: str
    discharge: date
    admission: date
    invoice: str
    current: Decimal = Decimal("0.00")


def fen(value: Decimal) -> int:
    """Decimal yuan with at most two places → whole fen (exact; refuses anything finer)."""
    scaled = Decimal(value).scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is finer than the fen")
    return int(scaled)


def yuan(amount_fen: int) -> Decimal:
    """Whole fen → Decimal yuan with two places."""
    return Decimal(int(amount_fen)).scaleb(-2)


def columns_from_rows(rows: list[ClaimRow]) -> ClaimColumns:
    diagnoses: dict[str, int] = {}
    codes = [diagnoses.setdefault(row.diagnosis, len(diagnoses)) for row in rows]
    return ClaimColumns(
        claim_id=np.array([row.claim_id for row in rows], dtype=np.int64),
        member=np.array([row.member for row in rows], dtype=np.int64),
        level=np.array([LEVELS.index(row.level) for row in rows], dtype=np.int8),
        category=np.array([CATEGORIES.index(row.category) for row in rows], dtype=np.int8),
        total=np.array([fen(row.total_cost) for row in rows], dtype=np.int64),
        non_reimbursable=np.array([fen(row.non_reimbursable_cost) for row in rows], dtype=np.int64),
        referred=np.array([row.referred for row in rows], dtype=bool),
        delivery=np.array([0 if row.delivery is None else 1 + DELIVERY_TYPES.index(row.delivery)
                           for row in rows], dtype=np.int8),
        diagnosis=np.array(codes, dtype=np.int32),
        diagnoses=list(diagnoses),
        discharge=np.array([(row.discharge - EPOCH).days for row in rows], dtype=np.int32),
        admission=np.array([(row.admission - EPOCH).days for row in rows], dtype=np.int32),
        invoice=np.array([row.invoice for row in rows], dtype=object),
        current=np.array([fen(row.current) for row in rows], dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------
# The reference: claims.rules, one claim at a time


def claim_order(rows: list[ClaimRow]) -> list[ClaimRow]:
    """The order members' caps are used up in: discharge, admission, invoice number, id."""
    return sorted(rows, key=lambda row: (row.discharge, row.admission, row.invoice, row.claim_id))


def rules_one_by_one(policy: Policy, rows: list[ClaimRow]) -> dict[int, rules.Valuation]:
    """{claim id: valuation} by `claims.rules.value_claim`, claim after claim in `claim_order`,
    each member's cap used up by their earlier claims' draft compensation."""
    used: dict[int, Decimal] = {}
    valued: dict[int, rules.Valuation] = {}
    for row in claim_order(rows):
        valuation = rules.value_claim(
            policy=policy, level=row.level, category=row.category, total_cost=row.total_cost,
            non_reimbursable_cost=row.non_reimbursable_cost, referred=row.referred,
            diagnosis=row.diagnosis, delivery=row.delivery,
            used_this_year=used.get(row.member, Decimal("0.00")),
        )
        used[row.member] = used.get(row.member, Decimal("0.00")) + valuation.compensation
        valued[row.claim_id] = valuation
    return valued


# ---------------------------------------------------------------------------------------------
# The engine: whole columns


@dataclass
class Valued:
    """The draft's figures of every claim (arrays in the columns' order, fen) and their sums."""

    before_cap: np.ndarray
    compensation: np.ndarray
    members_at_cap: int
    claims: int = field(init=False)

    def __post_init__(self):
        self.claims = len(self.compensation)


def _basis_points(ratio: Decimal) -> int:
    scaled = Decimal(ratio).scaleb(4)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"ratio {ratio} has more than four places")
    return int(scaled)


def _level_tables(policy: Policy, dtype):
    """Per level (rows in LEVELS order), per band (padded to the longest level): where the band
    starts and ends (fen; an open end as the largest amount), its ratio (bp), and whether it
    exists."""
    width = max(len(policy.levels[level].bands) for level in LEVELS)
    starts = np.zeros((len(LEVELS), width), dtype=dtype)
    ends = np.zeros((len(LEVELS), width), dtype=dtype)
    ratios = np.zeros((len(LEVELS), width), dtype=dtype)
    exists = np.zeros((len(LEVELS), width), dtype=bool)
    deductibles = np.zeros(len(LEVELS), dtype=dtype)
    open_end = 2**62 if dtype is np.int64 else 10**40
    for i, level in enumerate(LEVELS):
        rule = policy.levels[level]
        deductibles[i] = fen(rule.deductible)
        start = 0
        for b, band in enumerate(rule.bands):
            end = open_end if band.up_to is None else fen(band.up_to)
            starts[i, b], ends[i, b], ratios[i, b], exists[i, b] = start, end, _basis_points(band.ratio), True
            start = end
    return deductibles, starts, ends, ratios, exists


def _single_disease_table(policy: Policy, diagnoses: list[str], dtype) -> np.ndarray:
    """[diagnosis index, level index] → the single-disease payment in fen, −1 when none applies."""
    table = np.full((len(diagnoses) + 1, len(LEVELS)), -1, dtype=dtype)
    if policy.single_disease:
        for d, code in enumerate(diagnoses):
            for i, level in enumerate(LEVELS):
                disease = policy.single_disease_for(code, level)
                if disease is not None:
                    table[d, i] = fen(disease.payment)
    return table


def needs_python_integers(amounts: np.ndarray) -> bool:
    """Whether sums of these fen amounts (times basis points, or all of them together) could pass
    int64's range: then the engine computes on Python integers, exact at any size."""
    if not len(amounts):
        return False
    largest = int(amounts.max())
    return largest >= INT64_SAFE_FEN or largest * len(amounts) >= 2**62


def exact_sum(amounts: np.ndarray) -> int:
    """The sum of fen amounts as a Python integer, without int64 overflow."""
    if needs_python_integers(amounts):
        return sum(int(amount) for amount in amounts)
    return int(amounts.sum())


def before_cap(policy: Policy, claims: ClaimColumns) -> np.ndarray:
    """Steps 1 to 5 before the cap, per claim, in fen: exactly `value_claim`'s `before_cap`."""
    dtype = object if needs_python_integers(claims.total) else np.int64
    total = claims.total.astype(dtype)
    reimbursable = total - claims.non_reimbursable.astype(dtype)
    level = claims.level.astype(np.intp)
    category = claims.category.astype(np.intp)

    # step 4, the formula
    deductibles, starts, ends, ratios, exists = _level_tables(policy, dtype)
    waives = np.array([bool(policy.groups.get(c) and policy.groups[c].waive_deductible) for c in CATEGORIES])
    points = np.array([_basis_points(policy.groups[c].ratio_points) if c in policy.groups else 0
                       for c in CATEGORIES], dtype=np.int64)
    reduced_levels = np.array([level_name in policy.unreferred_reduction.levels for level_name in LEVELS])
    reduction = _basis_points(policy.unreferred_reduction.ratio_points)
    deductible = np.where(waives[category], 0, deductibles[level]).astype(dtype)
    adjustment = points[category] - np.where(reduced_levels[level] & ~claims.referred, reduction, 0)
    exact = np.zeros(len(claims), dtype=dtype)  # 10⁻⁴ fen
    for b in range(starts.shape[1]):
        start = np.maximum(deductible, starts[level, b])
        end = np.minimum(reimbursable, ends[level, b])
        width = np.where(exists[level, b], np.maximum(end - start, 0), 0)
        ratio = np.minimum(np.maximum(ratios[level, b].astype(np.int64) + adjustment, 0), BASIS)
        exact = exact + ratio.astype(dtype) * width
    amount = (exact + HALF) // BASIS

    # step 3, a single disease at its level; step 2, a delivery
    diseases = _single_disease_table(policy, claims.diagnoses, dtype)
    payment = diseases[claims.diagnosis.astype(np.intp), level]
    amount = np.where(payment >= 0, np.minimum(payment, reimbursable), amount)
    deliveries = np.array([-1] + [fen(policy.delivery[kind]) for kind in DELIVERY_TYPES], dtype=dtype)
    delivered = deliveries[claims.delivery.astype(np.intp)]
    return np.where(claims.delivery > 0, np.minimum(delivered, reimbursable), amount)


def cap_order(claims: ClaimColumns) -> np.ndarray:
    """Indexes of the claims grouped by member, each member's in `claim_order`."""
    member, discharge, admission = claims.member, claims.discharge, claims.admission
    if len(claims) and 0 <= int(member.min()) and int(member.max()) < 2**31 and 0 <= int(admission.min()) \
            and int(discharge.max()) < 2**16 and int(admission.max()) < 2**16 and 0 <= int(discharge.min()):
        # one int64 key (member, discharge, admission) and one stable sort: several times faster
        # than lexsort's four passes; ties keep the columns' order and are settled below
        key = (member.astype(np.int64) << 32) | (discharge.astype(np.int64) << 16) | admission.astype(np.int64)
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((claims.claim_id, admission, discharge, member))
    member, discharge, admission = claims.member[order], claims.discharge[order], claims.admission[order]
    tied = (member[1:] == member[:-1]) & (discharge[1:] == discharge[:-1]) & (admission[1:] == admission[:-1])
    if tied.any():
        # claims of a member with the same dates: the invoice number decides (rare; Python's
        # order of strings, by code point, whatever the database's collation)
        edges = np.flatnonzero(np.diff(np.concatenate(([False], tied, [False])).astype(np.int8)))
        runs = list(zip(edges[::2], edges[1::2], strict=True))
        if claims.invoice is not None:
            invoice = {int(claims.claim_id[i]): claims.invoice[i] for i in range(len(claims))}
        else:
            invoice = claims.invoices([int(claims.claim_id[i]) for first, last in runs
                                       for i in order[first:last + 1]])
        for first, last in runs:
            run = order[first:last + 1]
            order[first:last + 1] = sorted(
                run, key=lambda i: (invoice[int(claims.claim_id[i])], claims.claim_id[i]))
    return order


def members_reaching(member: np.ndarray, amounts: np.ndarray, cap_fen: int) -> int:
    """How many members' amounts (fen, one per claim) sum to `cap_fen` or more over their claims:
    the claims sorted by member (stably: already sorted columns cost one pass), each member's
    sum by np.add.reduceat on integers (Python integers when int64 could overflow)."""
    if not len(member):
        return 0
    order = np.argsort(member, kind="stable")
    grouped = member[order]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    values = amounts[order]
    if values.dtype != object and needs_python_integers(np.abs(values)):
        values = values.astype(object)
    return int(np.count_nonzero(np.add.reduceat(values, starts) >= cap_fen))


def value_columns(policy: Policy, claims: ClaimColumns) -> Valued:
    """Every claim valued by `policy`, members' caps used up in `claim_order` (module docstring)."""
    amounts = before_cap(policy, claims)
    if not len(claims):
        return Valued(before_cap=amounts, compensation=amounts.copy(), members_at_cap=0)
    cap = fen(policy.annual_cap)
    order = cap_order(claims)
    asked = amounts[order]
    running = np.cumsum(asked)
    member = claims.member[order]
    first = np.concatenate(([True], member[1:] != member[:-1]))
    starts = np.flatnonzero(first)
    before_member = np.concatenate(([0], running[:-1]))[starts].astype(running.dtype)
    # each claim's running sum within its member: S minus what the earlier members asked
    own = running - np.repeat(before_member, np.diff(np.append(starts, len(order))))
    used_after = np.minimum(own, cap)
    used_before = np.where(first, 0, np.concatenate(([0], used_after[:-1])))
    paid = used_after - used_before
    compensation = np.empty_like(amounts)
    compensation[order] = paid
    # a member's compensation sums to the cap used after their last claim: min(asked, cap)
    return Valued(before_cap=amounts, compensation=compensation,
                  members_at_cap=members_reaching(member, paid, cap))


# ---------------------------------------------------------------------------------------------
# Reading a year


@dataclass(frozen=True)
class Simulation:
    """What `simulate_year` finds, money in Decimal yuan."""

    year: int
    claims: int
    total_cost: Decimal
    current: Decimal
    draft: Decimal
    members_at_cap: int
    by_level: dict[str, tuple[int, Decimal]]


_COLUMNS = ["claim_id", "member", "facility", "total", "non_reimbursable", "referred", "delivery",
            "diagnosis", "discharge", "admission", "compensation", "township"]


def _postgresql_frame(year: int) -> pd.DataFrame:
    """The year's claims in one COPY of the claims table alone: money as fen and dates as day
    numbers computed by the database (exact numeric), parsed by pandas' C reader, the diagnosis
    and delivery as categories (a few thousand distinct values, not a million strings)."""
    skipped = ", ".join(f"'{status}'" for status in SKIPPED_STATUSES)
    query = f"""
        COPY (
          SELECT id, member_id, facility_id, (total_cost * 100)::bigint, (non_reimbursable_cost * 100)::bigint,
                 referred::int, coalesce(delivery, ''), diagnosis_code, discharge_date - DATE '1970-01-01',
                 admission_date - DATE '1970-01-01', (compensation * 100)::bigint, township_id
          FROM {Claim._meta.db_table}
          WHERE year = {int(year)} AND status NOT IN ({skipped})
        ) TO STDOUT WITH (FORMAT csv)"""
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.cursor.copy(query) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    integers = {name: np.int64 for name in ("claim_id", "member", "facility", "total", "non_reimbursable",
                                            "compensation", "township")}
    return pd.read_csv(
        buffer, header=None, names=_COLUMNS, na_filter=False,
        dtype={**integers, "referred": np.int8, "discharge": np.int32, "admission": np.int32,
               "delivery": "category", "diagnosis": "category"},
    )


def _orm_frame(year: int) -> pd.DataFrame:
    """The same columns through the ORM (SQLite and other databases: tests and development)."""
    rows = (Claim.objects.filter(year=year).exclude(status__in=SKIPPED_STATUSES).order_by()
            .values_list("id", "member_id", "facility_id", "total_cost", "non_reimbursable_cost", "referred",
                         "delivery", "diagnosis_code", "discharge_date", "admission_date", "compensation",
                         "township_id"))
    records = [
        (pk, member, facility, fen(to_fen(total)), fen(to_fen(excluded)), int(referred), delivery or "",
         diagnosis or "", (discharge - EPOCH).days, (admission - EPOCH).days, fen(to_fen(compensation)), township)
        for (pk, member, facility, total, excluded, referred, delivery, diagnosis, discharge, admission,
             compensation, township) in rows.iterator(chunk_size=5000)
    ]
    return pd.DataFrame.from_records(records, columns=_COLUMNS)


def _codes(values: pd.Series, names: tuple[str, ...], *, offset: int = 0) -> np.ndarray:
    """Text categories → their index in `names` (+ offset; "" → 0 when offset is 1)."""
    known = {name: offset + i for i, name in enumerate(names)}
    if offset:
        known[""] = 0
    codes, uniques = pd.factorize(values, sort=False)
    lookup = np.array([known[str(value)] for value in uniques], dtype=np.int8)
    return lookup[codes] if len(codes) else np.zeros(0, dtype=np.int8)


def _lookup(keys: np.ndarray, table: dict[int, int], default: int, dtype) -> np.ndarray:
    """table[key] for every key (default when missing), never a Python loop over the keys: by
    indexing a dense array when the ids are not much larger than their number (ids of a
    database table), else by a sorted search."""
    if not table or not len(keys):
        return np.full(len(keys), default, dtype=dtype)
    largest = max(int(keys.max()), max(table))
    if 0 <= min(int(keys.min()), min(table)) and largest <= 8 * len(keys) + 1_000_000:
        dense = np.full(largest + 1, default, dtype=dtype)
        dense[np.fromiter(table.keys(), dtype=np.int64, count=len(table))] = np.fromiter(
            table.values(), dtype=dtype, count=len(table))
        return dense[keys]
    known = np.array(sorted(table), dtype=np.int64)
    values = np.array([table[key] for key in known.tolist()], dtype=dtype)
    at = np.minimum(np.searchsorted(known, keys), len(known) - 1)
    return np.where(known[at] == keys, values[at], default).astype(dtype)


def _invoices(claim_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(claim_ids), 5000):
        found.update(Claim.objects.filter(pk__in=claim_ids[start:start + 5000]).values_list("pk", "invoice_no"))
    return found


def read_year(year: int) -> ClaimColumns:
    """The claims of `year` that are neither rejected nor returned, as columns: the claims in one
    streamed query of their own table; the facilities' levels, the categories of the members who
    are not ordinary and the year's recoveries in three small queries, joined here by id.

    On PostgreSQL, outside a caller's transaction, the four queries run in one read-only
    REPEATABLE READ transaction: they see the same moment (a recovery recorded meanwhile is in
    all of them or in none), and nothing can be written."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return _read_year(year)
    return _read_year(year)


def _read_year(year: int) -> ClaimColumns:
    frame = _postgresql_frame(year) if connection.vendor == "postgresql" else _orm_frame(year)
    claim_id, member = frame["claim_id"].to_numpy(np.int64), frame["member"].to_numpy(np.int64)
    levels = {pk: LEVELS.index(level) for pk, level in Facility.objects.values_list("pk", "level")}
    categories = {pk: CATEGORIES.index(category) for pk, category in
                  Member.objects.exclude(category="ordinary").order_by().values_list("pk", "category")}
    recovered = {pk: fen(to_fen(amount)) for pk, amount in
                 Recovery.objects.filter(claim__year=year).exclude(claim__status__in=SKIPPED_STATUSES)
                 .order_by().values("claim_id").annotate(total=Sum("amount")).values_list("claim_id", "total")}
    diagnosis, diagnoses = pd.factorize(frame["diagnosis"], sort=False)
    return ClaimColumns(
        claim_id=claim_id, member=member,
        level=_lookup(frame["facility"].to_numpy(np.int64), levels, -1, np.int8),
        category=_lookup(member, categories, CATEGORIES.index("ordinary"), np.int8),
        total=frame["total"].to_numpy(np.int64), non_reimbursable=frame["non_reimbursable"].to_numpy(np.int64),
        referred=frame["referred"].to_numpy(np.int8).astype(bool),
        delivery=_codes(frame["delivery"], DELIVERY_TYPES, offset=1),
        diagnosis=diagnosis.astype(np.int32), diagnoses=[str(code) for code in diagnoses],
        discharge=frame["discharge"].to_numpy(np.int32), admission=frame["admission"].to_numpy(np.int32),
        invoice=None, invoices=_invoices,
        current=frame["compensation"].to_numpy(np.int64) - _lookup(claim_id, recovered, 0, np.int64),
        township=frame["township"].to_numpy(np.int64),
    )


def summarise(year: int, claims: ClaimColumns, valued: Valued) -> Simulation:
    by_level = {}
    for i, level in enumerate(LEVELS):
        here = claims.level == i
        by_level[level] = (int(np.count_nonzero(here)), yuan(exact_sum(valued.compensation[here])))
    return Simulation(
        year=year, claims=len(claims), total_cost=yuan(exact_sum(claims.total)),
        current=yuan(exact_sum(claims.current)), draft=yuan(exact_sum(valued.compensation)),
        members_at_cap=valued.members_at_cap, by_level=by_level,
    )


def simulate_year(policy: Policy, year: int) -> Simulation:
    """The claims of `year` (neither rejected nor returned) valued by `policy`; writes nothing.
    Raises NcmsError `no_claims` when the year has none."""
    claims = read_year(year)
    if not len(claims):
        raise NcmsError(f"{year} 年度没有可测算的住院补偿（不予补偿和退回修改的不计）", code="no_claims")
    return summarise(year, claims, value_columns(policy, claims))
