"""Claims benchmark: `.venv/bin/python bench/quote.py [--lines 100000] [--members 20000]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_quote; the database
is created when missing and migrated). It

1. seeds, once (kept between runs): 10 townships × 20 villages, `--members` enrolled members for
   the year (plus 2% not enrolled), 40 facilities of every level, the contract's example policy,
   and 5,000 claims already in the database (their stays, invoices and cap use are checked);
2. generates `--lines` quote_claims input lines (about 5 per member: successive stays of the year,
   so caps, overlaps and invoices are consumed across lines; about 4% are refusals of every kind);
3. runs `quote_claims --year 2026` in-process on them and prints lines/s (target ≥ 10,000).

4. then measures the settlement API under 20 concurrent clients against gunicorn + PostgreSQL
   (target p95 ≤ 50 ms) by running `bench/settle_api.py` twice, in its own database: back to back
   (a closed loop: the server's saturation) and paced at `--settle-rate` settlements per second
   (default 50), and prints their figures (`--no-api` skips this part).

Nothing here runs on a production database.
"""
import argparse
import io
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_quote")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._common import database_line, django_ready  # noqa: E402

YEAR = 2026
LEVELS = ["township"] * 20 + ["county"] * 10 + ["municipal"] * 6 + ["provincial"] * 4
DIAGNOSES = ["J18.9", "I10", "K80.2", "N18.9", "E11.9", "K35.8", "S72.0", "I63.9", "C34.9", "O80"]


def seed(members: int, rng: random.Random) -> None:
    """Places, members with enrollments, facilities, the policy and some claims (bulk, no history)."""
    from django.db import connection, transaction

    from claims.models import Channel, Claim, ClaimStatus
    from enrollment.models import Enrollment, Household, Member
    from enrollment.rules import FEMALE, MALE, make_resident_id
    from facilities.models import Facility
    from places.models import Township, Village
    from policy.models import PolicyVersion
    from policy.services import policy_load

    if Member.objects.count() >= members and Claim.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return
    started = time.perf_counter()
    with transaction.atomic():
        Claim.objects.all().delete()
        Enrollment.objects.all().delete()
        Household.objects.update(head=None)
        Member.objects.all().delete()
        Household.objects.all().delete()
        policy_load(data=json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8")))
        villages = []
        for t in range(10):
            township, _ = Township.objects.get_or_create(code=f"420102{101 + t:03d}", defaults={"name": f"第{t + 1}镇"})
            for v in range(20):
                village, _ = Village.objects.get_or_create(code=f"{township.code}{201 + v:03d}",
                                                           defaults={"name": f"第{v + 1}村", "township": township})
                villages.append(village)
        for index, level in enumerate(LEVELS):
            Facility.objects.get_or_create(code=f"F{index + 1:03d}", defaults={
                "name": f"第{index + 1}定点医院", "level": level, "township": villages[index * 5].township,
                "agreement_start": date(2025, 1, 1), "agreement_end": date(2027, 12, 31)})
        total = int(members * 1.02)
        households = Household.objects.bulk_create([
            Household(number=f"B{n:08d}", card_number=f"BK{n:08d}", village=villages[n % len(villages)])
            for n in range(total // 3 + 1)])
        people = []
        for n in range(total):
            sex = MALE if n % 2 else FEMALE
            born = date(1940, 1, 1) + timedelta(days=n // 50)
            id_number = make_resident_id("420102", born, n % 50, sex)
            people.append(Member(household=households[n // 3], name=f"成员{n}", id_number=id_number, sex=sex,
                                 birth_date=born, relation="head" if n % 3 == 0 else "other",
                                 category=rng.choice(["ordinary"] * 17 + ["wubao", "dibao", "poor"])))
        people = Member.objects.bulk_create(people, batch_size=5000)
        Enrollment.objects.bulk_create([
            Enrollment(member=person, year=YEAR, contribution=Decimal("380.00"), receipt_no=f"BR{n:08d}",
                       paid_date=date(YEAR, 1, 10)) for n, person in enumerate(people[:members])],
            batch_size=5000)
        policy = PolicyVersion.objects.get(year=YEAR)
        facilities = list(Facility.objects.filter(code__startswith="F").order_by("code"))
        claims = []
        township_of = dict(Member.objects.values_list("pk", "household__village__township_id"))
        for n in range(5000):
            person = people[(n * 4) % members]
            cost = Decimal(rng.randrange(50000, 500000)) / 100
            claims.append(Claim(
                member=person, township_id=township_of[person.pk],
                facility=facilities[n % len(facilities)], year=YEAR, channel=Channel.FACILITY,
                invoice_no=f"DB-{n:06d}", admission_date=date(YEAR, 1, 2), discharge_date=date(YEAR, 1, 9),
                total_cost=cost, non_reimbursable_cost=Decimal("0.00"), reimbursable_cost=cost,
                compensation=(cost / 2).quantize(Decimal("0.01")), patient_pays=cost - (cost / 2).quantize(Decimal("0.01")),
                rule="formula", breakdown={}, policy=policy, policy_revision=policy.revision,
                status=ClaimStatus.REJECTED if n % 10 == 0 else ClaimStatus.SUBMITTED))
        Claim.objects.bulk_create(claims, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would soon after a bulk load
    print(f"seeded {members} enrolled members (+2% not enrolled), {len(LEVELS)} facilities, 5000 claims "
          f"in {time.perf_counter() - started:.1f} s")


def generate_lines(count: int, members: int, rng: random.Random, *, enrolled: list[str] | None = None,
                   unenrolled: list[str] | None = None) -> str:
    """`count` input lines for the seeded members, or for the `enrolled` and `unenrolled` ID
    numbers given (a roster just imported)."""
    if enrolled is None:
        from enrollment.models import Member

        ids = list(Member.objects.order_by("pk").values_list("id_number", flat=True))
        enrolled, unenrolled = ids[:members], ids[members:]
    codes = [f"F{index + 1:03d}" for index in range(len(LEVELS))]
    next_day: dict[str, int] = {}
    out = []
    for n in range(count):
        roll = rng.random()
        id_number = rng.choice(enrolled)
        facility = rng.choice(codes)
        start = next_day.get(id_number, 10)  # day of the year; day 10 is after the seeded stays
        length = rng.randrange(1, 15)
        if start + length > 360:
            start = 10
        next_day[id_number] = start + length + rng.randrange(0, 20)
        admission = date(YEAR, 1, 1) + timedelta(days=start)
        discharge = admission + timedelta(days=length)
        total = Decimal(rng.randrange(30000, 6000000)) / 100
        excluded = (total * Decimal(rng.randrange(0, 30)) / 100).quantize(Decimal("0.01"))
        line = {"ref": f"L{n}", "id_number": id_number, "facility": facility,
                "invoice_no": f"{facility}-{YEAR}-{n:07d}", "admission_date": admission.isoformat(),
                "discharge_date": discharge.isoformat(), "total_cost": str(total),
                "non_reimbursable_cost": str(excluded), "referred": rng.random() < 0.6,
                "diagnosis": rng.choice(DIAGNOSES),
                "delivery": rng.choice(["normal", "caesarean"]) if rng.random() < 0.03 else None}
        if roll < 0.01:
            line["id_number"] = rng.choice(unenrolled)  # not_enrolled
        elif roll < 0.015:
            line["facility"] = "F999"  # unknown_facility
        elif roll < 0.02:
            line["discharge_date"] = f"{YEAR + 1}-01-05"  # bad_dates (outside the year)
        elif roll < 0.025:
            line["non_reimbursable_cost"] = str(total + 1)  # bad_amounts
        elif roll < 0.03:
            line["invoice_no"] = f"DB-{rng.randrange(5000):06d}"
            line["facility"] = codes[int(line["invoice_no"][3:]) % len(codes)]  # duplicate_invoice
        elif roll < 0.035:
            line["id_number"] = "420102" + line["id_number"][6:17] + "X"  # (mostly) unknown_member
        elif roll < 0.04:
            line["admission_date"], line["discharge_date"] = f"{YEAR}-01-03", f"{YEAR}-01-08"  # overlaps seeded
        out.append(json.dumps(line, ensure_ascii=False))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--settle-rate", type=float, default=50,
                        help="settlements per second of the paced API run")
    parser.add_argument("--no-api", action="store_true", help="skip the settlement API runs")
    args = parser.parse_args()

    django_ready()
    from django.core.management import call_command

    from claims.models import Claim, ClaimEvent, MemberYearCap

    print(f"{database_line()}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(figures are wall-clock: a busy machine slows every line alike)")
    rng = random.Random(2026)
    seed(args.members, rng)
    text = generate_lines(args.lines, args.members, rng)
    print(f"input: {args.lines} lines, {len(text.encode()) / 1e6:.1f} MB")

    before = (Claim.objects.count(), ClaimEvent.objects.count(), MemberYearCap.objects.count())
    out = io.StringIO()
    started = time.perf_counter()
    call_command("quote_claims", "--year", str(YEAR), stdin=io.StringIO(text), stdout=out)
    elapsed = time.perf_counter() - started
    rows = [json.loads(row) for row in out.getvalue().splitlines()]
    assert len(rows) == args.lines, (len(rows), args.lines)
    assert [row["ref"] for row in rows] == [f"L{n}" for n in range(args.lines)]
    assert (Claim.objects.count(), ClaimEvent.objects.count(), MemberYearCap.objects.count()) == before
    errors: dict[str, int] = {}
    for row in rows:
        if not row["ok"]:
            errors[row["error"]] = errors.get(row["error"], 0) + 1
    ok = sum(1 for row in rows if row["ok"])
    paid = sum((Decimal(row["compensation"]) for row in rows if row["ok"]), Decimal("0"))
    print(f"quote_claims: {args.lines} lines in {elapsed:.2f} s = {args.lines / elapsed:,.0f} lines/s "
          f"(target ≥ 10,000); {ok} valued ({paid} yuan), refused: "
          + ", ".join(f"{code} {n}" for code, n in sorted(errors.items())))
    if not args.no_api:
        settle_api(args.settle_rate)


def settle_api(rate: float) -> None:
    """bench/settle_api.py, closed loop then paced, in its own process and database."""
    import subprocess

    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    for label, extra in (("back to back", []), (f"paced at {rate:g}/s", ["--rate", f"{rate:g}"])):
        print(f"settlement API, 20 concurrent clients, {label} (bench/settle_api.py {' '.join(extra)}):",
              flush=True)
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "settle_api.py"), *extra], env=env,
                              capture_output=True, text=True)
        for line in done.stdout.splitlines():
            if line.startswith(("gunicorn", "statuses", "wall", "CPU", "latency", "claims", "in-process")):
                print("  " + line)
        if done.returncode:
            print(f"  failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")


if __name__ == "__main__":
    main()
