"""Redis down when a large export is asked for: the job says the queue is unavailable and can be
retried, the page answers at once (never a 500), and the retry writes the file once the queue is
back (through the real worker in the PostgreSQL + Redis mode, eagerly in the embedded mode)."""
import time

import pytest
from django.urls import reverse

from enrollment.exports import ENQUEUE_FAILED
from enrollment.models import ExportJob
from enrollment.roster import roster_import
from tests.enrollment.roster_data import csv_bytes, many
from tests.factories import PolicyVersionFactory

YEAR = 2026


@pytest.mark.celery_worker
def test_a_large_export_with_the_queue_down_fails_retryably_and_is_written_once_retried(
        celery_worker, client, clerk, village, cache_down, settings):
    settings.EXPORT_ASYNC_THRESHOLD = 5
    PolicyVersionFactory(year=YEAR)
    roster_import(data=csv_bytes(many(12)), filename="many.csv", year=YEAR, user=clerk)
    client.force_login(clerk)

    from tests.faults.conftest import DOWN_PORT, broker_at

    # a database number of its own on the dead port: kombu keeps one producer pool per broker
    # address for the whole session, and broker_at closes the one it used
    with broker_at(f"redis://127.0.0.1:{DOWN_PORT}/6"):
        started = time.monotonic()
        response = client.post(reverse("enrollment:roster_export"), {"year": YEAR}, follow=True)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < 10
    html = response.content.decode()
    assert ENQUEUE_FAILED in html and 'id="export-retry"' in html
    job = ExportJob.objects.get()
    assert (job.status, job.message, job.runs) == (ExportJob.Status.FAILED, ENQUEUE_FAILED, 0)
    assert job.finished_at is not None and not job.file

    # the queue is back: the retry writes the file
    job_url = reverse("enrollment:export_job_detail", args=[job.pk])
    assert client.post(job_url, {"retry": "1"}).status_code == 302
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in {ExportJob.Status.QUEUED, ExportJob.Status.RUNNING}:
            break
        time.sleep(0.2)
    assert (job.status, job.processed_rows, job.runs, job.message) == (ExportJob.Status.DONE, 12, 1, "")
    download = client.get(reverse("enrollment:export_job_download", args=[job.pk]))
    assert download.status_code == 200
