"""Large exports run as jobs: above EXPORT_ASYNC_THRESHOLD rows the roster and the contributions
are written by the Celery task `export_job`, with progress, a download link, scoping and retries.

The test marked `celery_worker` runs the job through a real worker with REDIS_URL and
DATABASE_URL (PostgreSQL) set, and eagerly otherwise. The other tests that start a job capture
the on-commit callbacks (the enqueue) and run the task in the test.
"""
import io
import time
from datetime import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from enrollment import exports
from enrollment.exports import (
    ENROLLMENT_HEADERS,
    _job_lock,
    export_job,
    export_job_run,
    progress_key,
    progress_write,
    write_export,
)
from enrollment.models import ExportJob
from enrollment.roster import roster_import
from tests.enrollment.roster_data import EXPORT_HEADERS, HEAD_ID, csv_bytes, family, many
from tests.factories import HouseholdFactory, MemberFactory

YEAR = 2026
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def imported(village, clerk):
    """The four-member family roster imported for 2026; the son has not paid yet."""
    rows = family()
    rows[2].update(contribution="", paid_date="", receipt_no="")
    roster_import(data=csv_bytes(rows), filename="family.csv", year=YEAR, user=clerk)


@pytest.fixture
def small_threshold(settings):
    settings.EXPORT_ASYNC_THRESHOLD = 2
    return settings


@pytest.fixture
def tasks_here(monkeypatch):
    """The export task runs in this process (as in the embedded mode) even with REDIS_URL set:
    these tests' rows are not committed, so a worker could not see them."""
    monkeypatch.setattr(export_job, "apply_async", lambda args, **options: export_job.apply(args))


def rows_of(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))


def start(client, name: str, year=YEAR, capture=None):
    """POST an export; with `capture` (django_capture_on_commit_callbacks) the enqueue runs."""
    if capture is None:
        return client.post(reverse(name), {"year": year})
    with capture(execute=True):
        return client.post(reverse(name), {"year": year})


def wait_finished(client, job) -> dict:
    url = reverse("enrollment:export_job_progress", args=[job.pk])
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        data = client.get(url).json()
        seen.append(data["percent"])
        if data["finished"]:
            assert seen == sorted(seen)
            return data
        time.sleep(0.2)
    pytest.fail(f"the export did not finish; progress seen: {seen}")


@pytest.mark.celery_worker
def test_a_large_export_runs_in_the_worker_and_its_file_is_downloaded(celery_worker, client, clerk, imported,
                                                                       small_threshold):
    client.force_login(clerk)

    response = client.post(reverse("enrollment:roster_export"), {"year": YEAR})

    job = ExportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("enrollment:export_job_detail", args=[job.pk])
    assert (job.kind, job.year, job.township, job.created_by) == ("roster", YEAR, clerk.township, clerk)
    assert job.created_at is not None and job.task_id
    data = wait_finished(client, job)
    download = reverse("enrollment:export_job_download", args=[job.pk])
    assert data["status"] == "done" and data["percent"] == 100 and data["done"] == data["total"] == 4
    assert data["download_url"].endswith(download)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.processed_rows == 4 and job.runs == 1
    assert job.started_at <= job.finished_at

    page = client.get(reverse("enrollment:export_job_detail", args=[job.pk])).content.decode()
    assert 'id="export-download"' in page and download in page
    assert 'id="import-progress"' not in page  # no more polling
    listing = client.get(reverse("enrollment:exports")).content.decode()
    assert download in listing

    file = client.get(download)
    assert file.status_code == 200 and file["Content-Type"] == XLSX
    assert f'filename="roster-{YEAR}-{clerk.township.code}.xlsx"' in file["Content-Disposition"]
    content = b"".join(file.streaming_content)
    small_threshold.EXPORT_ASYNC_THRESHOLD = 5000  # the same export in the request: the same rows
    direct = client.get(reverse("enrollment:roster_export"), {"year": YEAR}).content
    assert rows_of(content) == rows_of(direct)
    assert list(rows_of(content)[0]) == EXPORT_HEADERS
    # the task delivered again (a retry, a second worker): harmless, the same file stays
    finished_at, name = job.finished_at, job.file.name
    assert export_job.delay(job.pk).get(timeout=60) == "done"
    job.refresh_from_db()
    assert (job.finished_at, job.file.name, job.runs) == (finished_at, name, 1)


def test_a_small_export_answers_with_the_file_and_makes_no_job(client, clerk, imported):
    client.force_login(clerk)
    for method in (client.get, client.post):
        response = method(reverse("enrollment:enrollment_export"), {"year": YEAR})
        assert response.status_code == 200 and response["Content-Type"] == XLSX
        assert list(rows_of(response.content)[0]) == ENROLLMENT_HEADERS
    assert not ExportJob.objects.exists()


def test_a_large_export_asked_by_a_link_offers_the_job_without_starting_it(client, clerk, imported,
                                                                          small_threshold):
    client.force_login(clerk)
    response = client.get(reverse("enrollment:roster_export"), {"year": YEAR})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="export-offer"' in html and "4 行" in html
    assert f'action="{reverse("enrollment:roster_export")}"' in html and 'method="post"' in html
    assert not ExportJob.objects.exists()


def test_the_enrollment_export_job_writes_the_years_contributions(client, clerk, imported, small_threshold,
                                                                  tasks_here, django_capture_on_commit_callbacks):
    client.force_login(clerk)
    start(client, "enrollment:enrollment_export", capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE
    rows = rows_of(b"".join(client.get(reverse("enrollment:export_job_download", args=[job.pk])).streaming_content))
    assert list(rows[0]) == ENROLLMENT_HEADERS
    assert rows[1] == ("东湖村", "H001", "张大山", HEAD_ID, "2026", 380, f"R-{HEAD_ID[-6:]}", datetime(2026, 1, 5),
                       "个人缴纳")
    assert len(rows) == 1 + 3


def test_a_township_clerks_job_holds_their_township_only(client, clerk, imported, other_village, small_threshold,
                                                         tasks_here, django_capture_on_commit_callbacks):
    for n in range(3):
        MemberFactory(household=HouseholdFactory(village=other_village), name=f"外乡人{n}")
    client.force_login(clerk)
    start(client, "enrollment:roster_export", capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    rows = rows_of(b"".join(client.get(reverse("enrollment:export_job_download", args=[job.pk])).streaming_content))
    assert sorted(row[3] for row in rows[1:]) == sorted(["张大山", "李秀英", "张小明", "王桂兰"])


def test_progress_endpoint_reads_the_cache_while_the_job_runs(client, clerk, township):
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=township, created_by=clerk,
                                   status=ExportJob.Status.RUNNING, total_rows=80_000)
    progress_write(job.pk, done=20_000, total=80_000, status=ExportJob.Status.RUNNING)
    client.force_login(clerk)

    with _job_lock(job.pk):  # as the worker holds it while it writes the job (PostgreSQL)
        response = client.get(reverse("enrollment:export_job_progress", args=[job.pk]))
        html = client.get(reverse("enrollment:export_job_detail", args=[job.pk])).content.decode()

    assert "no-store" in response["Cache-Control"]
    assert response.json() == {"status": "running", "status_display": "正在导出", "done": 20_000,
                               "total": 80_000, "percent": 25, "finished": False}
    assert 'id="import-progress"' in html and "js/import_progress.js" in html
    assert reverse("enrollment:export_job_progress", args=[job.pk]) in html
    cache.delete(progress_key(job.pk))


@pytest.mark.postgres
def test_a_running_job_that_no_worker_writes_is_shown_interrupted_and_runs_again(client, clerk, imported, township,
                                                                                tasks_here,
                                                                                django_capture_on_commit_callbacks):
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=township, created_by=clerk,
                                   status=ExportJob.Status.RUNNING, runs=1)
    client.force_login(clerk)
    html = client.get(reverse("enrollment:export_job_detail", args=[job.pk])).content.decode()
    assert 'id="export-interrupted"' in html and 'id="export-retry"' in html
    assert 'id="import-progress"' not in html

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("enrollment:export_job_detail", args=[job.pk]), {"retry": "1"})

    job.refresh_from_db()
    assert (job.status, job.runs, job.processed_rows) == ("done", 2, 4)


def test_progress_moves_in_chunks_while_the_file_is_written(clerk, village, small_threshold, monkeypatch):
    roster_import(data=csv_bytes(many(25)), filename="many.csv", year=YEAR, user=clerk)
    monkeypatch.setattr(exports, "CHUNK", 10)
    published = []
    write = exports.progress_write

    def recording(job_id, *, done, total, status):
        write(job_id, done=done, total=total, status=status)
        published.append((done, total))

    monkeypatch.setattr(exports, "progress_write", recording)
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=clerk.township, created_by=clerk)

    export_job_run(job.pk)

    assert published == [(0, 25), (10, 25), (20, 25), (25, 25)]
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.total_rows) == ("done", 25, 25)
    assert cache.get(progress_key(job.pk)) is None  # the row holds the final figures


def test_a_run_that_fails_midway_marks_the_job_failed_and_leaves_the_connection_usable(clerk, village,
                                                                                     monkeypatch):
    roster_import(data=csv_bytes(many(25)), filename="many.csv", year=YEAR, user=clerk)
    monkeypatch.setattr(exports, "CHUNK", 10)
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=clerk.township, created_by=clerk)

    def failing(done):
        if done >= 10:
            raise OSError("disk full")

    monkeypatch.setattr(exports, "progress_write", lambda job_id, *, done, total, status: failing(done))
    with pytest.raises(OSError):
        export_job_run(job.pk)

    job.refresh_from_db()  # the same connection: the streamed query was ended
    assert job.status == ExportJob.Status.FAILED and not job.file
    monkeypatch.undo()
    assert export_job(job.pk) == "failed"  # a failed job waits for its retry (a new task)


def test_a_job_not_done_has_no_file_to_download(client, clerk, township):
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=township, created_by=clerk)
    client.force_login(clerk)
    assert client.get(reverse("enrollment:export_job_download", args=[job.pk])).status_code == 404


def test_jobs_and_files_are_scoped(client, clerk, other_clerk, users_by_role, imported, small_threshold,
                                   tasks_here, django_capture_on_commit_callbacks):
    client.force_login(clerk)
    start(client, "enrollment:roster_export", capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    urls = [reverse("enrollment:export_job_detail", args=[job.pk]),
            reverse("enrollment:export_job_progress", args=[job.pk]),
            reverse("enrollment:export_job_download", args=[job.pk])]
    for url in urls:
        assert client.get(url).status_code == 200, url

    client.force_login(other_clerk)  # another township: not found
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(urls[0], {"retry": "1"}).status_code == 404
    assert reverse("enrollment:export_job_detail", args=[job.pk]) not in \
        client.get(reverse("enrollment:exports")).content.decode()

    client.force_login(users_by_role[Role.FUND_OFFICER])  # the county sees every township's jobs
    assert client.get(urls[2]).status_code == 200

    client.force_login(users_by_role[Role.FACILITY_CLERK])  # no export for this role
    for url in [*urls, reverse("enrollment:exports"), reverse("enrollment:roster_export")]:
        assert client.get(url).status_code == 403, url

    client.logout()
    for url in [*urls, reverse("enrollment:exports")]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_running_the_task_again_for_a_done_job_does_nothing(clerk, imported, township):
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=township, created_by=clerk)
    assert export_job(job.pk) == "done"
    job.refresh_from_db()
    finished_at, name = job.finished_at, job.file.name

    assert export_job(job.pk) == "done"

    job.refresh_from_db()
    assert (job.finished_at, job.file.name, job.runs) == (finished_at, name, 1)


def test_a_job_whose_run_died_runs_again_from_scratch(clerk, imported, township):
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=township, created_by=clerk,
                                   status=ExportJob.Status.RUNNING, runs=1, processed_rows=3, total_rows=4)

    assert export_job(job.pk) == "done"

    job.refresh_from_db()
    assert (job.status, job.runs, job.processed_rows) == ("done", 2, 4)
    with job.file.open("rb") as stored:
        assert len(rows_of(stored.read())) == 1 + 4


def test_a_failed_run_says_so_and_the_job_can_be_retried(client, clerk, imported, township, monkeypatch,
                                                         tasks_here, django_capture_on_commit_callbacks):
    job = ExportJob.objects.create(kind="roster", year=YEAR, township=township, created_by=clerk)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_export", broken)
    with pytest.raises(OSError):
        export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and "重新导出" in job.message and not job.file
    client.force_login(clerk)
    page = client.get(reverse("enrollment:export_job_detail", args=[job.pk])).content.decode()
    assert 'id="export-retry"' in page and job.message in page

    monkeypatch.setattr(exports, "write_export", write_export)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("enrollment:export_job_detail", args=[job.pk]), {"retry": "1"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.runs, job.message) == ("done", 2, "")
    # a done job is not retried
    client.post(reverse("enrollment:export_job_detail", args=[job.pk]), {"retry": "1"})
    job.refresh_from_db()
    assert job.runs == 2
