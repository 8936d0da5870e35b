"""The roster and contributions exports of a big county, as the worker writes them:
`.venv/bin/python bench/exports.py [--members 300000] [--runs 3] [--writers] [--old] [--rebuild]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_exports; the
database is created when missing and migrated). It

1. loads, once (kept between runs; --rebuild loads again): 4 townships × 50 villages, `--members`
   members in households of one to five (about three each; the head first), realistic names,
   valid-looking 18-character ID numbers, 70 % with a phone, 93 % paid for 2026 (receipt number,
   paid date in January–March, 2 % paid by civil affairs) — streamed with `COPY`; then ANALYZE;
2. each run: creates an `ExportJob` of the county's roster, of its 2026 contributions and of one
   township's roster, and runs `enrollment.exports.export_job_run` on each in this process — the
   code the Celery worker runs, from the job row to the stored file — and prints the wall time,
   **rows/s** (target ≥ 50,000 rows/s) and the CPU time of this process (the worker's share; the
   rest is PostgreSQL's query);
3. with `--writers`: reads the county roster's rows once and times the XLSX writers alone on
   them: `core.xlsx.XlsxSheet`, XlsxWriter in constant-memory mode, openpyxl in write-only mode;
4. with `--old`: times the export as the request wrote it before (django-import-export's
   `RosterResource` and XlsxWriter: `enrollment.resources`) on the county roster.

Nothing here runs on a production database: --rebuild truncates the tables it fills.
"""
import argparse
import io
import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_exports")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MEDIA_ROOT", "/tmp/ncms-bench-exports-media")

from bench._common import copy_places, copy_rows, database_line, django_ready, uptime  # noqa: E402

TOWNSHIPS, VILLAGES_PER = 4, 50  # four townships of about 75,000 members each
YEAR = 2026
PHONE_SHARE, PAID_SHARE, CIVIL_SHARE = 0.70, 0.93, 0.02
SIZES = [1, 2, 3, 3, 3, 4, 4, 4, 5]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂兰建国小明志强海燕丽华国庆春梅德胜玉珍文军红霞"
RELATIONS = ["spouse", "son", "daughter", "parent", "grandchild", "other"]
CATEGORIES = ["ordinary"] * 90 + ["wubao"] * 2 + ["dibao"] * 5 + ["poor"] * 3
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def resident_id(n: int, born: date, sex: str) -> str:
    """A GB 11643-shaped ID number (region, birth date, sequence of the sex's parity, check);
    unique for n below 3,100,000 with the birth date of `birth_date(n)`."""
    seq = (n % 400) * 2 + (1 if sex == "M" else 0)
    body = f"{420100 + n // 31000}{born:%Y%m%d}{seq:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def birth_date(n: int) -> date:
    return date(1935, 1, 1) + timedelta(days=n * 7919 % 31000)  # 7919 is prime: every day once per 31,000


def load(members: int) -> None:
    from django.db import connection

    rng = random.Random(2026)
    villages = TOWNSHIPS * VILLAGES_PER
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute("TRUNCATE enrollment_exportjob, enrollment_enrollment, enrollment_historicalenrollment, "
                       "enrollment_member, enrollment_historicalmember, enrollment_household, "
                       "enrollment_historicalhousehold, enrollment_village, enrollment_township CASCADE")
        copy_places(cursor, TOWNSHIPS, VILLAGES_PER)
        households, people, heads = [], [], []
        n = 0
        h = 0
        while n < members:
            size = min(rng.choice(SIZES), members - n)
            village = h % villages
            households.append((str(h + 1), f"{420102101201 + village // VILLAGES_PER * 1000 + village % VILLAGES_PER}"
                                            f"{h // villages + 1:04d}", str(village + 1)))
            for position in range(size):
                sex = "M" if rng.random() < 0.5 else "F"
                born = birth_date(n)
                relation = "head" if position == 0 else rng.choice(RELATIONS)
                phone = f"13{rng.randrange(10**9):09d}" if rng.random() < PHONE_SHARE else ""
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
                people.append((str(n + 1), str(h + 1), name, resident_id(n, born, sex), sex, born.isoformat(),
                               relation, rng.choice(CATEGORIES), phone))
                if position == 0:
                    heads.append((h + 1, n + 1))
                n += 1
            h += 1
        copy_rows(cursor, "enrollment_household",
                  ["id", "number", "village_id", "address", "phone", "bank_name", "bank_account", "card_number",
                   "created_at"],
                  ((hid, number, village, "", "", "农村信用社", f"6228{int(hid):015d}", f"HZ{int(hid):08d}",
                    "2026-01-01 00:00:00+08") for hid, number, village in households))
        copy_rows(cursor, "enrollment_member",
                  ["id", "household_id", "name", "id_number", "sex", "birth_date", "relation", "category", "phone"],
                  people)
        cursor.execute("CREATE TEMP TABLE heads (household_id int, member_id int)")
        copy_rows(cursor, "heads", ["household_id", "member_id"], ((str(a), str(b)) for a, b in heads))
        cursor.execute("UPDATE enrollment_household h SET head_id = heads.member_id FROM heads "
                       "WHERE heads.household_id = h.id")
        paid = [person for person in people if rng.random() < PAID_SHARE]
        copy_rows(cursor, "enrollment_enrollment",
                  ["member_id", "year", "contribution", "receipt_no", "paid_date", "payer", "recorded_at"],
                  ((person[0], str(YEAR), "380.00", f"R{YEAR}{int(person[0]):08d}",
                    (date(YEAR, 1, 2) + timedelta(days=rng.randrange(88))).isoformat(),
                    "civil_affairs" if rng.random() < CIVIL_SHARE else "self", "2026-01-01 00:00:00+08")
                   for person in paid))
        for table in ("enrollment_township", "enrollment_village", "enrollment_household", "enrollment_member",
                      "enrollment_enrollment"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        for table in ("enrollment_household", "enrollment_member", "enrollment_enrollment", "enrollment_village"):
            cursor.execute(f"ANALYZE {table}")


def run_job(kind: str, township_id, user) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of this process, rows, file bytes) of one job run as the worker runs it."""
    from enrollment.exports import export_job_run
    from enrollment.models import ExportJob

    job = ExportJob.objects.create(kind=kind, year=YEAR, township_id=township_id, created_by=user)
    started, cpu = time.perf_counter(), time.process_time()
    export_job_run(job.pk)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.status
    size = job.file.size
    job.file.delete(save=False)
    return elapsed, cpu, job.processed_rows, size


def writers(rows: list[tuple]) -> None:
    """The XLSX writers alone on the same rows (the roster's values, read once)."""
    import xlsxwriter
    from openpyxl import Workbook

    from core.xlsx import XlsxSheet
    from enrollment.exports import ROSTER_HEADERS, ROSTER_KINDS

    def ours():
        out = io.BytesIO()
        sheet = XlsxSheet(out, title="花名册", headers=ROSTER_HEADERS, kinds=ROSTER_KINDS)
        sheet.write_rows(rows)
        sheet.close()
        return out

    def xlsxwriter_constant_memory():
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
        sheet = book.add_worksheet("花名册")
        text, money, day = (book.add_format({"num_format": f}) for f in ("@", "0.00", "yyyy-mm-dd"))
        for column, title in enumerate(ROSTER_HEADERS):
            sheet.write_string(0, column, title, text)
        for index, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                if isinstance(value, Decimal):
                    sheet.write_number(index, column, value, money)
                elif isinstance(value, date):
                    sheet.write_datetime(index, column, value, day)
                elif value is None or value == "":
                    sheet.write_blank(index, column, None, text)
                else:
                    sheet.write_string(index, column, value, text)
        book.close()
        return out

    def openpyxl_write_only():
        book = Workbook(write_only=True)
        sheet = book.create_sheet("花名册")
        sheet.append(ROSTER_HEADERS)
        for row in rows:  # openpyxl writes a Decimal as a float: shown only to compare the speed
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out

    for writer in (ours, xlsxwriter_constant_memory, openpyxl_write_only):
        started = time.perf_counter()
        out = writer()
        elapsed = time.perf_counter() - started
        print(f"  writer {writer.__name__}: {elapsed:.2f} s = {len(rows) / elapsed:,.0f} rows/s, "
              f"{len(out.getvalue()) / 1e6:.1f} MB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writers", action="store_true", help="also time the XLSX writers alone")
    parser.add_argument("--old", action="store_true", help="also time the former in-request export")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    django_ready()
    from accounts.models import Role, User
    from enrollment.exports import roster_queryset
    from enrollment.models import Enrollment, Member

    if args.rebuild or Member.objects.count() != args.members:
        started = time.perf_counter()
        load(args.members)
        print(f"loaded {args.members} members in {time.perf_counter() - started:.0f} s", flush=True)
    user = User.objects.filter(username="bench-exports").first() or User.objects.create(
        username="bench-exports", role=Role.FUND_OFFICER)
    township = Member.objects.values_list("household__village__township_id", flat=True).first()
    print(f"{database_line()}; {Member.objects.count()} members, "
          f"{Enrollment.objects.filter(year=YEAR).count()} contributions of {YEAR}; {os.cpu_count()} CPUs; "
          f"{uptime()}", flush=True)

    for run in range(1, args.runs + 1):
        parts = []
        for label, kind, scope in (("county roster", "roster", None), ("county contributions", "enrollments", None),
                                   ("one township's roster", "roster", township)):
            elapsed, cpu, rows, size = run_job(kind, scope, user)
            parts.append(f"{label} {rows} rows {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s "
                         f"(CPU {cpu:.2f} s in this process; {size / 1e6:.1f} MB)")
        print(f"run {run} (load {os.getloadavg()[0]:.1f}): " + "; ".join(parts), flush=True)

    if args.writers:
        started = time.perf_counter()
        rows = list(roster_queryset(YEAR, None).iterator(chunk_size=10_000))
        print(f"read {len(rows)} roster rows (values_list, server-side cursor) in "
              f"{time.perf_counter() - started:.2f} s", flush=True)
        writers(rows)

    if args.old:
        from enrollment.resources import RosterResource, xlsx_bytes

        started = time.perf_counter()
        resource = RosterResource(year=YEAR)
        dataset = resource.export(resource.roster_queryset(Member.objects.all()))
        content = xlsx_bytes(dataset, sheet_title=f"花名册{YEAR}")
        elapsed = time.perf_counter() - started
        print(f"former in-request export (django-import-export + XlsxWriter): {dataset.height} rows "
              f"{elapsed:.2f} s = {dataset.height / elapsed:,.0f} rows/s ({len(content) / 1e6:.1f} MB)")
    print("target: >= 50,000 rows/s")


if __name__ == "__main__":
    main()
