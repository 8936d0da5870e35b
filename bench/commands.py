"""The roster import and the quotes from the command line, as a county clerk runs them:
`.venv/bin/python bench/commands.py [--members 100000] [--lines 100000] [--runs 3]`.

Needs PostgreSQL: DATABASE_URL names the bench's database (default
postgres://postgres@127.0.0.1:5432/bench_commands). It

1. builds once a template database `<name>_template`: migrated, 10 townships × 20 villages, 40
   facilities of every level and the contract's example policy for 2026;
2. writes a realistic county roster (`--members` members in about a third as many households,
   93 % paid with receipt numbers and paid dates, 70 % with a phone, valid GB 11643 IDs) and
   `--lines` quote_claims input lines for those members (1 % for members who did not pay);
3. each run: drops and recreates `<name>` from the template (a fresh county), then times, each as
   a subprocess and including its start-up,
   `python manage.py import_roster FILE --year 2026`, then right after it
   `python manage.py quote_claims --year 2026 < LINES`, and prints members/s and lines/s.

Nothing here runs on a production database: it drops and recreates the two databases it names.
"""
import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_commands")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._common import copy_places, insert_facilities  # noqa: E402
from bench.import_roster import YEAR, generate_roster  # noqa: E402
from bench.quote import LEVELS, generate_lines  # noqa: E402

TOWNSHIPS, VILLAGES_PER = 10, 20
PAID_SHARE, PHONE_SHARE = 0.93, 0.70
SIZES = [1, 2, 3, 3, 3, 4, 4, 4, 5]  # with a fifth of households one smaller: about 3.0 members each
PROJECT = ROOT  # the checkout whose manage.py runs the commands (--project: another one, to compare)


def admin_connection(url: str):
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    params = dict(host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432,
                  user=config["USER"] or "postgres", password=config["PASSWORD"] or None)
    return psycopg.connect(dbname="postgres", autocommit=True, **params), config["NAME"]


def recreate(url: str, name: str, template: str | None = None) -> None:
    from psycopg import sql

    admin, _ = admin_connection(url)
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                          sql.Identifier(template)))
        else:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def with_name(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def manage(*args: str, url: str, stdin=None, stdout=subprocess.DEVNULL) -> float:
    """Run `python manage.py ARGS` on the database at `url`; answers its wall time (start-up included)."""
    env = dict(os.environ, DATABASE_URL=url)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(PROJECT / "manage.py"), *args], env=env, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=PROJECT)
    elapsed = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def build_template(url: str) -> list[str]:
    """The migrated template with places, facilities and the policy; answers the village codes."""
    import psycopg

    recreate(url, url.rsplit("/", 1)[1])
    manage("migrate", "--verbosity", "0", url=url)
    manage("load_policy", str(ROOT / "policy" / "fixtures" / "policy-2026.json"), url=url)
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as connection:
        with connection.cursor() as cursor:
            copy_places(cursor, TOWNSHIPS, VILLAGES_PER)
            insert_facilities(cursor, LEVELS, TOWNSHIPS)
            for table in ("enrollment_township", "enrollment_village"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute("SELECT code FROM enrollment_village ORDER BY id")
            return [code for (code,) in cursor.fetchall()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--project", type=Path, default=ROOT,
                        help="run the commands of another checkout of the project (before/after a change)")
    args = parser.parse_args()
    global PROJECT
    PROJECT = args.project.resolve()

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    template = f"{name}_template"
    print(f"{PROJECT}: PostgreSQL database {name} (fresh from {template} each run); {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (wall-clock figures: a busy machine slows them)")
    started = time.perf_counter()
    villages = build_template(with_name(url, template))
    roster = generate_roster(args.members, villages, paid_share=PAID_SHARE, phone_share=PHONE_SHARE, sizes=SIZES)
    rows = list(csv.reader(io.StringIO(roster.decode("utf-8-sig"))))[1:]
    paid = [row[4] for row in rows if row[10]]
    unpaid = [row[4] for row in rows if not row[10]]
    lines = generate_lines(args.lines, len(paid), random.Random(2026), enrolled=paid, unenrolled=unpaid)
    print(f"roster: {len(rows)} members in {len({row[1] for row in rows})} households, "
          f"{len(paid) / len(rows):.0%} paid, {sum(1 for row in rows if row[9]) / len(rows):.0%} with a phone, "
          f"{len(roster) / 1e6:.1f} MB; {args.lines} quote lines; template ready in "
          f"{time.perf_counter() - started:.0f} s")

    with tempfile.TemporaryDirectory(prefix="ncms-bench-commands-") as folder:
        roster_path, lines_path = Path(folder) / "roster.csv", Path(folder) / "lines.jsonl"
        roster_path.write_bytes(roster)
        lines_path.write_text(lines, "utf-8")
        for run in range(1, args.runs + 1):
            recreate(url, name, template)
            load = os.getloadavg()[0]
            imported = manage("import_roster", str(roster_path), "--year", str(YEAR), url=url)
            with lines_path.open() as source, (Path(folder) / "out.jsonl").open("w") as out:
                quoted = manage("quote_claims", "--year", str(YEAR), url=url, stdin=source, stdout=out)
            answers = (Path(folder) / "out.jsonl").read_text("utf-8").splitlines()
            assert len(answers) == args.lines, (len(answers), args.lines)
            valued = sum(1 for answer in answers if json.loads(answer)["ok"])
            print(f"run {run} (load {load:.1f}): import_roster {imported:.2f} s = "
                  f"{len(rows) / imported:,.0f} members/s; quote_claims {quoted:.2f} s = "
                  f"{args.lines / quoted:,.0f} lines/s ({valued} valued)", flush=True)
    print("targets: >= 20,000 members/s, >= 10,000 lines/s, each including the command's start-up")


if __name__ == "__main__":
    main()
