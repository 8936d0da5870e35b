"""Claim flags benchmark: `.venv/bin/python bench/facility_flags.py [--claims 1000000]
[--members 250000] [--month 12] [--rebuild]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_flags; the
database is created when missing and migrated). It

1. loads, once (kept between runs; --rebuild loads again): 20 townships × 10 villages, `--members`
   members in households of four, 40 facilities of the four levels, the contract's policy, and
   `--claims` claims discharged in 2026 — each member's stays in sequence without overlaps, about
   one in eight coming back within 15 days (some on the discharge day), 24 diagnosis groups with
   costs by level and group, 0.3 % padded bills (5–12 × the usual cost), 2 % rejected — all
   streamed with PostgreSQL `COPY`; then ANALYZE;
2. times `oversight.flags.facility_flags(year=2026, month=M)` (best of 3; target ≤ 5 s) and
   prints how many flags of each kind it found;
3. times `oversight.indicators.indicators` for the 12 months ending with M (the scorecard's and
   the ranking's figures) once.

Nothing here runs on a production database: --rebuild truncates the tables it fills.
"""
import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_flags")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._common import (  # noqa: E402
    copy_households_members,
    copy_places,
    copy_rows,
    django_ready,
    insert_facilities,
    reset_place_sequences,
)

YEAR = 2026
TZ = ZoneInfo("Asia/Shanghai")
TOWNSHIPS, VILLAGES_PER = 20, 10
LEVELS = ["township"] * 20 + ["county"] * 10 + ["municipal"] * 6 + ["provincial"] * 4
LEVEL_COST = {"township": 2500, "county": 8000, "municipal": 20000, "provincial": 35000}  # yuan
DIAGNOSES = [f"{letter}{n:02d}.{n % 10}" for letter in "IJKN" for n in (10, 18, 20, 35, 40, 63)]


def yuan(fen: int) -> str:
    """Whole fen as the decimal text COPY reads (no float on the way)."""
    return f"{fen // 100}.{fen % 100:02d}"


def stays(members: int, claims: int, rng: random.Random):
    """(member, admission, discharge) of `claims` stays discharged in YEAR, none overlapping: each
    member's stays one after another through the year (about five a member)."""
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    made = 0
    for member in range(1, members + 1):
        day = first - timedelta(days=rng.randrange(0, 60))
        while True:
            los = rng.choice([1, 2, 3, 4, 5, 5, 6, 7, 8, 10, 12, 15, 20])
            admission, discharge = day, day + timedelta(days=los)
            if discharge > last:
                break
            if discharge >= first:
                yield member, admission, discharge
                made += 1
                if made >= claims:
                    return
            gap = rng.randrange(0, 16) if rng.random() < 0.125 else rng.randrange(16, 120)
            day = discharge + timedelta(days=gap)
    sys.exit(f"only {made:,} stays for {members:,} members: raise --members")


def load(members: int, claims: int, rng: random.Random) -> None:
    from django.db import connection, transaction

    from policy.models import PolicyVersion
    from policy.services import policy_load

    started = time.perf_counter()
    now = datetime.now(TZ).isoformat()
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        cursor.execute(
            "TRUNCATE facilities_claimflag, claims_claim, claims_costline, claims_claimdocument, claims_claimevent, "
            "enrollment_enrollment, enrollment_member, enrollment_household, enrollment_villagepopulation, "
            "enrollment_village, enrollment_township, facilities_facility RESTART IDENTITY CASCADE")
        if not PolicyVersion.objects.filter(year=YEAR).exists():
            policy_load(data=json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8")))
        policy = PolicyVersion.objects.get(year=YEAR)
        villages = copy_places(cursor, TOWNSHIPS, VILLAGES_PER)
        copy_households_members(cursor, members, villages, now)
        facilities = insert_facilities(cursor, LEVELS, TOWNSHIPS)
        breakdown = json.dumps({"rule": "formula"})
        group_cost = {dx: rng.uniform(0.5, 2.0) for dx in DIAGNOSES}

        def claim_rows():
            for n, (member, admission, discharge) in enumerate(stays(members, claims, rng)):
                facility, level = facilities[rng.randrange(len(facilities))]
                dx = DIAGNOSES[n % len(DIAGNOSES)]
                usual = LEVEL_COST[level] * group_cost[dx] * 100  # fen
                total = int(usual * rng.uniform(0.6, 1.5))
                if rng.random() < 0.003:
                    total = int(usual * rng.uniform(5, 12))
                outside = total * rng.randrange(5, 20) // 100
                reimbursable = total - outside
                compensation = reimbursable * rng.randrange(40, 80) // 100
                status = "rejected" if rng.random() < 0.02 else "approved"
                village = (member - 1) // 4 % villages  # member ids start at 1, four to a household
                yield (
                    str(member), str(facility), str(village // VILLAGES_PER + 1), str(YEAR), "facility", f"B{n:08d}", admission.isoformat(),
                    discharge.isoformat(), dx, "诊断", yuan(total), yuan(outside),
                    yuan(reimbursable), yuan(compensation), yuan(total - compensation),
                    "f", "formula", breakdown, str(policy.pk), str(policy.revision), status, "", now, now,
                )

        count = copy_rows(cursor, "claims_claim",
                          ["member_id", "facility_id", "township_id", "year", "channel", "invoice_no", "admission_date",
                           "discharge_date", "diagnosis_code", "diagnosis_text", "total_cost", "non_reimbursable_cost",
                           "reimbursable_cost", "compensation", "patient_pays", "referred", "rule", "breakdown",
                           "policy_id", "policy_revision", "status", "note", "created_at", "updated_at"],
                          claim_rows())
        reset_place_sequences(cursor)
    print(f"loaded {members:,} members, {count:,} claims in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=250_000)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--month", type=int, default=12)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    django_ready()
    from django.db import connection

    from claims.models import Claim
    from oversight.flags import facility_flags, month_bounds
    from oversight.indicators import indicators

    if args.rebuild or Claim.objects.count() != args.claims:
        load(args.members, args.claims, random.Random(20260101))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    first, last = month_bounds(YEAR, args.month)
    in_month = Claim.objects.filter(discharge_date__gte=first, discharge_date__lte=last).count()

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        flags = facility_flags(year=YEAR, month=args.month)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    kinds = Counter(flag["kind"] for flag in flags)
    print(f"facility_flags({YEAR}, {args.month}) over {Claim.objects.count():,} claims ({in_month:,} discharged "
          f"in the month): best {best:.2f} s of 3 ({', '.join(f'{t:.2f}' for t in timings)}); "
          f"{len(flags):,} flags: {', '.join(f'{k} {v:,}' for k, v in sorted(kinds.items()))} — "
          f"target ≤ 5 s: {'met' if best <= 5 else 'NOT met'}")
    started = time.perf_counter()
    result = indicators(year=YEAR, month=args.month)
    print(f"indicators({YEAR}, {args.month}), 12 months, {len(result.facilities)} facilities: "
          f"{time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
