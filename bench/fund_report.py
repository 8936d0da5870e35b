"""Monthly fund report benchmark: `.venv/bin/python bench/fund_report.py [--members 500000]
[--claims 1000000] [--month 12] [--baseline-claims 50000] [--rebuild]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_fund; the database
is created when missing and migrated). It

1. loads, once (kept between runs; --rebuild loads again): 20 townships × 25 villages with their
   populations, `--members` members in households of four, each enrolled for 2026 (paid dates
   spread over January–March), 40 facilities, the contract's policy, and `--claims` paid claims of
   2026 spread over the twelve months, the townships and the facilities — households, members,
   enrollments and claims streamed with PostgreSQL `COPY`; then ANALYZE;
2. times `fund.report.monthly_report(year=2026, month=M)` (best of 3; target ≤ 2 s);
3. times a straightforward ORM loop over the same claims (`select_related` to the village, sums and
   a set of members per township in Python) on a slice of `--baseline-claims` claims and
   extrapolates it to all claims (the output says so), then prints the ratio.

Nothing here runs on a production database: --rebuild truncates the tables it fills.
"""
import argparse
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_fund")
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
TOWNSHIPS, VILLAGES_PER = 20, 25
LEVELS = ["township"] * 20 + ["county"] * 10 + ["municipal"] * 6 + ["provincial"] * 4


def load(members: int, claims: int, rng: random.Random) -> None:
    from django.db import connection, transaction

    from policy.models import PolicyVersion
    from policy.services import policy_load

    started = time.perf_counter()
    now = datetime.now(TZ).isoformat()
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        cursor.execute(
            "TRUNCATE claims_claim, claims_costline, claims_claimdocument, claims_claimevent, "
            "enrollment_enrollment, enrollment_member, enrollment_household, enrollment_villagepopulation, "
            "enrollment_village, enrollment_township, facilities_facility RESTART IDENTITY CASCADE")
        if not PolicyVersion.objects.filter(year=YEAR).exists():
            policy_load(data=json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8")))
        policy = PolicyVersion.objects.get(year=YEAR)
        villages = copy_places(cursor, TOWNSHIPS, VILLAGES_PER)
        per_village = members // villages
        copy_rows(cursor, "enrollment_villagepopulation", ["village_id", "year", "population"],
                  ((str(v + 1), str(YEAR), str(int(per_village * rng.uniform(1.0, 1.08))))
                   for v in range(villages)))
        copy_households_members(cursor, members, villages, now)
        copy_rows(cursor, "enrollment_enrollment",
                  ["member_id", "year", "contribution", "receipt_no", "paid_date", "payer", "recorded_at"],
                  ((str(n + 1), str(YEAR), "380.00", f"BR{n:08d}",
                    (date(YEAR, 1, 2) + timedelta(days=n % 80)).isoformat(), "self", now) for n in range(members)))
        facilities = [str(pk) for pk, _level in insert_facilities(cursor, LEVELS, TOWNSHIPS)]
        breakdown = json.dumps({"rule": "formula"})

        def claim_rows():
            for n in range(claims):
                month = 1 + n % 12
                day = 1 + (n // 12) % 28
                discharge = date(YEAR, month, day)
                total = rng.randrange(50000, 3000000)  # fen
                reimbursable = total * rng.randrange(80, 100) // 100
                compensation = reimbursable * rng.randrange(40, 80) // 100
                paid = datetime(YEAR, month, day, 9 + n % 8, n % 60, tzinfo=TZ)
                if paid.date() < discharge:
                    paid = datetime.combine(discharge, paid.timetz())
                member = rng.randrange(members) + 1
                # the member's township: member → household (4 a household) → village → township
                township = (((member - 1) // 4) % villages) // VILLAGES_PER + 1
                yield (
                    str(member), str(township), facilities[n % len(facilities)], str(YEAR), "facility",
                    f"B{n:08d}", (discharge - timedelta(days=5)).isoformat(), discharge.isoformat(), "J18.9", "肺炎",
                    f"{total / 100:.2f}", f"{(total - reimbursable) / 100:.2f}", f"{reimbursable / 100:.2f}",
                    f"{compensation / 100:.2f}", f"{(total - compensation) / 100:.2f}", "f", "formula", breakdown,
                    str(policy.pk), str(policy.revision), "paid", "", paid.isoformat(), now, now,
                )

        copy_rows(cursor, "claims_claim",
                  ["member_id", "township_id", "facility_id", "year", "channel", "invoice_no", "admission_date", "discharge_date",
                   "diagnosis_code", "diagnosis_text", "total_cost", "non_reimbursable_cost", "reimbursable_cost",
                   "compensation", "patient_pays", "referred", "rule", "breakdown", "policy_id", "policy_revision",
                   "status", "note", "paid_at", "created_at", "updated_at"], claim_rows())
        reset_place_sequences(cursor)
    print(f"loaded {members:,} members, {claims:,} paid claims in {time.perf_counter() - started:.1f} s")


def orm_loop(*, year: int, month: int, limit: int | None) -> tuple[float, int]:
    """The straightforward way: every paid claim as an object, summed per township in Python."""
    from claims.models import Claim

    started = time.perf_counter()
    end = datetime(year, month + 1, 1, tzinfo=TZ) if month < 12 else datetime(year + 1, 1, 1, tzinfo=TZ)
    start = datetime(year, month, 1, tzinfo=TZ)
    claims = (Claim.objects.filter(year=year, status="paid", paid_at__lt=end)
              .select_related("member__household__village").order_by("pk"))
    if limit:
        claims = claims[:limit]
    totals: dict = {}
    count = 0
    for claim in claims.iterator(chunk_size=2000):
        township = claim.member.household.village.township_id
        row = totals.setdefault(township, {"n": 0, "n_ytd": 0, "cost": Decimal(0), "cost_ytd": Decimal(0),
                                           "reimb": Decimal(0), "reimb_ytd": Decimal(0), "comp": Decimal(0),
                                           "comp_ytd": Decimal(0), "members": set()})
        row["n_ytd"] += 1
        row["cost_ytd"] += claim.total_cost
        row["reimb_ytd"] += claim.reimbursable_cost
        row["comp_ytd"] += claim.compensation
        row["members"].add(claim.member_id)
        if claim.paid_at >= start:
            row["n"] += 1
            row["cost"] += claim.total_cost
            row["reimb"] += claim.reimbursable_cost
            row["comp"] += claim.compensation
        count += 1
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--month", type=int, default=12)
    parser.add_argument("--baseline-claims", type=int, default=50_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    django_ready()
    from django.db import connection

    from claims.models import Claim
    from fund.report import monthly_report

    if args.rebuild or Claim.objects.filter(status="paid").count() != args.claims:
        load(args.members, args.claims, random.Random(20260101))
    with connection.cursor() as cursor:
        # VACUUM too: migrating claims.0004 on a loaded database rewrites every claim row once
        cursor.execute("VACUUM ANALYZE")

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        report = monthly_report(year=YEAR, month=args.month)
        timings.append(time.perf_counter() - started)
    county = report["rows"][-1]
    best = min(timings)
    print(f"monthly_report({YEAR}, {args.month}): best {best:.2f} s of 3 ({', '.join(f'{t:.2f}' for t in timings)});"
          f" admissions_ytd {county['admissions_ytd']}, compensation_ytd {county['compensation_ytd']},"
          f" beneficiary_rate {county['beneficiary_rate']} — target ≤ 2 s: {'met' if best <= 2 else 'NOT met'}")

    seconds, counted = orm_loop(year=YEAR, month=args.month, limit=args.baseline_claims)
    total = int(county["admissions_ytd"])
    extrapolated = seconds * total / counted
    print(f"ORM loop over {counted:,} claims (a slice): {seconds:.2f} s ({counted / seconds:,.0f} claims/s); "
          f"extrapolated to all {total:,} claims: {extrapolated:.1f} s")
    print(f"ratio ORM loop (extrapolated) / monthly_report: {extrapolated / best:.0f}×")


if __name__ == "__main__":
    main()
