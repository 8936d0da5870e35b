"""Settlement API benchmark: `.venv/bin/python bench/settle_api.py [--requests 2000] [--clients 20]`.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_api; the database
is created when missing and migrated). It

1. seeds, once (kept between runs): a township and village, `--requests` enrolled members, a
   county-level facility F001, the contract's example policy, a facility clerk and its API token;
   every run first empties the claims tables, so each run settles the same discharges afresh;
2. counts the SQL queries of one settlement and times 200 settlements one after the other
   (in-process, Django's test client, DEBUG off: the CPU and round trips of one settlement with
   no concurrency), then empties the claims again;
3. starts gunicorn (`--workers 3`, sync workers, production settings: DEBUG off) on a free port;
4. warms it up (untimed quotes), then fires `--requests` settlements (`POST /api/v1/claims/`) from
   `--clients` concurrent clients (threads, stdlib http.client); one request in ten is a retry of
   an earlier settlement (idempotent: 200 and the same claim);
5. prints throughput and p50/p95/p99 latency in ms (target p95 ≤ 50 ms), and checks that every
   request succeeded and that there is exactly one claim per invoice.

By default the clients are a closed loop: each sends its next request as soon as the last one is
answered, so the run measures the server at saturation (latency ≈ clients ÷ throughput).
`--rate R` makes it an open loop instead: the clients together start R requests per second on a
fixed schedule, and latency is counted from each request's scheduled start (a request that has
to wait for a busy client counts its wait), i.e. the latency a facility sees at that load.

Nothing here runs on a production database.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_api")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._common import (  # noqa: E402
    BENCH_SECRET_KEY,
    cpu_line,
    cpu_snapshot,
    database_line,
    django_ready,
    free_port,
    percentile,
    production_env,
    start_gunicorn,
    stop,
)

YEAR = 2026
USERNAME = "bench-facility"


def seed(members: int) -> str:
    """Places, enrolled members, the facility, the policy, the clerk; returns the clerk's token."""
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, User
    from enrollment.models import Enrollment, Household, Member
    from enrollment.rules import FEMALE, MALE, make_resident_id
    from facilities.models import Facility
    from places.models import Township, Village
    from policy.services import policy_load

    with transaction.atomic():
        policy_load(data=json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8")))
        township, _ = Township.objects.get_or_create(code="420102101", defaults={"name": "城关镇"})
        village, _ = Village.objects.get_or_create(code="420102101201", defaults={"name": "东湖村",
                                                                                 "township": township})
        facility, _ = Facility.objects.get_or_create(code="F001", defaults={
            "name": "县人民医院", "level": "county", "township": township,
            "agreement_start": date(2025, 1, 1), "agreement_end": date(2027, 12, 31)})
        have = Member.objects.count()
        if have < members:
            households = Household.objects.bulk_create([
                Household(number=f"A{n:08d}", card_number=f"AK{n:08d}", village=village)
                for n in range(have, members)])
            people = []
            for offset, n in enumerate(range(have, members)):
                sex = MALE if n % 2 else FEMALE
                born = date(1940, 1, 1) + timedelta(days=n // 50)
                people.append(Member(household=households[offset], name=f"病人{n}",
                                     id_number=make_resident_id("420102", born, n % 50, sex), sex=sex,
                                     birth_date=born, relation="head", category="ordinary"))
            people = Member.objects.bulk_create(people, batch_size=5000)
            Enrollment.objects.bulk_create([
                Enrollment(member=person, year=YEAR, contribution=Decimal("380.00"),
                           receipt_no=f"AR{person.pk:08d}", paid_date=date(YEAR, 1, 10)) for person in people],
                batch_size=5000)
            print(f"seeded {members - have} enrolled members")
        user, created = User.objects.get_or_create(username=USERNAME, defaults={
            "role": Role.FACILITY_CLERK, "facility": facility, "full_name": "结算员"})
        token, _ = Token.objects.get_or_create(user=user)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return token.key


def empty_claims() -> None:
    from django.db import connection

    from claims.models import Claim, ClaimEvent, CostLine, MemberYearCap

    tables = [CostLine._meta.db_table, ClaimEvent._meta.db_table, MemberYearCap._meta.db_table,
              Claim.history.model._meta.db_table, Claim._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def settlement(n: int, id_number: str, rng: random.Random) -> dict:
    total = Decimal(rng.randrange(30000, 3000000)) / 100
    excluded = (total * Decimal(rng.randrange(0, 30)) / 100).quantize(Decimal("0.01"))
    drugs = (total - excluded) / 2
    drugs = drugs.quantize(Decimal("0.01"))
    admission = date(YEAR, 1, 15) + timedelta(days=rng.randrange(0, 300))
    return {
        "id_number": id_number, "invoice_no": f"F001-{YEAR}-{n:07d}",
        "admission_date": admission.isoformat(),
        "discharge_date": (admission + timedelta(days=rng.randrange(1, 14))).isoformat(),
        "total_cost": str(total), "non_reimbursable_cost": str(excluded), "referred": rng.random() < 0.5,
        "diagnosis": rng.choice(["J18.9", "I10", "K80.2", "E11.9", "S72.0", "I63.9"]), "delivery": None,
        "cost_lines": [
            {"category": "drugs", "amount": str(drugs)},
            {"category": "treatment", "amount": str(total - excluded - drugs)},
            {"category": "other", "amount": str(excluded), "in_catalog": False},
        ],
    }


def count_queries(token: str, body: dict) -> int:
    """SQL queries of one settlement, in-process (then the claim is removed again)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/claims/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    empty_claims()
    return len(queries.captured_queries)


def time_in_process(token: str, bodies: list[dict]) -> list[float]:
    """Milliseconds of each settlement, one after the other, in-process (then emptied again)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    times = []
    for body in bodies:
        payload = json.dumps(body)
        started = time.perf_counter()
        response = client.post("/api/v1/claims/", payload, content_type="application/json")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.content
    empty_claims()
    return sorted(times)


class Client:
    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
                        "Host": "127.0.0.1"}
        self.connection = None

    def post(self, path: str, body: dict) -> tuple[int, dict, float]:
        payload = json.dumps(body).encode()
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connection.request("POST", path, payload, self.headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                break
            except (ConnectionError, http.client.HTTPException):
                self.connection = None
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        return response.status, json.loads(data), elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker: above 1, gthread workers (which keep connections alive)")
    parser.add_argument("--rate", type=float, default=0,
                        help="open loop: requests per second from all clients together (0: closed loop)")
    args = parser.parse_args()

    django_ready()
    from django.db import connections

    from claims.models import Claim

    print(f"{database_line()}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(wall-clock figures: a busy machine slows every request alike)")
    token = seed(args.requests)
    empty_claims()

    from enrollment.models import Member

    ids = list(Member.objects.order_by("pk").values_list("id_number", flat=True)[:args.requests])
    rng = random.Random(2026)
    fresh = [settlement(n, ids[n], rng) for n in range(args.requests)]
    print(f"queries per settlement (in-process): {count_queries(token, fresh[0])}")
    times = time_in_process(token, fresh[:min(200, len(fresh))])
    print(f"in-process, one at a time: {len(times)} settlements, mean {sum(times) / len(times):.1f} ms, "
          f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms "
          f"(load average {os.getloadavg()[0]:.1f})")
    # one request in ten repeats an earlier settlement (a retry): 200, the same claim
    plan, sent = [], []
    for n in range(args.requests):
        if n % 10 == 9 and sent:
            plan.append(sent[rng.randrange(len(sent))])
        else:
            plan.append(fresh[n])
            sent.append(fresh[n])
    connections.close_all()

    port = free_port()
    # the bench's own key, whatever SECRET_KEY says; throttles high enough not to be what is measured
    env = production_env(SECRET_KEY=BENCH_SECRET_KEY, API_SETTLE_RATE="1000000/minute",
                         API_USER_RATE="1000000/minute")
    worker_class = "gthread" if args.threads > 1 else "sync"
    server = start_gunicorn(port, workers=args.workers, env=env, backlog=256, worker_class=worker_class,
                            threads=args.threads)
    try:
        warm = Client(port, token)
        for n in range(30):
            status, data, _ = warm.post("/api/v1/quote/", {k: v for k, v in fresh[n].items() if k != "cost_lines"})
            assert status == 200, data

        queue = list(enumerate(plan))
        lock = threading.Lock()
        latencies, statuses, errors = [], {}, []

        def run():
            client = Client(port, token)
            while True:
                with lock:
                    if not queue:
                        return
                    index, body = queue.pop(0)
                due = started + index / args.rate if args.rate else None
                if due is not None and due > time.perf_counter():
                    time.sleep(due - time.perf_counter())
                try:
                    status, data, elapsed = client.post("/api/v1/claims/", body)
                    if due is not None:
                        elapsed = time.perf_counter() - due  # includes any wait behind schedule
                except Exception as exc:  # counted and shown below
                    errors.append(repr(exc))
                    continue
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status not in (200, 201):
                        errors.append(f"{status} {data}")

        threads = [threading.Thread(target=run) for _ in range(args.clients)]
        load_before = os.getloadavg()[0]
        cpu_before = cpu_snapshot(server.pid)
        started = time.perf_counter() + 0.05
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        cpu_after = cpu_snapshot(server.pid)
    finally:
        stop(server)

    latencies.sort()
    ms = [value * 1000 for value in latencies]
    mode = f"open loop at {args.rate:g} requests/s" if args.rate else "closed loop (saturation)"
    threads = f" --threads {args.threads}" if args.threads > 1 else ""
    print(f"gunicorn --workers {args.workers}{threads} ({worker_class}), {args.clients} concurrent clients, {mode}, "
          f"{len(plan)} settlements ({len(sent)} distinct invoices, {len(plan) - len(sent)} retries)")
    print(f"statuses: {dict(sorted(statuses.items()))}; errors: {len(errors)}"
          + (f" (first: {errors[0]})" if errors else ""))
    print(f"wall {wall:.2f} s, throughput {len(latencies) / wall:.0f} requests/s; load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(cpu_line(cpu_before, cpu_after, len(plan))
          + f" (the 2 cores give {2000 * wall / len(plan):.1f} ms per request at this throughput)")
    print(f"latency ms: p50 {percentile(ms, 50):.1f}  p95 {percentile(ms, 95):.1f}  "
          f"p99 {percentile(ms, 99):.1f}  max {ms[-1]:.1f}  (target p95 ≤ 50)")
    claims = Claim.objects.count()
    distinct = Claim.objects.values("invoice_no").distinct().count()
    print(f"claims in the database: {claims} (one per invoice: {'yes' if claims == distinct == len(sent) else 'NO'})")
    if errors or claims != len(sent):
        sys.exit(1)


if __name__ == "__main__":
    main()
