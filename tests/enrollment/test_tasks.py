"""The background roster import: a file above ROSTER_ASYNC_THRESHOLD goes through Celery.

With REDIS_URL and DATABASE_URL (PostgreSQL) set, the `celery_worker` fixture runs a real
`celery worker` process on the test database; without them the task runs eagerly.
"""
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from core import jobs
from enrollment import tasks
from enrollment.models import Enrollment, Household, ImportJob, Member
from enrollment.rules import FEMALE, MALE
from enrollment.tasks import progress_key, roster_import_job
from tests.conftest import login_in_browser
from tests.enrollment.roster_data import csv_bytes, many
from tests.factories import HouseholdFactory, MemberFactory

YEAR = 2026


def record_progress(monkeypatch) -> list[dict]:
    """Every progress the task publishes, as read back from the cache, in order."""
    from django.core.cache import cache

    published = []
    write = tasks.progress_write

    def recording(job_id, *, done, total, status):
        write(job_id, done=done, total=total, status=status)
        published.append(cache.get(progress_key(job_id)))

    monkeypatch.setattr(tasks, "progress_write", recording)
    return published


def upload_and_validate(client, rows) -> ImportJob:
    response = client.post(reverse("enrollment:roster_import"), {
        "file": SimpleUploadedFile("big.csv", csv_bytes(rows)), "year": YEAR})
    assert response.status_code == 302
    return ImportJob.objects.latest("pk")


def counts():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Member.history.count(), Enrollment.history.count())


@pytest.mark.celery_worker
def test_a_large_file_runs_in_the_worker_with_progress(client, celery_worker, settings, village, clerk):
    settings.ROSTER_ASYNC_THRESHOLD = 10
    client.force_login(clerk)
    job = upload_and_validate(client, many(40))
    assert (job.status, job.total_rows) == (ImportJob.Status.READY, 40)
    assert "后台导入" in client.get(reverse("enrollment:roster_import_detail", args=[job.pk])).content.decode()

    response = client.post(reverse("enrollment:roster_import_detail", args=[job.pk]), {"confirm": "1"})
    assert response.status_code == 302

    progress_url = reverse("enrollment:roster_import_progress", args=[job.pk])
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        data = client.get(progress_url).json()
        seen.append(data["percent"])
        if data["finished"]:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the import did not finish; progress seen: {seen}")

    assert data == {"status": "done", "status_display": "已完成", "done": 40, "total": 40,
                    "percent": 100, "finished": True, "interrupted": False}
    assert seen == sorted(seen)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.task_id != ""
    assert job.processed_rows == job.total_rows == 40
    assert job.summary["result"]["members_created"] == 40
    assert Member.objects.count() == 40
    assert set(Member.history.values_list("history_user", flat=True)) == {clerk.pk}

    page = client.get(reverse("enrollment:roster_import_detail", args=[job.pk])).content.decode()
    assert "导入完成" in page
    assert 'id="import-progress"' not in page  # no more polling

    # the task delivered again (a retry, a second worker): harmless
    before = counts()
    assert roster_import_job.delay(job.pk).get(timeout=60) == "done"
    assert counts() == before


def test_the_job_page_polls_while_the_task_is_queued(client, clerk, township):
    job = ImportJob.objects.create(
        year=YEAR, file=SimpleUploadedFile("r.csv", b"x"), original_name="r.csv", created_by=clerk,
        township=township, status=ImportJob.Status.QUEUED, total_rows=5000)
    client.force_login(clerk)

    html = client.get(reverse("enrollment:roster_import_detail", args=[job.pk])).content.decode()

    assert 'id="import-progress"' in html
    assert reverse("enrollment:roster_import_progress", args=[job.pk]) in html
    assert "js/import_progress.js" in html


def test_progress_moves_while_the_import_runs(client, clerk, village, settings, monkeypatch):
    """The progress callback publishes growing figures during validation and writing, up to 100."""
    client.force_login(clerk)
    job = upload_and_validate(client, many(2500))
    published = record_progress(monkeypatch)

    assert roster_import_job(job.pk) == "done"

    seen = [progress["percent"] for progress in published]
    assert seen[0] == 0 and seen[-1] == 100
    assert seen == sorted(seen)
    assert len([p for p in seen if 0 < p < 100]) >= 3
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.total_rows) == (ImportJob.Status.DONE, 2500, 2500)
    assert Member.objects.count() == 2500


def test_progress_while_batches_are_written_in_the_background(client, clerk, village, monkeypatch):
    """Batches of 50 new members: on PostgreSQL the writer thread uses the connection while
    validation reports progress; the import ends done, every row and history row in place."""
    from enrollment.roster import importer as roster

    monkeypatch.setattr(roster, "STREAM_CHUNK", 50)
    client.force_login(clerk)
    job = upload_and_validate(client, many(2500))
    published = record_progress(monkeypatch)

    assert roster_import_job(job.pk) == "done"

    seen = [progress["done"] for progress in published]
    assert seen == sorted(seen) and seen[-1] == 2500 and len(seen) >= 4
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportJob.Status.DONE, 2500)
    assert Member.objects.count() == Member.history.count() == 2500
    assert Enrollment.objects.filter(recorded_by=job.created_by).count() == Enrollment.history.count() == 2500


def test_running_the_task_twice_is_harmless(client, clerk, village):
    client.force_login(clerk)
    job = upload_and_validate(client, many(12))
    assert roster_import_job(job.pk) == "done"
    job.refresh_from_db()
    finished_at, before = job.finished_at, counts()

    assert roster_import_job(job.pk) == "done"

    job.refresh_from_db()
    assert job.finished_at == finished_at
    assert counts() == before == (12, 12, 12, 12, 12)


def test_a_job_interrupted_midway_runs_again_to_the_end(client, clerk, village):
    client.force_login(clerk)
    job = upload_and_validate(client, many(5))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING, processed_rows=2)

    assert roster_import_job(job.pk) == "done"

    assert Member.objects.count() == 5


def test_an_unconfirmed_or_invalid_job_is_not_imported_by_the_task(client, clerk, village):
    client.force_login(clerk)
    job = upload_and_validate(client, many(3))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INVALID)

    assert roster_import_job(job.pk) == "invalid"

    assert counts() == (0, 0, 0, 0, 0)


def test_a_file_that_became_invalid_since_the_preview_is_refused_whole(client, clerk, village):
    client.force_login(clerk)
    rows = many(3)
    job = upload_and_validate(client, rows)
    # meanwhile the second person is registered on another household
    MemberFactory(household=HouseholdFactory(village=village), id_number=rows[1]["id_number"],
                  sex=MALE if int(rows[1]["id_number"][16]) % 2 else FEMALE)
    before = counts()

    assert roster_import_job(job.pk) == "invalid"

    job.refresh_from_db()
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "id_number")]
    assert "一人只能在一个家庭户参合" in job.errors[0]["reason"]
    assert counts() == before
    assert "一人只能在一个家庭户参合" in client.get(
        reverse("enrollment:roster_import_detail", args=[job.pk])).content.decode()


@pytest.mark.browser
def test_the_progress_bar_moves_in_the_browser_and_the_page_shows_the_result(page, live_server, clerk,
                                                                            township):
    job = ImportJob.objects.create(
        year=YEAR, file=SimpleUploadedFile("r.csv", b"x"), original_name="big.csv", created_by=clerk,
        township=township, status=ImportJob.Status.IMPORTING, total_rows=5000)
    # a worker is on it (its heartbeat, in the cache the live server shares)
    beating = jobs.heartbeat(tasks.job_name(job.pk))
    beating.__enter__()
    login_in_browser(page, live_server, clerk.username)
    page.goto(f"{live_server.url}{reverse('enrollment:roster_import_detail', args=[job.pk])}")
    assert page.locator("#import-progress .progress > span").get_attribute("style") == "width: 0%"

    # the worker reports progress through the cache (the live server shares this process's cache)
    tasks.progress_write(job.pk, done=2000, total=5000, status=ImportJob.Status.IMPORTING)
    # (a locator, not wait_for_function: the Content-Security-Policy forbids evaluating strings)
    expect(page.locator("#import-progress .progress > span")).to_have_attribute("style", re.compile(r"width: 40%;?$"))
    assert page.locator(".progress-done").inner_text() == "2000"

    result = {"rows": 5000, "households_created": 1200, "households_updated": 0, "members_created": 5000,
              "members_updated": 0, "enrollments_created": 5000, "unchanged_rows": 0}
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, summary={"result": result},
                                               processed_rows=5000)
    beating.__exit__(None, None, None)
    page.wait_for_selector("text=导入完成")  # the script reloads the page once the job has finished
    assert page.locator("#import-progress").count() == 0
    assert "1200" in page.locator("table.import-result").inner_text()


@pytest.mark.browser
def test_the_page_shows_the_job_interrupted_when_its_worker_dies_and_its_progress_when_it_runs_again(
        page, live_server, clerk, township):
    job = ImportJob.objects.create(
        year=YEAR, file=SimpleUploadedFile("r.csv", b"x"), original_name="big.csv", created_by=clerk,
        township=township, status=ImportJob.Status.IMPORTING, total_rows=5000)
    beating = jobs.heartbeat(tasks.job_name(job.pk))
    beating.__enter__()
    login_in_browser(page, live_server, clerk.username)
    page.goto(f"{live_server.url}{reverse('enrollment:roster_import_detail', args=[job.pk])}")
    tasks.progress_write(job.pk, done=1750, total=5000, status=ImportJob.Status.IMPORTING)
    expect(page.locator(".progress-done")).to_have_text("1750")

    beating.__exit__(None, None, None)  # the worker dies: no more heartbeat
    expect(page.locator("#import-interrupted")).to_be_visible()  # the script reloads the page
    expect(page.locator("#job-status")).to_have_text("已中断")
    assert page.locator("#import-progress").count() == 0
    assert page.locator("#import-retry button").is_visible()

    # handed out again and taken by a worker: the page shows the progress again
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, task_id="again")
    with jobs.heartbeat(tasks.job_name(job.pk)):
        expect(page.locator("#import-progress")).to_be_visible(timeout=20000)
        expect(page.locator("#job-status")).to_have_text("已排队")
