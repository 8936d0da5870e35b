"""Mixed load on loopback: `.venv/bin/python bench/mixed_load.py [--users 30] [--duration 60]`.

Township clerks, county reviewers and approvers, facilities settling through the API, villagers
reading notices and the county office reading the fund report, all at once, against gunicorn
(production settings: DEBUG off) + PostgreSQL + Redis + a Celery worker, for a bounded time.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_mixed; created
when missing and migrated) and Redis: REDIS_URL (default redis://127.0.0.1:6379/7; that Redis
database is **flushed** at start: cache, throttle counters, broker). Static files are collected
into /tmp/ncms-bench-mixed-static (DEBUG off serves them through the manifest). It

1. seeds, once (kept between runs): 3 townships of 4 villages, `--members` (4,500) enrolled
   members in households of three, facility F001 (county level) and F002 (a township health
   centre), the contract's example policy, the users (two township clerks per township, a
   reviewer, an approver, a fund officer, `--api-clients` facility clerks of F001 with API tokens);
2. every run empties the claims and notice tables, then: one paid claim of last month for every
   eighth member, posted through `publicity.services.notices_publish` (a notice per village),
   and a backlog of township-office claims through `claims.services` (submitted, and reviewed);
3. starts gunicorn (`--workers 3`, sync) and a Celery worker (prefork, concurrency 1);
4. warms up (one concurrent first visit per gunicorn worker: the public index, a login, the fund
   report, an API quote; their first-render times are printed), then runs the virtual users for
   `--duration` seconds (started over the first `--ramp` (10) seconds),
   each a thread with its own cookies and connection (stdlib http.client), behaving as a browser
   behind the county's TLS proxy (X-Forwarded-Proto: https, Origin/Referer, CSRF token and
   session cookie; Secure cookies are kept and sent as the browser would over HTTPS):
   - villagers (half the users): the public index, sometimes a township, a village page, a notice
     of that village found by its link, and now and then the own-claims lookup form
     (`--lookup-share` of their visits; it allows 10 lookups an hour per address and every
     virtual villager shares 127.0.0.1, so a 429 is counted as *throttled*, not as an error);
   - township clerks (about 30 %): log in through the login form, search members by name or
     ID number, open a household, open the claims workbench, then enter a claim as from the
     invoices: the entry form, the member finder, the live quote, the submit (302 to the claim);
   - a reviewer and an approver (county office): their workbench, a claim's page, review /
     approve it (a claim the reviewer reviewed is approved by the approver, never by its reviewer);
   - facility clerks (a tenth, at least one): `POST /api/v1/claims/` with token auth, each at a
     steady `--api-rate` per second (open loop); one request in twenty repeats an earlier
     settlement (a retry: 200 and the same claim);
   - the county office's fund officer: the fund report dashboard `/fund/report/` every 10-20 s,
     sometimes with a township's drill-down;
   - half-way, the worker gets the nightly claim-flags job and the monthly report job
     (`oversight.tasks.claim_flags_refresh`, `fund.tasks.fund_report_store_last_month`);
5. prints, per kind of request: count, throughput, p50/p95/max latency, errors and throttled;
   the totals, the load average before and after, and `errors: N (target: none)`; then checks
   in the database: exactly one claim per API invoice acknowledged, every claim a clerk entered
   stored as entered, every review and approval recorded. Exits 1 on any error or failed check.

Think times are scaled by `--think` (1: as above; 0: no pauses, a closed loop at saturation).
Nothing here runs on a production database.
"""
import argparse
import gzip
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_mixed")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MEDIA_ROOT", "/tmp/ncms-bench-mixed-media")

from bench._common import (  # noqa: E402
    database_line,
    django_ready,
    free_port,
    percentile,
    production_env,
    start_celery_worker,
    start_gunicorn,
    stop,
    uptime,
    use_production_settings,
)

use_production_settings("mixed")

from bench._mixed_seed import (  # noqa: E402
    API_PREFIX,
    DIAGNOSES,
    PASSWORD,
    TOWNSHIPS,
    World,
    read_world,
    reset_run,
    seed_once,
    today,
)

# --- measuring ----------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.kinds: dict[str, dict] = {}

    def record(self, kind: str, ms: float, *, error: str | None = None, throttled: bool = False,
               cached: bool = False) -> None:
        with self.lock:
            entry = self.kinds.setdefault(kind, {"ms": [], "errors": 0, "throttled": 0, "first_error": ""})
            entry["ms"].append(ms)
            entry["cached"] = entry.get("cached", 0) + cached
            if throttled:
                entry["throttled"] += 1
            if error:
                entry["errors"] += 1
                entry["first_error"] = entry["first_error"] or error

    def fail(self, kind: str, error: str) -> None:
        """An answered request whose outcome was wrong (e.g. a refusal shown on the next page)."""
        with self.lock:
            entry = self.kinds.setdefault(kind, {"ms": [], "errors": 0, "throttled": 0, "first_error": ""})
            entry["errors"] += 1
            entry["first_error"] = entry["first_error"] or error


@dataclass
class Response:
    status: int
    text: str
    location: str


class Browser:
    """One user's browser behind the county's TLS proxy: its own cookies and connection."""

    def __init__(self, world: World, stats: Stats):
        self.world, self.stats = world, stats
        self.cookies: dict[str, str] = {}
        self.connection = None
        self.token = ""
        self.page = "/"

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes, dict]:
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.world.port, timeout=60)
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.will_close:
                    self.connection.close()
                    self.connection = None
                return response.status, data, response.msg
            except (ConnectionError, http.client.HTTPException):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def request(self, kind: str, method: str, path: str, *, form: dict | None = None, json_body=None,
                headers: dict | None = None, expect=(200,), throttle_ok: bool = False) -> Response:
        sent = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "Accept-Language": "zh-CN,zh;q=0.9",
                "Accept-Encoding": "gzip", "Connection": "keep-alive"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = dict(form, csrfmiddlewaretoken=self.token)
            body = urllib.parse.urlencode(form).encode()
            sent.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://127.0.0.1",
                         "Referer": f"https://127.0.0.1{self.page}"})
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        started = time.perf_counter()
        try:
            status, data, message = self._send(method, path, body, sent)
        except Exception as exc:  # a refused or broken connection is an error of this request
            self.stats.record(kind, (time.perf_counter() - started) * 1000, error=repr(exc))
            return Response(0, "", "")
        ms = (time.perf_counter() - started) * 1000
        for header in message.get_all("Set-Cookie") or []:
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            if "max-age=0" in attributes.lower().replace(" ", ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if message.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        text = data.decode("utf-8", "replace")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if found:
            self.token = found.group(1)
        if method == "GET" and status == 200:
            self.page = path
        throttled = throttle_ok and status == 429
        error = None if status in expect or throttled else f"{method} {path} → {status} {text[:160]!r}"
        self.stats.record(kind, ms, error=error, throttled=throttled,
                          cached=message.get("X-Public-Cache", "") == "hit")
        return Response(status, text, message.get("Location", ""))

    def get(self, kind: str, path: str, **kwargs) -> Response:
        return self.request(kind, "GET", path, **kwargs)

    def post(self, kind: str, path: str, form: dict, **kwargs) -> Response:
        return self.request(kind, "POST", path, form=form, **kwargs)

    def login(self, username: str) -> bool:
        self.get("login", "/login/")
        answer = self.post("login", "/login/", {"username": username, "password": PASSWORD, "next": ""},
                           expect=(302,))
        return answer.status == 302


class Run:
    """The clock of the run and the virtual users' pauses."""

    def __init__(self, duration: float, think: float):
        self.start = time.perf_counter()
        self.end = self.start + duration
        self.think_scale = think
        self.stopped = threading.Event()

    def going(self) -> bool:
        return not self.stopped.is_set() and time.perf_counter() < self.end

    def think(self, rng: random.Random, low: float, high: float) -> None:
        pause = rng.uniform(low, high) * self.think_scale
        if pause > 0:
            self.stopped.wait(min(pause, max(0.0, self.end - time.perf_counter())))


# --- the virtual users --------------------------------------------------------------------------


def villager(world: World, stats: Stats, run: Run, rng: random.Random, lookup_share: float, **_):
    browser = Browser(world, stats)
    while run.going():
        browser.get("public: index", "/public/")
        run.think(rng, 1, 3)
        village, township = rng.choice(world.villages)
        if rng.random() < 0.3 and run.going():
            browser.get("public: township", f"/public/townships/{township}/")
            run.think(rng, 1, 2)
        if not run.going():
            break
        page = browser.get("public: village", f"/public/villages/{village}/")
        run.think(rng, 1, 3)
        notices = re.findall(r'href="/public/notices/(\d+)/"', page.text)
        if notices and run.going():
            browser.get("public: notice", f"/public/notices/{rng.choice(notices)}/")
            run.think(rng, 2, 5)
        if rng.random() < lookup_share and run.going():
            browser.get("public: lookup form", "/public/lookup/")
            run.think(rng, 2, 4)
            id_number, name = rng.choice(world.lookup_targets)
            browser.post("public: own-claims lookup", "/public/lookup/", {"id_number": id_number, "name": name},
                         throttle_ok=True)
            run.think(rng, 1, 3)


def claim_entry(world: World, rng: random.Random, member: int, id_number: str, window: int, invoice: str) -> dict:
    """The entry form as typed from a discharge's invoices: a stay inside the 90-day deadline."""
    discharge = today() - timedelta(days=80 - 7 * (window % 11))
    admission = discharge - timedelta(days=rng.randrange(1, 6))
    drugs = Decimal(rng.randrange(50000, 600000)) / 100
    beds = Decimal(rng.randrange(10000, 200000)) / 100
    materials = Decimal(rng.randrange(0, 50000)) / 100
    code, text = rng.choice(DIAGNOSES)
    return {
        "q": id_number, "member": str(member), "facility": str(rng.choice(world.facilities)),
        "admission_date": admission.isoformat(), "discharge_date": discharge.isoformat(),
        "invoice_no": invoice, "diagnosis_code": code, "diagnosis_text": text, "delivery": "",
        **({"referred": "on"} if rng.random() < 0.5 else {}),
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "40",
        "lines-0-category": "drugs", "lines-0-amount": str(drugs), "lines-0-in_catalog": "on",
        "lines-1-category": "beds", "lines-1-amount": str(beds), "lines-1-in_catalog": "on",
        "lines-2-category": "materials", "lines-2-amount": str(materials),
    }


def township_clerk(world: World, stats: Stats, run: Run, rng: random.Random, township: str, username: str,
                   entered: list, **_):
    browser = Browser(world, stats)
    if not browser.login(username):
        return
    htmx = {"HX-Request": "true"}
    while run.going():
        target_id, target_name, household = rng.choice(world.search_targets[township])
        query = target_id if rng.random() < 0.5 else target_name
        page = browser.get("clerk: member search", "/enrollment/households/?" + urllib.parse.urlencode({"q": query}))
        run.think(rng, 1, 3)
        found = re.findall(r'href="/enrollment/households/(\d+)/"', page.text)
        if found and run.going():
            pick = str(household) if str(household) in found else rng.choice(found)
            browser.get("clerk: household", f"/enrollment/households/{pick}/")
            run.think(rng, 1, 3)
        if not run.going():
            break
        browser.get("clerk: claims workbench", "/claims/")
        run.think(rng, 1, 2)
        if not run.going():
            break
        member, id_number, window = world.clerk_member(township)
        invoice = f"MC-{township[-3:]}-{username[-1]}-{rng.randrange(10**9):09d}"
        browser.get("clerk: claim form", "/claims/new/")
        run.think(rng, 1, 2)
        browser.get("clerk: member finder", "/claims/new/members/?" + urllib.parse.urlencode({"q": id_number}),
                    headers=htmx)
        data = claim_entry(world, rng, member, id_number, window, invoice)
        run.think(rng, 1, 3)
        browser.post("clerk: live quote", "/claims/new/quote/", data, headers=htmx)
        run.think(rng, 1, 2)
        answer = browser.post("clerk: claim submit", "/claims/new/", data, expect=(302,))
        claim = re.fullmatch(r"/claims/(\d+)/", answer.location or "")
        if answer.status == 302 and claim:
            entered.append((int(claim.group(1)), invoice, member))
            browser.get("clerk: claim page", answer.location)
        run.think(rng, 2, 4)


def county_decider(world: World, stats: Stats, run: Run, rng: random.Random, username: str, action: str,
                   decided: list, share: tuple[int, int], **_):
    """The reviewer (action "review") or approver ("approve") working down their workbench."""
    browser = Browser(world, stats)
    if not browser.login(username):
        return
    index, count = share
    while run.going():
        page = browser.get(f"county: {action} workbench", "/claims/")
        ids = [int(pk) for pk in dict.fromkeys(re.findall(r'href="/claims/(\d+)/"', page.text))]
        mine = [pk for pk in ids if pk % count == index]
        run.think(rng, 1, 2)
        if not mine or not run.going():
            run.think(rng, 2, 4)
            continue
        pk = rng.choice(mine[:5])
        browser.get(f"county: {action} claim page", f"/claims/{pk}/")
        run.think(rng, 1, 3)
        answer = browser.post(f"county: {action}", f"/claims/{pk}/{action}/", {"note": ""}, expect=(302,))
        if answer.status == 302:
            after = browser.get(f"county: {action} claim page", answer.location)
            if "msg-error" in after.text:
                message = re.search(r'class="msg-error">([^<]*)', after.text)
                stats.fail(f"county: {action}", f"refused: {message.group(1) if message else '?'}")
            else:
                decided.append(pk)
        run.think(rng, 1, 2)


def county_office(world: World, stats: Stats, run: Run, rng: random.Random, **_):
    browser = Browser(world, stats)
    if not browser.login("mixed-county"):
        return
    run.think(rng, 0, 5)
    while run.going():
        browser.get("county: fund report", "/fund/report/")
        if rng.random() < 0.3 and run.going():
            run.think(rng, 2, 4)
            code = rng.choice(TOWNSHIPS)[0]
            browser.get("county: fund report", f"/fund/report/?township={code}")
        run.think(rng, 10, 20)


def settlement_body(rng: random.Random, k: int, id_number: str, window: int) -> dict:
    """A discharge of this year: stays of one member 12 days apart (window), none after today."""
    start = date(today().year, 1, 10)
    windows = max(1, ((today() - start).days - 10) // 12)
    admission = start + timedelta(days=12 * (window % windows) + rng.randrange(0, 3))
    total = Decimal(rng.randrange(30000, 3000000)) / 100
    excluded = (total * Decimal(rng.randrange(0, 30)) / 100).quantize(Decimal("0.01"))
    drugs = ((total - excluded) / 2).quantize(Decimal("0.01"))
    return {
        "id_number": id_number, "invoice_no": f"{API_PREFIX}{k:07d}", "admission_date": admission.isoformat(),
        "discharge_date": (admission + timedelta(days=rng.randrange(1, 8))).isoformat(),
        "total_cost": str(total), "non_reimbursable_cost": str(excluded), "referred": rng.random() < 0.5,
        "diagnosis": rng.choice(DIAGNOSES)[0], "delivery": None,
        "cost_lines": [{"category": "drugs", "amount": str(drugs)},
                       {"category": "treatment", "amount": str(total - excluded - drugs)},
                       {"category": "other", "amount": str(excluded), "in_catalog": False}],
    }


def facility_api(world: World, stats: Stats, run: Run, rng: random.Random, token: str, rate: float,
                 acknowledged: dict, **_):
    """A facility's HIS settling discharges at a steady rate (open loop); 1 in 20 is a retry."""
    browser = Browser(world, stats)
    headers = {"Authorization": f"Token {token}"}
    sent: list[dict] = []
    interval = 1 / rate
    due = time.perf_counter() + rng.uniform(0, interval)
    while run.going():
        wait = due - time.perf_counter()
        if wait > 0:
            run.stopped.wait(min(wait, max(0.0, run.end - time.perf_counter())))
            if not run.going():
                break
        retry = bool(sent) and rng.random() < 0.05
        if retry:
            body = rng.choice(sent)
        else:
            k, id_number, window = world.api_member()
            body = settlement_body(rng, k, id_number, window)
        answer = browser.request("api: settle (POST /api/v1/claims/)", "POST", "/api/v1/claims/", json_body=body,
                                 headers=headers, expect=(200,) if retry else (201,))
        if answer.status in (200, 201):
            if not retry:
                sent.append(body)
            with world.lock:
                acknowledged.setdefault(body["invoice_no"], json.loads(answer.text).get("id"))
        due = max(due + interval, time.perf_counter())


def background_jobs(run: Run, results: dict):
    """Half-way through, the worker runs the nightly claim flags and the monthly report store."""
    from config.celery import app

    run.stopped.wait(max(0.0, (run.end - run.start) / 2))
    if run.stopped.is_set():
        return
    for name in ("oversight.tasks.claim_flags_refresh", "fund.tasks.fund_report_store_last_month"):
        started = time.perf_counter()
        try:
            value = app.send_task(name).get(timeout=300)
            results[name] = (time.perf_counter() - started, value, None)
        except Exception as exc:  # reported as an error below
            results[name] = (time.perf_counter() - started, None, repr(exc))


def warm_up(world: World, workers: int) -> None:
    """As many concurrent first visits as gunicorn has workers, so each worker most likely imports
    what the pages need (matplotlib for the report's charts, the valuation for quotes) before the
    measured load; prints how long those first renders took."""
    stats = Stats()
    body = {k: v for k, v in settlement_body(random.Random(0), 0, world.api_pool[0], 0).items() if k != "cost_lines"}

    def visit():
        browser = Browser(world, stats)
        browser.get("public index", "/public/")
        if browser.login("mixed-county"):
            browser.get("fund report", "/fund/report/")
        browser.request("API quote", "POST", "/api/v1/quote/", json_body=body,
                        headers={"Authorization": f"Token {world.tokens[0]}"})

    threads = [threading.Thread(target=visit) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("warm-up (first renders, one visit per gunicorn worker at once): " + ", ".join(
        f"{kind} {max(entry['ms']) / 1000:.1f} s" + (f" ({entry['errors']} errors)" if entry["errors"] else "")
        for kind, entry in stats.kinds.items()))


# --- checks -------------------------------------------------------------------------------------


def check_database(acknowledged: dict, entered: list, decided: dict) -> list[str]:
    from django.db.models import Count

    from claims.models import Channel, Claim, ClaimEvent

    problems = []
    api = Claim.objects.filter(invoice_no__startswith=API_PREFIX)
    doubles = list(api.values("invoice_no").annotate(n=Count("id")).filter(n__gt=1)[:5])
    if doubles:
        problems.append(f"API invoices with more than one claim: {doubles}")
    stored = dict(api.values_list("invoice_no", "pk"))
    if set(stored) != set(acknowledged):
        problems.append(f"API: {len(acknowledged)} invoices acknowledged, {len(stored)} stored")
    wrong = [invoice for invoice, pk in acknowledged.items() if stored.get(invoice) not in (pk, None)]
    if wrong:
        problems.append(f"API: the acknowledged claim id differs from the stored one: {wrong[:5]}")
    print(f"check: API settlements — {len(acknowledged)} invoices acknowledged, {len(stored)} claims stored, "
          f"one claim per invoice: {'yes' if not doubles and set(stored) == set(acknowledged) else 'NO'}")

    rows = {pk: (invoice, member, channel) for pk, invoice, member, channel in Claim.objects.filter(
        pk__in=[pk for pk, _, _ in entered]).values_list("pk", "invoice_no", "member_id", "channel")}
    missing = [(pk, invoice) for pk, invoice, member in entered
               if rows.get(pk) != (invoice, member, Channel.TOWNSHIP)]
    if missing:
        problems.append(f"clerk entries not stored as entered: {missing[:5]}")
    print(f"check: clerks' entries — {len(entered)} claims entered through the form, "
          f"{len(entered) - len(missing)} found as entered")
    for action, (username, pks) in decided.items():
        events = set(ClaimEvent.objects.filter(action=action, user__username=username, claim_id__in=pks)
                     .values_list("claim_id", flat=True))
        if events != set(pks) or len(set(pks)) != len(pks):
            problems.append(f"{action}: {len(pks)} answered, {len(events)} recorded")
        print(f"check: {action} — {len(pks)} claims, {len(events)} `{action}` events by {username}")
    return problems


# --- main ---------------------------------------------------------------------------------------


def user_mix(users: int, api_clients: int) -> dict[str, int]:
    mix = {"facility (API)": api_clients, "reviewer": 1, "approver": 1, "county office": 1}
    rest = max(2, users - sum(mix.values()))
    mix["township clerk"] = max(1, round(rest * 0.36))
    mix["villager"] = rest - mix["township clerk"]
    return mix


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30, help="virtual users in all")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the users start")
    parser.add_argument("--think", type=float, default=1.0, help="scale of the think times (0: none)")
    parser.add_argument("--api-rate", type=float, default=1.0, help="settlements per second per facility client")
    parser.add_argument("--lookup-share", type=float, default=0.05,
                        help="share of villagers' visits that end with the own-claims lookup")
    parser.add_argument("--members", type=int, default=4500)
    parser.add_argument("--backlog", type=int, default=90, help="township-office claims waiting at start")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread only)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    api_clients = max(1, round(args.users * 0.1))
    mix = user_mix(args.users, api_clients)

    django_ready(redis=True, static=True)
    from django.db import connections

    print(f"{database_line()}; Redis {os.environ['REDIS_URL']}; {os.cpu_count()} CPUs")
    seed_once(args.members, api_clients)
    started = time.perf_counter()
    seeded = reset_run(args.backlog)
    print(f"run data: {seeded['paid']} paid claims of last month posted in {seeded['notices']} notices; "
          f"backlog of {seeded['backlog']} township-office claims ({seeded['reviewed']} reviewed) "
          f"({time.perf_counter() - started:.1f} s)")
    port = free_port()
    world = read_world(port, api_clients)
    connections.close_all()

    env = production_env()
    server = start_gunicorn(port, workers=args.workers, env=env, worker_class=args.worker_class,
                            threads=args.threads)
    worker = None
    stats = Stats()
    entered: list = []
    acknowledged: dict = {}
    decided = {"review": ("mixed-reviewer", []), "approve": ("mixed-approver", [])}
    jobs: dict = {}
    try:
        worker = start_celery_worker(env=env, name="bench-mixed")
        warm_up(world, args.workers)
        rng = random.Random(args.seed)
        plans = []
        clerk_names = [(code, world.clerks[code][n]) for n in range(2) for code, _ in TOWNSHIPS]
        for n in range(mix["township clerk"]):
            code, name = clerk_names[n % len(clerk_names)]
            plans.append((township_clerk, {"township": code, "username": name, "entered": entered}))
        plans.append((county_decider, {"username": "mixed-reviewer", "action": "review",
                                       "decided": decided["review"][1], "share": (0, 1)}))
        plans.append((county_decider, {"username": "mixed-approver", "action": "approve",
                                       "decided": decided["approve"][1], "share": (0, 1)}))
        plans.append((county_office, {}))
        for token in world.tokens:
            plans.append((facility_api, {"token": token, "rate": args.api_rate, "acknowledged": acknowledged}))
        plans += [(villager, {"lookup_share": args.lookup_share})] * mix["villager"]
        rng.shuffle(plans)

        load_before = uptime()
        run = Run(args.duration, args.think)

        def user(index, function, kwargs):
            run.stopped.wait(args.ramp * index / len(plans))
            function(world, stats, run, random.Random(args.seed * 1000 + index), **kwargs)

        threads = [threading.Thread(target=user, args=(n, function, kwargs), daemon=True)
                   for n, (function, kwargs) in enumerate(plans)]
        threads.append(threading.Thread(target=background_jobs, args=(run, jobs), daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, run.end - time.perf_counter()) + 120)
        run.stopped.set()
        wall = time.perf_counter() - run.start
        load_after = uptime()
    finally:
        stop(server)
        stop(worker)

    print(f"\ngunicorn --workers {args.workers} ({args.worker_class}"
          + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
          + f"), Celery worker (prefork, 1 process); {len(plans)} virtual users: "
          + ", ".join(f"{count} {kind}" for kind, count in mix.items())
          + f"; think × {args.think:g}, API {args.api_rate:g}/s per facility client; {wall:.1f} s")
    header = f"{'kind of request':<40} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>6} {'429':>4}"
    print(header)
    print("-" * len(header))
    everything, errors, throttled = [], 0, 0
    for kind in sorted(stats.kinds):
        entry = stats.kinds[kind]
        ms = sorted(entry["ms"])
        everything += ms
        errors += entry["errors"]
        throttled += entry["throttled"]
        print(f"{kind:<40} {len(ms):>6} {len(ms) / wall:>7.2f} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
              f"{ms[-1]:>8.1f} {entry['errors']:>6} {entry['throttled']:>4}")
    everything.sort()
    print("-" * len(header))
    print(f"{'all requests':<40} {len(everything):>6} {len(everything) / wall:>7.2f} "
          f"{percentile(everything, 50):>8.1f} {percentile(everything, 95):>8.1f} {everything[-1]:>8.1f} "
          f"{errors:>6} {throttled:>4}")
    hits = [f"{kind.removeprefix('public: ')} {entry.get('cached', 0)}/{len(entry['ms'])}"
            for kind, entry in sorted(stats.kinds.items()) if kind.startswith("public: ") and entry.get("cached")]
    if hits:
        print("public pages answered from the cache: " + ", ".join(hits))
    for kind, entry in sorted(stats.kinds.items()):
        if entry["first_error"]:
            print(f"  first error of {kind}: {entry['first_error']}")
    if throttled:
        print(f"throttled (429, expected: the own-claims lookup allows 10 an hour per address): {throttled}")
    for name, (seconds, value, problem) in jobs.items():
        print(f"worker: {name} {'failed: ' + problem if problem else f'done in {seconds:.1f} s → {value}'}")
        errors += 1 if problem else 0
    print(f"uptime before: {load_before}")
    print(f"uptime after:  {load_after}")

    connections.close_all()
    problems = check_database(acknowledged, entered, decided)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(f"errors: {errors} (target: none)")
    if errors or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
