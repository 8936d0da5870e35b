"""Roster import benchmark: `.venv/bin/python bench/import_roster.py [--members 100000] [--county N]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_roster; the database
is created when missing and migrated). It

1. generates a realistic roster CSV (about 3.3 members per household, valid GB 11643 IDs, 200
   villages in 10 townships, created first) and imports it with `enrollment.roster.roster_import`,
   end to end as the county administrator (every row records who imported it): reading, validation,
   writing with history; prints members/s;
   (a dry run first shows how much of that is reading and validation); with `--county N`, into a
   county that already holds N members of other townships (imported first, untimed);
2. imports the same file again (every row unchanged) and prints the time;
3. wipes the roster tables and imports the members (or a slice, extrapolated and said so) through
   a plain django-import-export `ModelResource` on Member, row by row, and prints the ratio;
4. prints a raw `COPY` of the same CSV into a scratch table, the floor for any import.

Nothing here runs on a production database: it truncates the roster tables of the bench database.
"""
import argparse
import io
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_roster")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._common import database_line, django_ready  # noqa: E402

YEAR = 2026
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅玉林志文斌海波"


def make_places():
    from places.models import Township, Village

    villages = []
    for t in range(10):
        township, _ = Township.objects.get_or_create(code=f"420102{101 + t:03d}",
                                                     defaults={"name": f"第{t + 1}镇"})
        for v in range(20):
            village, _ = Village.objects.get_or_create(
                code=f"{township.code}{201 + v:03d}", defaults={"name": f"第{v + 1}村", "township": township})
            villages.append(village.code)
    return villages


def generate_roster(members: int, villages: list[str], seed: int = 2026, part: int = 0, *,
                    paid_share: float = 0.97, phone_share: float | None = None,
                    sizes: list[int] | None = None) -> bytes:
    """A roster CSV (UTF-8 with BOM, Chinese headers) of exactly `members` rows.

    `part` > 0 makes another township's roster: no household number or ID in common with part 0.
    `paid_share`: the share of members with a contribution (receipt number and paid date);
    `phone_share`: the share of members with a phone (None: the heads only); `sizes`: household
    sizes drawn from (a fifth of households are one smaller)."""
    from enrollment.rules import id_check_character

    rng = random.Random(seed + part)
    used: dict[str, int] = {}
    regions = [f"{42 + part}{code}" for code in ("0102", "0103", "0104", "0105", "0106", "0111")]
    tag = f"P{part}" if part else ""

    def resident_id(born: date, male: bool) -> str:
        region = rng.choice(regions)
        key = f"{region}{born:%Y%m%d}"
        n = used.get(key, 0)
        used[key] = n + 1
        sequence = n * 2 + (1 if male else 0)  # last digit odd for men, even for women
        body = f"{key}{sequence:03d}"
        return body + id_check_character(body)

    def birth(age_from: int, age_to: int) -> date:
        return date(YEAR, 1, 1) - timedelta(days=rng.randint(age_from * 365, age_to * 365))

    def name() -> str:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    out = io.StringIO()
    out.write("\ufeff村代码,户号,户主身份证号,姓名,身份证号,性别,出生日期,与户主关系,人员类别,联系电话,缴费金额,缴费日期,收据号\n")
    written = household = 0
    sizes = sizes or [1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6]  # mean 3.5; singles and couples pull it to ~3.3
    while written < members:
        household += 1
        village = villages[household % len(villages)]
        number = f"{village[6:]}{tag}{household:06d}"
        size = min(rng.choice(sizes) - (1 if rng.random() < 0.2 else 0) or 1, members - written)
        category = rng.choices(["普通", "五保", "低保", "贫困"], weights=[90, 2, 5, 3])[0]
        head_male = rng.random() < 0.85
        people = [("户主", head_male, birth(28, 80))]
        if size >= 2:
            people.append(("配偶", not head_male, birth(26, 78)))
        for _ in range(size - len(people)):
            relation = rng.choices(["子", "女", "父母", "孙子女"], weights=[40, 35, 15, 10])[0]
            male = relation == "子" or (relation in ("父母", "孙子女") and rng.random() < 0.5)
            ages = {"子": (0, 40), "女": (0, 40), "父母": (60, 95), "孙子女": (0, 15)}[relation]
            people.append((relation, male, birth(*ages)))
        ids = [resident_id(born, male) for _rel, male, born in people]
        phone = f"13{rng.randint(0, 999999999):09d}"
        paid = date(YEAR - 1, 10, 1) + timedelta(days=rng.randint(0, 100))
        receipt = f"R{YEAR}{tag}{household:07d}-"  # one receipt per member: a number once a year
        for position, ((relation, male, born), id_number) in enumerate(zip(people, ids)):
            paid_now = rng.random() < paid_share
            phoned = relation == "户主" if phone_share is None else rng.random() < phone_share
            out.write(",".join([
                village, number, ids[0], name(), id_number, "男" if male else "女", born.isoformat(),
                relation, category, phone if phoned else "",
                "380.00" if paid_now else "", paid.isoformat() if paid_now else "",
                f"{receipt}{position}" if paid_now else "",
            ]) + "\n")
            written += 1
    return out.getvalue().encode("utf-8")


def county_administrator():
    """The user the imports run as: every row records who imported it (as in the browser)."""
    from accounts.models import Role, User

    user, _ = User.objects.get_or_create(username="bench-county", defaults={"role": Role.ADMINISTRATOR})
    return user


def load_policy() -> None:
    """The year's policy (the contract's example, individual 380.00): contributions need it."""
    import json

    from policy.models import PolicyVersion
    from policy.services import policy_load

    if not PolicyVersion.objects.filter(year=YEAR).exists():
        document = json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8"))
        policy_load(data={**document, "year": YEAR})


def preload(members: int, villages: list[str], user) -> None:
    """The county's other townships, imported first (untimed), 100,000 members a file."""
    from django.db import connection

    from enrollment.roster import roster_import

    started, part, left = time.perf_counter(), 0, members
    while left > 0:
        part += 1
        size = min(left, 100_000)
        roster_import(data=generate_roster(size, villages, part=part), filename=f"part{part}.csv", year=YEAR,
                      user=user)
        left -= size
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"county before the import: {members} members of other townships, imported in "
          f"{time.perf_counter() - started:.1f} s (untimed below)")


def wipe():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE enrollment_enrollment, enrollment_historicalenrollment, enrollment_member, "
            "enrollment_historicalmember, enrollment_household, enrollment_historicalhousehold CASCADE"
        )


def counts():
    from enrollment.models import Enrollment, Household, Member

    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Household.history.count(), Member.history.count(), Enrollment.history.count())


def run_import_export(data: bytes, slice_rows: int):
    """Members through a plain ModelResource (row by row); households made first, untimed."""
    import tablib
    from import_export import fields, resources, widgets

    from core.tabular import read_table
    from enrollment.models import Household, Member
    from enrollment.roster import CATEGORIES, RELATIONS, SEXES
    from places.models import Village

    class MemberResource(resources.ModelResource):
        household = fields.Field(attribute="household", column_name="household",
                                 widget=widgets.ForeignKeyWidget(Household, "number"))

        class Meta:
            model = Member
            fields = ("household", "name", "id_number", "sex", "birth_date", "relation", "category", "phone")
            import_id_fields = ("id_number",)

    table = read_table(data, "bench.csv")
    rows = table.rows[:slice_rows]
    village_ids = dict(Village.objects.values_list("code", "id"))
    seen = {}
    for row in rows:
        seen.setdefault(row[1], Household(number=row[1], village_id=village_ids[row[0]], card_number="HZ" + row[1]))
    Household.objects.bulk_create(seen.values(), batch_size=2000)
    dataset = tablib.Dataset(headers=["household", "name", "id_number", "sex", "birth_date", "relation",
                                      "category", "phone"])
    for row in rows:
        relation = RELATIONS[row[7]]
        dataset.append([row[1], row[3], row[4], SEXES[row[5]], row[6], relation, CATEGORIES[row[8]], row[9]])
    resource = MemberResource()
    started = time.perf_counter()
    result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    elapsed = time.perf_counter() - started
    assert not result.has_errors() and result.totals["new"] == len(rows), result.totals
    return len(rows), elapsed


def raw_copy(data: bytes) -> float:
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE roster_scratch (village_code text, household_no text, "
                           "head_id_number text, name text, id_number text, sex text, birth_date text, "
                           "relation text, category text, phone text, contribution text, paid_date text, "
                           "receipt_no text) ON COMMIT DROP")
            started = time.perf_counter()
            with cursor.cursor.copy("COPY roster_scratch FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                copy.write(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
            return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--county", type=int, default=0,
                        help="members already in the county before the timed import (other townships')")
    parser.add_argument("--baseline-rows", type=int, default=5_000,
                        help="rows imported through django-import-export (extrapolated to --members)")
    args = parser.parse_args()

    django_ready()
    from enrollment.roster import roster_import

    print(f"{database_line()}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(figures are wall-clock: a busy machine slows every line alike)")
    wipe()
    villages = make_places()
    data = generate_roster(args.members, villages)
    print(f"roster: {args.members} members, {len(data) / 1e6:.1f} MB CSV")

    user = county_administrator()
    load_policy()
    if args.county:
        preload(args.county, villages, user)
    started = time.perf_counter()
    roster_import(data=data, filename="bench.csv", year=YEAR, user=user, dry_run=True)
    checked = time.perf_counter() - started
    print(f"dry run (read + validate + plan, nothing written): {checked:.2f} s")

    started = time.perf_counter()
    summary = roster_import(data=data, filename="bench.csv", year=YEAR, user=user)
    elapsed = time.perf_counter() - started
    print(f"roster_import (read + validate + write + history, one transaction): {elapsed:.2f} s, "
          f"{args.members / elapsed:,.0f} members/s")
    print(f"  {summary.as_dict()}")
    print(f"  rows now (households, members, enrollments, and their history): {counts()}")

    started = time.perf_counter()
    again = roster_import(data=data, filename="bench.csv", year=YEAR, user=user)
    print(f"re-import of the same file (all {again.unchanged_rows} rows unchanged, nothing written): "
          f"{time.perf_counter() - started:.2f} s; rows now {counts()}")

    copy_seconds = raw_copy(data)
    print(f"raw COPY of the CSV into a scratch text table: {copy_seconds:.2f} s, "
          f"{args.members / copy_seconds:,.0f} rows/s")

    wipe()
    slice_rows = min(args.baseline_rows, args.members)
    rows, baseline = run_import_export(data, slice_rows)
    per_second = rows / baseline
    extrapolated = "" if rows == args.members else (
        f" (a {rows}-row slice, extrapolated: {args.members / per_second:.0f} s for {args.members})")
    print(f"django-import-export ModelResource on Member, row by row (members + history only; "
          f"households pre-made untimed, no enrollments): {baseline:.2f} s for {rows} rows, "
          f"{per_second:,.0f} members/s{extrapolated}")
    ratio = (args.members / elapsed) / per_second
    print(f"ratio roster_import / import-export: {ratio:.1f}x")
    print(f"targets: >= 20,000 members/s: {'met' if args.members / elapsed >= 20_000 else 'NOT met'}; "
          f">= 20x import-export: {'met' if ratio >= 20 else 'NOT met'}")
    wipe()


if __name__ == "__main__":
    main()
