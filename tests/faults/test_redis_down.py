"""Redis down: pages and the API keep serving; work that needs a task says that
it failed to start and can be retried, and nothing is lost.

The cache and the broker are pointed at a port where nothing listens (`cache_down`,
`broker_down`); the database is real, and in the PostgreSQL + Redis mode the retry runs in the
real worker once the broker is back. The same tests run in the embedded mode (SQLite, eager
tasks): the fault is the same there, a Redis that does not answer.
"""
import logging
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from claims.models import Claim, ClaimEvent
from enrollment.models import Enrollment, Household, ImportJob, Member
from ledger.models import LedgerTransaction
from policy.services import policy_load
from tests.claims.conftest import line, member, policy_document  # noqa: F401  (member: a fixture)
from tests.conftest import PASSWORD
from tests.enrollment.roster_data import csv_bytes, many
from tests.factories import PolicyVersionFactory

YEAR = 2026


def counts():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            LedgerTransaction.objects.count())


def test_the_cache_backend_in_production_is_the_fail_soft_one_and_sessions_are_in_the_database():
    """Sessions in a cache would log everybody out (or refuse every login) while Redis is down."""
    assert settings.SESSION_ENGINE in {"django.contrib.sessions.backends.db",
                                       "django.contrib.sessions.backends.cached_db"}
    if settings.REDIS_URL:
        assert settings.CACHES["default"]["BACKEND"] == "core.cache.FailSoftRedisCache"


def test_login_staff_pages_public_pages_and_the_api_serve_with_redis_down(
        client, cache_down, broker_down, users_by_role, facility, member, caplog):
    policy_load(data=policy_document())
    clerk = users_by_role[Role.TOWNSHIP_CLERK]
    caplog.set_level(logging.WARNING, logger="core.cache")

    # logging in: the password form, axes, a session in the database
    response = client.post(reverse("login"), {"username": clerk.username, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200

    # staff pages of several roles
    pages = {
        Role.TOWNSHIP_CLERK: [reverse("enrollment:household_search"), reverse("enrollment:roster_import"),
                              reverse("claims:claim_list")],
        Role.CASHIER: [reverse("fund:payout_queue")],
        Role.FUND_OFFICER: [reverse("fund:ledger"), reverse("fund_report:dashboard")],
    }
    for role, urls in pages.items():
        client.force_login(users_by_role[role])
        for url in urls:
            assert client.get(url).status_code == 200, url

    # the public site (cached pages, throttled forms) without a login
    client.logout()
    for url in (reverse("publicity:index"), reverse("publicity:fund_summary"), reverse("publicity:index")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "X-Public-Cache" not in response  # nothing could be cached
    lookup = client.post(reverse("publicity:claim_lookup"), {"id_number": member.id_number, "name": "王小明"})
    assert lookup.status_code == 200

    # the settlement API (throttled through the cache): quote, settle, settle again
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users_by_role[Role.FACILITY_CLERK]).key}")
    body = line(member)
    body.pop("facility")
    assert api.post("/api/v1/quote/", body, format="json").status_code == 200
    first = api.post("/api/v1/claims/", body, format="json")
    again = api.post("/api/v1/claims/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert (Claim.objects.count(), ClaimEvent.objects.count()) == (1, 1)

    # the outage was logged once (the cache is skipped for RETRY_AFTER seconds after a failure: 300 here),
    # without a key or a URL in the message
    warnings = [r.getMessage() for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1
    assert warnings[0].startswith("cache unavailable (ConnectionError")
    assert "6399" not in warnings[0] and "publicity" not in warnings[0]


def test_a_small_roster_import_runs_in_the_request_with_redis_down(client, clerk, village, cache_down,
                                                                   broker_down):
    PolicyVersionFactory(year=YEAR)  # the roster's contributions are the year's policy amount
    client.force_login(clerk)
    response = client.post(reverse("enrollment:roster_import"), {
        "file": SimpleUploadedFile("small.csv", csv_bytes(many(4))), "year": YEAR})
    job = ImportJob.objects.get()

    confirmed = client.post(response.url, {"confirm": "1"})

    assert confirmed.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert counts()[:3] == (4, 4, 4)


@pytest.mark.celery_worker
def test_a_large_import_with_the_queue_down_fails_retryably_keeps_its_file_and_imports_once_retried(
        celery_worker, client, clerk, village, cache_down, settings):
    settings.ROSTER_ASYNC_THRESHOLD = 10
    PolicyVersionFactory(year=YEAR)  # the roster's contributions are the year's policy amount
    data = csv_bytes(many(12))
    client.force_login(clerk)
    job_url = client.post(reverse("enrollment:roster_import"), {
        "file": SimpleUploadedFile("big.csv", data), "year": YEAR}).url
    job = ImportJob.objects.get()
    assert (job.status, job.total_rows) == (ImportJob.Status.READY, 12)

    from tests.faults.conftest import DOWN_URL, broker_at

    with broker_at(DOWN_URL):
        started = time.monotonic()
        response = client.post(job_url, {"confirm": "1"}, follow=True)
        elapsed = time.monotonic() - started

    # a clear answer, quickly, never a 500
    assert response.status_code == 200
    assert elapsed < 10
    html = response.content.decode()
    assert "后台任务队列暂时不可用，导入没有开始，未导入任何数据" in html
    assert 'id="import-retry"' in html and "重新导入" in html
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.summary["enqueue_failed"] is True
    assert job.summary["plan"]["rows"] == 12
    # nothing written, nothing lost: the uploaded file is kept as it was sent
    assert counts() == (0, 0, 0, 0)
    with job.file.open("rb") as stored:
        assert stored.read() == data

    # the queue is back: the clerk retries from the job page and the file is imported once
    retried = client.post(job_url, {"retry": "1"})
    assert retried.status_code == 302

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in {ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING}:
            break
        time.sleep(0.2)
    assert job.status == ImportJob.Status.DONE
    assert job.summary["result"]["members_created"] == 12
    assert job.summary["retries"] == 1
    assert counts() == (12, 12, 12, 1)  # one ledger booking: every contribution paid on one date
    page = client.get(job_url).content.decode()
    assert "导入完成" in page and 'id="import-retry"' not in page

    # retrying a finished job does nothing
    client.post(job_url, {"retry": "1"})
    assert counts() == (12, 12, 12, 1)
