"""Helpers shared by the benchmarks: their own PostgreSQL database and Redis database, gunicorn
and a Celery worker started with production-like settings on loopback, and the figures.

Import it from a bench script after `sys.path` holds the project root (the scripts put it there)
and before `django.setup()`: nothing here imports Django at module level.
"""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET_KEY = "bench-only-secret-key-" + "x" * 40


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` when it does not exist (never a SQLite file:
    the benches measure PostgreSQL)."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit("这个基准需要 PostgreSQL：请把 DATABASE_URL 指向 PostgreSQL 数据库")
    params = dict(host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432,
                  user=config["USER"] or "postgres", password=config["PASSWORD"] or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not found:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"created database {config['NAME']}")


def copy_rows(cursor, table: str, columns: list[str], rows) -> int:
    """Stream rows (tuples of already formatted text) into `table` with COPY ... FROM STDIN."""
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(row))
            buffer.write("\n")
            count += 1
            if count % 50000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def django_ready(*, redis: bool = False, static: bool = False) -> None:
    """The bench's database (created when missing), `django.setup()` and `migrate`; with `redis`,
    the Redis database of REDIS_URL flushed first; with `static`, `collectstatic` after."""
    ensure_database(os.environ["DATABASE_URL"])
    if redis:
        flush_redis(os.environ["REDIS_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if static:
        call_command("collectstatic", interactive=False, verbosity=0)


def database_line() -> str:
    """The "PostgreSQL <version>, database <name>" that begins a bench's first line."""
    from django.db import connection

    return (f"PostgreSQL {connection.cursor().connection.info.server_version}, database "
            f"{connection.settings_dict['NAME']}")


def copy_places(cursor, townships: int, villages_per: int) -> int:
    """Townships 1..`townships` (codes 420102101, ...) of `villages_per` villages each, ids from 1,
    with COPY; returns the number of villages."""
    villages = townships * villages_per
    copy_rows(cursor, "enrollment_township", ["id", "code", "name"],
              ((str(t + 1), f"420102{101 + t:03d}", f"第{t + 1}镇") for t in range(townships)))
    copy_rows(cursor, "enrollment_village", ["id", "code", "name", "township_id"],
              ((str(v + 1), f"420102{101 + v // villages_per:03d}{201 + v % villages_per:03d}",
                f"第{v % villages_per + 1}村", str(v // villages_per + 1)) for v in range(villages)))
    return villages


def copy_households_members(cursor, members: int, villages: int, now: str) -> None:
    """`members` members (ids from 1) in households of four, household h in village h % villages + 1,
    with COPY; `now` is the households' created_at."""
    households = (members + 3) // 4
    copy_rows(cursor, "enrollment_household",
              ["id", "number", "village_id", "address", "phone", "bank_name", "bank_account", "card_number",
               "created_at"],
              ((str(h + 1), f"B{h:08d}", str(h % villages + 1), "", "", "农村信用社", f"6228{h:015d}",
                f"BK{h:08d}", now) for h in range(households)))
    copy_rows(cursor, "enrollment_member",
              ["id", "household_id", "name", "id_number", "sex", "birth_date", "relation", "category", "phone"],
              ((str(n + 1), str(n // 4 + 1), f"成员{n}", f"4201{n:014d}", "1" if n % 2 else "2",
                (date(1940, 1, 1) + timedelta(days=n % 25000)).isoformat(), "head" if n % 4 == 0 else "other",
                "ordinary", "") for n in range(members)))


def insert_facilities(cursor, levels: list[str], townships: int) -> list[tuple[int, str]]:
    """A facility F001, F002, ... of each of `levels` (active, agreement 2025–2027), spread over the
    townships; returns their (id, level) in code order."""
    for index, level in enumerate(levels):
        cursor.execute(
            "INSERT INTO facilities_facility (code, name, level, township_id, agreement_start, agreement_end, "
            "status, suspension_reason, past_suspensions, bank_name, bank_account) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'active', '', '[]', '', '')",
            [f"F{index + 1:03d}", f"第{index + 1}定点医院", level, index % townships + 1,
             date(2025, 1, 1), date(2027, 12, 31)])
    cursor.execute("SELECT id, level FROM facilities_facility ORDER BY code")
    return cursor.fetchall()


def reset_place_sequences(cursor) -> None:
    """The id sequences of the tables copy_places and copy_households_members fill, past their rows."""
    for table in ("enrollment_township", "enrollment_village", "enrollment_household", "enrollment_member"):
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_production_settings(name: str) -> None:
    """This process with production settings, before Django starts: DEBUG off (static files then
    come through the manifest, collected into a directory of the bench `name`'s own), the bench's
    secret key, loopback hosts, no HTTPS redirect. Values already in the environment win, but
    DEBUG is always off."""
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_ROOT", f"/tmp/ncms-bench-{name}-static")


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production process on loopback: DEBUG off, a secret key, the host,
    no HTTPS redirect (the benches speak plain HTTP to gunicorn, as a TLS proxy in front would)."""
    env = dict(os.environ, DEBUG="0", SECRET_KEY=os.environ.get("SECRET_KEY") or BENCH_SECRET_KEY,
               ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", LOG_LEVEL="WARNING")
    env.update(overrides)
    return env


def start_gunicorn(port: int, *, workers: int, env: dict[str, str], worker_class: str = "sync",
                   threads: int = 1, backlog: int = 512) -> subprocess.Popen:
    """gunicorn serving config.wsgi on 127.0.0.1:`port`; returns once it accepts connections."""
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", str(backlog),
               "--worker-class", worker_class]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited on start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    sys.exit("gunicorn did not listen within 60 s")


def start_celery_worker(*, env: dict[str, str], name: str, concurrency: int = 1) -> subprocess.Popen:
    """`celery -A config worker` on the broker of env["REDIS_URL"]; returns once it answers a ping.

    The caller's own process must use the same REDIS_URL (config.celery reads the settings)."""
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "celery", "-A", "config", "worker",
         "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-heartbeat",
         "--without-gossip", "--without-mingle", "-n", f"{name}-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # its banner; warnings and errors go to stderr
    from config.celery import app

    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("the Celery worker exited on start")
        if app.control.inspect(timeout=1, destination=[f"{name}-{os.getpid()}@{socket.gethostname()}"]).ping():
            return proc
    stop(proc)
    sys.exit("the Celery worker did not answer within 60 s")


def stop(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM (a graceful stop), then SIGKILL after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def _ticks(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0  # gone meanwhile
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (gunicorn master and workers), PostgreSQL (every
    postgres process) and this process (the load generator), and the machine's in all."""
    tick = os.sysconf("SC_CLK_TCK")
    server = [server_pid]
    try:
        with open(f"/proc/{server_pid}/task/{server_pid}/children") as children:
            server += [int(pid) for pid in children.read().split()]
    except OSError:
        pass
    postgres = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == "postgres":
                        postgres += _ticks(entry)
            except OSError:
                continue
    with open("/proc/stat") as stat:
        machine = sum(int(value) for value in stat.readline().split()[1:4]) / tick  # user nice system
    times = os.times()
    return {"server": sum(_ticks(pid) for pid in server) / tick, "postgres": postgres / tick,
            "load generator": times.user + times.system, "machine": machine}


def cpu_line(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """CPU milliseconds per request, by whom, between two cpu_snapshot()s."""
    parts = [f"{name} {(after[name] - before[name]) * 1000 / requests:.1f}" for name in before]
    return "CPU ms per request: " + ", ".join(parts)
