"""Shared fixtures: places, users of every role, a real Celery worker, a Chromium browser."""
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
from django.conf import settings
from django.utils import timezone, translation

from accounts.models import Role
from tests.factories import FacilityFactory, TownshipFactory, UserFactory, VillageFactory

PASSWORD = "pass-1234-word"


def _sleep_for(seconds):
    """time.sleep through a relative timeout. Under libfaketime 0.9.10 (Debian 12) with
    FAKETIME_DONT_FAKE_MONOTONIC=1, Python 3.11's time.sleep fails with EINVAL: it sleeps until an
    absolute CLOCK_MONOTONIC deadline, which libfaketime shifts by the faked offset into the past
    (wolfcw/libfaketime#426). select() takes a relative timeout, which libfaketime leaves alone."""
    select.select([], [], [], seconds)


UNDER_FAKETIME = "libfaketime" in os.environ.get("LD_PRELOAD", "")
RESTART_WITH_REAL_MONOTONIC = False
if UNDER_FAKETIME:
    if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") != "1":
        # Python 3.11 waits on locks (Barrier.wait, Thread.join, Event.wait) until an absolute
        # CLOCK_MONOTONIC deadline that libfaketime does not translate: with a faked monotonic clock
        # the deadline lies decades ahead and the first timed wait never returns. libfaketime reads
        # the switch when it loads, so the run starts again with it set (the same faked moment:
        # `faketime -f "@…"` passes it in FAKETIME, which the new process keeps).
        RESTART_WITH_REAL_MONOTONIC = True
    time.sleep = _sleep_for


POSTGRES_ONLY_DESELECTED = pytest.StashKey[int]()


def pytest_configure(config):
    if RESTART_WITH_REAL_MONOTONIC:
        # give the terminal back from pytest's output capture, then run again with the switch set
        config.pluginmanager.getplugin("capturemanager").stop_global_capturing()
        os.execve(sys.executable, sys.orig_argv, {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"})


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres race real connections against PostgreSQL's row locks; SQLite's
    in-memory test database refuses a locked table instead of waiting, so on SQLite they are
    deselected (said once in the summary) rather than run without the race."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgres")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]
    config.stash[POSTGRES_ONLY_DESELECTED] = len(deselected)


def pytest_terminal_summary(terminalreporter, config):
    count = config.stash.get(POSTGRES_ONLY_DESELECTED, 0)
    if count:
        terminalreporter.write_line(f"{count} concurrency tests deselected: they need PostgreSQL's row locks "
                                    f"(run with DATABASE_URL)")


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's default language: a request in English leaves English active
    in the thread, and a command called afterwards would speak it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 (the production hasher, see tests/test_settings.py) costs about a second per user on
    a loaded 2-core machine; tests that are not about hashing use a fast one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch):
    """clock("2026-06-15 10:00") sets Django's clock (django.utils.timezone.now, and with it
    localdate, localtime and auto_now fields) to that moment of the county's time zone
    (settings.TIME_ZONE); it keeps running from there, so timeouts and expiry still work.
    For tests whose data belong to one scheme year and that must pass on any real date."""
    real_now = timezone.now

    def set_to(local: str) -> datetime:
        start = timezone.make_aware(datetime.fromisoformat(local), timezone.get_default_timezone())
        offset = start - real_now()
        monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)
        return start

    return set_to


@pytest.fixture
def township(db):
    return TownshipFactory(code="420102100", name="城关镇")


@pytest.fixture
def other_township(db):
    return TownshipFactory(code="420102200", name="河口乡")


@pytest.fixture
def village(township):
    return VillageFactory(township=township, code="420102100201", name="东湖村")


@pytest.fixture
def other_village(other_township):
    return VillageFactory(township=other_township, code="420102200201", name="西山村")


@pytest.fixture
def facility(township):
    return FacilityFactory(code="F001", name="城关镇卫生院", township=township)


@pytest.fixture
def make_user(db):
    """make_user(role, township=None, facility=None, username=None) -> a user with PASSWORD."""

    def make(role, *, township=None, facility=None, username=None, **extra):
        return UserFactory(
            username=username or f"{role}-{township.code if township else ''}{facility.code if facility else ''}",
            role=role, township=township, facility=facility, **extra,
        )

    return make


@pytest.fixture
def clerk(make_user, township):
    return make_user(Role.TOWNSHIP_CLERK, township=township, username="clerk")


@pytest.fixture
def other_clerk(make_user, other_township):
    return make_user(Role.TOWNSHIP_CLERK, township=other_township, username="clerk2")


@pytest.fixture
def users_by_role(make_user, township, facility):
    """One user of every role (township clerk of `township`, facility clerk of `facility`)."""
    users = {}
    for role in Role:
        users[role] = make_user(
            role,
            township=township if role == Role.TOWNSHIP_CLERK else None,
            facility=facility if role == Role.FACILITY_CLERK else None,
            username=f"u-{role}",
            is_staff=(role == Role.ADMINISTRATOR),
        )
    return users


# --- Celery -------------------------------------------------------------------------------
# With REDIS_URL set, tests marked celery_worker send their tasks through the real Redis broker to
# a real `celery worker` process that uses the test database. Such tests must use
# `transactional_db` so the worker sees committed rows. Without REDIS_URL, tasks run eagerly.


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    if not settings.REDIS_URL:
        yield None
        return
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        pytest.fail("a real Celery worker needs DATABASE_URL (PostgreSQL) when REDIS_URL is set")
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["MEDIA_ROOT"] = str(settings.BASE_DIR / "var" / "test-media")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"test-{os.getpid()}@%h"],
        env=env, cwd=settings.BASE_DIR,
    )
    from config.celery import app

    deadline = time.time() + 60
    while time.time() < deadline:
        if app.control.inspect(timeout=1).ping():
            break
        if proc.poll() is not None:
            pytest.fail("the Celery worker exited on start")
    else:
        proc.kill()
        pytest.fail("the Celery worker did not answer within 60 s")
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def celery_worker(celery_worker_process, transactional_db, settings):
    """Use in tests that enqueue tasks: a real worker on PostgreSQL+Redis, eager otherwise.

    The worker process reads MEDIA_ROOT from its environment, so uploads go to the shared root.
    """
    if celery_worker_process is not None:
        settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "test-media"
    return celery_worker_process


# --- Browser ------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    # Under libfaketime only the server's clock is faked: Chromium with a faked clock never fires a
    # page's load event, and the browser stands for the user's own machine anyway.
    real_clock = {name: value for name, value in os.environ.items()
                  if name != "LD_PRELOAD" and not name.startswith("FAKETIME")} if UNDER_FAKETIME else None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, env=real_clock,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the user says yes to each confirmation
    page.set_default_timeout(15000)
    yield page
    context.close()


def login_in_browser(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
