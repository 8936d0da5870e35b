"""Public notice page under load: `.venv/bin/python bench/public_load.py [--clients 50] [--duration 20]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_public; created
when missing and migrated) and Redis: REDIS_URL (default redis://127.0.0.1:6379/5; that Redis
database is flushed at start). It

1. seeds, once (kept between runs): a township, a village, a county-level facility, the contract's
   example policy and `--lines` (300) members; every run then empties the claims and notice
   tables, inserts one paid claim per member, all paid in the previous month (bulk insert: the
   claims' valuation is not what is measured), and posts that month's notices through the real
   service `publicity.services.notices_publish`: one posted notice of exactly `--lines` lines,
   still in its objection period (so every line carries its 「提出异议」 link);
2. times, in-process (Django test client, DEBUG off, Redis cache): the notice page's first
   (uncached) render and a cached hit;
3. starts gunicorn (`--workers 2`, sync workers, DEBUG=0) on a free port;
4. times the public index, township and village pages and the notice PDF once each, first render
   (a cache miss) and again (cached);
5. warms up, then `--clients` concurrent clients (threads, stdlib http.client, each reusing its
   connection whenever the server keeps it open) request the notice page in a closed loop for
   `--duration` seconds, and prints throughput, p50/p95/p99/max latency, errors, the load
   average (`uptime`) and whether p95 ≤ 100 ms (the target).

Nothing here runs on a production database.
"""
import argparse
import http.client
import os
import sys
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_public")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._common import (  # noqa: E402
    database_line,
    django_ready,
    free_port,
    percentile,
    production_env,
    start_gunicorn,
    stop,
    uptime,
    use_production_settings,
)

use_production_settings("public")

TARGET_P95_MS = 100
TOWNSHIP, VILLAGE = "420102101", "420102101201"


def seed(lines: int):
    """Places, members, policy, facility once; then fresh paid claims and one posted notice."""
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from claims.models import Channel, Claim, ClaimStatus
    from enrollment.models import Household, Member
    from enrollment.rules import FEMALE, MALE, make_resident_id
    from facilities.models import Facility
    from fund.tasks import last_month
    from places.models import Township, Village
    from policy.models import PolicyVersion
    from policy.services import policy_load
    from publicity.models import Notice, NoticeLine
    from publicity.services import notices_publish

    today = timezone.localdate()
    year, month = last_month(today)
    with transaction.atomic():
        if not PolicyVersion.objects.filter(year=year).exists():
            document = json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8"))
            document["year"] = year
            policy_load(data=document)
        policy = PolicyVersion.objects.get(year=year)
        township, _ = Township.objects.get_or_create(code=TOWNSHIP, defaults={"name": "城关镇"})
        village, _ = Village.objects.get_or_create(code=VILLAGE, defaults={"name": "东湖村", "township": township})
        facility, _ = Facility.objects.get_or_create(code="F001", defaults={
            "name": "县人民医院", "level": "county", "township": township,
            "agreement_start": date(year - 1, 1, 1), "agreement_end": date(year + 1, 12, 31)})
        have = Member.objects.count()
        if have < lines:
            households = Household.objects.bulk_create([
                Household(number=f"P{n:08d}", card_number=f"PK{n:08d}", village=village)
                for n in range(have, lines)])
            people = []
            surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
            for offset, n in enumerate(range(have, lines)):
                sex = MALE if n % 2 else FEMALE
                born = date(1940, 1, 1) + timedelta(days=37 * n)
                people.append(Member(household=households[offset], name=f"{surnames[n % 20]}建{'国华明丽'[n % 4]}",
                                     id_number=make_resident_id("420102", born, n % 50, sex), sex=sex,
                                     birth_date=born, relation="head", category="ordinary"))
            Member.objects.bulk_create(people)
            print(f"seeded {lines - have} members")

    tables = [NoticeLine._meta.db_table, Notice._meta.db_table, Claim.history.model._meta.db_table,
              Claim._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    members = list(Member.objects.order_by("pk")[:lines])
    tz = timezone.get_current_timezone()
    claims = []
    for n, member in enumerate(members):
        admission = date(year, month, 1) - timedelta(days=20 - n % 15)
        total = Decimal(3000 + 37 * n).quantize(Decimal("0.01")) + Decimal("0.45")
        excluded = (total * Decimal("0.1")).quantize(Decimal("0.01"))
        reimbursable = total - excluded
        compensation = (reimbursable * Decimal("0.6")).quantize(Decimal("0.01"))
        claims.append(Claim(
            member=member, township_id=member.household.village.township_id,
            facility=facility, year=admission.year, channel=Channel.FACILITY,
            invoice_no=f"P-{year}{month:02d}-{n:05d}", admission_date=admission,
            discharge_date=admission + timedelta(days=3 + n % 9), diagnosis_code="J18.9",
            total_cost=total, non_reimbursable_cost=excluded, reimbursable_cost=reimbursable,
            compensation=compensation, patient_pays=total - compensation, rule="bench", breakdown={},
            policy=policy, policy_revision=policy.revision, status=ClaimStatus.PAID,
            paid_at=datetime(year, month, 1 + n % 28, 10, 0, tzinfo=tz)))
    Claim.objects.bulk_create(claims)
    notices = notices_publish(year=year, month=month)
    assert len(notices) == 1, notices
    notice = notices[0]
    assert notice.lines.count() == lines, notice.lines.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return notice


def in_process(notice) -> tuple[float, float, int]:
    """(first render ms, cached hit ms, body bytes) of the notice page, in-process."""
    from django.test import Client

    from publicity.cache import public_cache_clear

    public_cache_clear()
    client = Client(HTTP_HOST="127.0.0.1")
    path = f"/public/notices/{notice.pk}/"
    started = time.perf_counter()
    response = client.get(path)
    first = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    started = time.perf_counter()
    again = client.get(path)
    hit = (time.perf_counter() - started) * 1000
    assert again.status_code == 200 and again["X-Public-Cache"] == "hit"
    public_cache_clear()
    return first, hit, len(response.content)


class Client:
    """One client: keeps its connection while the server keeps it open (sync workers close it)."""

    def __init__(self, port: int, gzip: bool = True):
        self.port = port
        self.connection = None
        # what a phone browser sends
        self.headers = {"Host": "127.0.0.1", "Accept-Language": "zh-CN,zh;q=0.9", "Connection": "keep-alive"}
        if gzip:
            self.headers["Accept-Encoding"] = "gzip, deflate"

    def get(self, path: str) -> tuple[int, int, float, str]:
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connection.request("GET", path, headers=self.headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.will_close:
                    self.connection.close()
                    self.connection = None
                break
            except (ConnectionError, http.client.HTTPException):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        return response.status, len(data), time.perf_counter() - started, response.getheader("X-Public-Cache", "")


def once(port: int, path: str, gzip: bool) -> str:
    client = Client(port, gzip)
    status, size, first, cache1 = client.get(path)
    status2, size2, again, cache2 = client.get(path)
    return (f"{path:<34} {status}/{status2}  first {first * 1000:7.1f} ms {size:>8,} B ({cache1 or 'miss'})"
            f"  again {again * 1000:6.1f} ms {size2:>8,} B ({cache2 or 'miss'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread only)")
    parser.add_argument("--no-gzip", dest="gzip", action="store_false",
                        help="clients do not send Accept-Encoding: gzip")
    args = parser.parse_args()

    django_ready(redis=True, static=True)
    from django.conf import settings
    from django.db import connections

    print(f"{database_line()}; cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} "
          f"{os.environ['REDIS_URL']}; {os.cpu_count()} CPUs")
    print(f"uptime: {uptime()}")
    notice = seed(args.lines)
    print(f"posted notice #{notice.pk}: {notice} — {notice.lines.count()} lines, objection period until "
          f"{notice.objection_until}")
    first, hit, size = in_process(notice)
    print(f"in-process notice page: first render {first:.1f} ms, cached {hit:.1f} ms, {size:,} bytes")
    connections.close_all()

    port = free_port()
    server = start_gunicorn(port, workers=args.workers, env=production_env(), worker_class=args.worker_class,
                            threads=args.threads)
    path = f"/public/notices/{notice.pk}/"
    try:
        boot = Client(port, args.gzip)  # every worker imports what a page needs (an uncached form page)
        for _ in range(20):
            for page in ("/public/status/", "/public/fund/"):
                status, *_ = boot.get(page)
                assert status == 200, (page, status)
        print("single requests over HTTP (first = cache miss, again = cached; bytes as received "
              f"{'with' if args.gzip else 'without'} Accept-Encoding: gzip):")
        for page in ["/public/", f"/public/townships/{TOWNSHIP}/", f"/public/villages/{VILLAGE}/", path,
                     f"{path}pdf/"]:
            print("  " + once(port, page, args.gzip))
        warm = Client(port, args.gzip)
        for _ in range(50):
            status, *_ = warm.get(path)
            assert status == 200

        lock = threading.Lock()
        latencies, statuses, errors, misses = [], {}, [], [0]
        stop_at = [0.0]

        def run():
            client = Client(port, args.gzip)
            mine = []
            while time.perf_counter() < stop_at[0]:
                try:
                    status, _size, elapsed, cached = client.get(path)
                except Exception as exc:  # counted and shown below
                    with lock:
                        errors.append(repr(exc))
                    continue
                mine.append(elapsed)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        errors.append(f"status {status}")
                    if cached != "hit":
                        misses[0] += 1
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=run) for _ in range(args.clients)]
        load_before = uptime()
        started = time.perf_counter()
        stop_at[0] = started + args.duration
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        load_after = uptime()
    finally:
        stop(server)

    latencies.sort()
    ms = [value * 1000 for value in latencies]
    workers = f"{args.workers} {args.worker_class} workers" + (
        f" × {args.threads} threads" if args.worker_class == "gthread" else "")
    print(f"load: GET {path} ({args.lines} lines, {size:,} bytes of HTML; Accept-Encoding: gzip "
          f"{'sent' if args.gzip else 'not sent'}), gunicorn {workers}, {args.clients} concurrent "
          f"clients, closed loop, {args.duration:g} s")
    print(f"requests {len(ms)}; statuses {dict(sorted(statuses.items()))}; errors {len(errors)}"
          + (f" (first: {errors[0]})" if errors else "") + f"; cache misses {misses[0]}")
    if not ms:
        sys.exit("no request answered")
    print(f"wall {wall:.2f} s, throughput {len(ms) / wall:.0f} requests/s")
    p95 = percentile(ms, 95)
    print(f"latency ms: p50 {percentile(ms, 50):.1f}  p95 {p95:.1f}  p99 {percentile(ms, 99):.1f}  "
          f"max {ms[-1]:.1f}")
    print(f"target p95 ≤ {TARGET_P95_MS} ms: {'MET' if p95 <= TARGET_P95_MS else 'NOT MET'}")
    print(f"uptime before: {load_before}")
    print(f"uptime after:  {load_after}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
