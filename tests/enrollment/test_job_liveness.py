"""An import job whose worker died is seen as interrupted (core.jobs: heartbeat, and on PostgreSQL
the job's advisory lock) and handed out again by the periodic sweep (`import_jobs_redeliver`), at
most JOB_REDELIVER_MAX times; a job with a live worker, or still waiting in the queue, is left alone.

The sweep's sending of the task is recorded here rather than sent (the task is then run in this
process), so these tests run alike on SQLite and on PostgreSQL + Redis; tests/faults/ kills a real
worker.
"""
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from core import jobs
from enrollment import tasks
from enrollment.models import ImportJob
from enrollment.tasks import import_job_interrupted, import_jobs_redeliver, job_name, roster_import_job
from tests.enrollment.roster_data import many
from tests.enrollment.test_tasks import counts, upload_and_validate
from tests.faults.conftest import other_connection
from tests.fund.test_concurrency import at_once

ROWS = 5


@pytest.fixture
def sent(monkeypatch):
    """The tasks the sweep sends, as (job id, task id), instead of sending them."""
    calls = []
    monkeypatch.setattr(tasks, "import_job_enqueue", lambda job_id, task_id: calls.append((job_id, task_id)))
    return calls


def left_importing(client, clerk, **changes) -> ImportJob:
    """A confirmed job whose worker died after marking it "importing" (no heartbeat, no lock)."""
    client.force_login(clerk)
    job = upload_and_validate(client, many(ROWS))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.IMPORTING, task_id="killed-run", **changes)
    job.refresh_from_db()
    return job


def test_the_heartbeat_lasts_while_the_job_runs_and_goes_with_it(settings):
    settings.JOB_HEARTBEAT_INTERVAL, settings.JOB_HEARTBEAT_TIMEOUT = 0.2, 1
    name = "testjob:1"
    assert not jobs.beating(name) and not jobs.taken(name)

    with jobs.heartbeat(name):
        time.sleep(1.5)  # longer than the timeout: the thread refreshed it
        assert jobs.beating(name) and jobs.taken(name)
        assert not jobs.job_lost(name)

    assert not jobs.beating(name) and not jobs.taken(name)
    assert not jobs.job_lost(name, started=False)  # finished cleanly: not taken any more


def test_a_dead_workers_heartbeat_expires_and_the_job_is_lost(settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 1
    name = "testjob:2"
    jobs._beat(name)  # the last beat of a process killed right after
    assert not jobs.job_lost(name, started=False)

    time.sleep(1.2)

    assert not jobs.beating(name)
    assert jobs.job_lost(name, started=False)  # it was taken: a queued job's worker died too
    jobs.forget(name)
    assert not jobs.job_lost(name, started=False) and jobs.job_lost(name, started=True)


def test_an_interrupted_job_is_redelivered_and_imported_once(client, clerk, village, sent, caplog,
                                                            django_capture_on_commit_callbacks):
    job = left_importing(client, clerk)
    job_url = reverse("enrollment:roster_import_detail", args=[job.pk])
    progress_url = reverse("enrollment:roster_import_progress", args=[job.pk])

    assert import_job_interrupted(job)
    page = client.get(job_url).content.decode()
    assert "已中断" in page and 'id="import-interrupted"' in page and 'id="import-retry"' in page
    assert 'id="import-progress"' not in page  # not "importing" for ever
    assert client.get(progress_url).json() == {
        "status": "interrupted", "status_display": "已中断", "done": 0, "total": ROWS, "percent": 0,
        "finished": False, "interrupted": True}

    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_redeliver() == {"redelivered": [job.pk], "failed": []}

    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and job.task_id not in {"", "killed-run"}
    assert sent == [(job.pk, job.task_id)]
    assert job.summary["redeliveries"] == 1 and len(job.summary["interruptions"]) == 1
    assert "redelivered" in caplog.text
    assert not import_job_interrupted(job)  # waiting in the queue now
    assert client.get(progress_url).json()["status"] == "queued"

    # the next sweep leaves it alone; the worker that takes it imports the file once
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_redeliver() == {"redelivered": [], "failed": []}
    assert roster_import_job(job.pk) == "done"
    assert counts() == (ROWS,) * 5
    assert len(sent) == 1


def test_a_job_with_a_live_worker_or_waiting_in_the_queue_is_left_alone(client, clerk, village, sent):
    job = left_importing(client, clerk)
    queued = left_importing(client, clerk)
    ImportJob.objects.filter(pk=queued.pk).update(status=ImportJob.Status.QUEUED)

    with jobs.heartbeat(job_name(job.pk)):
        assert import_jobs_redeliver() == {"redelivered": [], "failed": []}
        page = client.get(reverse("enrollment:roster_import_detail", args=[job.pk])).content.decode()
        assert 'id="import-progress"' in page and "已中断" not in page and 'id="import-retry"' not in page

    if connection.vendor == "postgresql":
        # its heartbeat lost with the cache (Redis restarted), but the worker's session holds the lock
        with other_connection() as worker:
            worker.execute("SELECT pg_advisory_lock(%s, %s)", list(tasks.job_lock(job.pk)))
            assert not import_job_interrupted(job)
            assert import_jobs_redeliver() == {"redelivered": [], "failed": []}

    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.IMPORTING
    assert ImportJob.objects.get(pk=queued.pk).status == ImportJob.Status.QUEUED
    assert sent == []


def test_a_queued_job_whose_worker_died_before_starting_it_is_redelivered(client, clerk, village, sent,
                                                                          django_capture_on_commit_callbacks):
    job = left_importing(client, clerk)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    jobs._beat(job_name(job.pk))
    cache.delete(jobs._beat_key(job_name(job.pk)))  # the heartbeat expired; "taken" stays

    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_redeliver() == {"redelivered": [job.pk], "failed": []}
    assert len(sent) == 1


def test_after_too_many_interruptions_the_job_fails_with_a_message_and_the_clerk_may_retry(
        client, clerk, village, sent, settings, django_capture_on_commit_callbacks):
    settings.JOB_REDELIVER_MAX = 2
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as where workers take the tasks (and beat sweeps)
    job = left_importing(client, clerk)
    job_url = reverse("enrollment:roster_import_detail", args=[job.pk])

    for attempt in (1, 2):
        page = client.get(job_url).content.decode()
        assert f"第 {attempt} 次，最多 2 次" in page  # the clerk is told it will run again by itself
        with django_capture_on_commit_callbacks(execute=True):
            assert import_jobs_redeliver()["redelivered"] == [job.pk]
        # its worker dies again
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)

    assert "最多 2 次" not in client.get(job_url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_redeliver() == {"redelivered": [], "failed": [job.pk]}

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert len(sent) == 2
    assert len(job.summary["interruptions"]) == 3
    assert "导入中断了 3 次" in job.summary["message"]
    page = client.get(job_url).content.decode()
    assert "导入中断了 3 次" in page and 'id="import-retry"' in page
    # nothing more from the sweep
    assert import_jobs_redeliver() == {"redelivered": [], "failed": []}

    # the clerk retries: the whole file, once, with a fresh count of automatic redeliveries
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(job_url, {"retry": "1"}).status_code == 302
    job.refresh_from_db()
    assert job.status in {ImportJob.Status.QUEUED, ImportJob.Status.DONE}
    assert "redeliveries" not in job.summary
    if job.status == ImportJob.Status.QUEUED:
        assert roster_import_job(job.pk) == "done"
    assert counts() == (ROWS,) * 5


def test_a_sweep_overtaken_by_another_changes_nothing(client, clerk, village, sent, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    """The second of two overlapping sweeps finds the job changed since it read it (a new task id)
    and leaves it: on every database, whether or not its row lock made it wait."""
    job = left_importing(client, clerk)
    check = tasks.import_job_interrupted
    overtaken = []

    def the_other_sweep_goes_first(seen):
        interrupted = check(seen)
        if not overtaken:
            overtaken.append("running")
            overtaken[0] = tasks.import_job_redeliver(seen.pk)
        return interrupted

    monkeypatch.setattr(tasks, "import_job_interrupted", the_other_sweep_goes_first)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.import_job_redeliver(job.pk) == ""

    assert overtaken == ["redelivered"]
    job.refresh_from_db()
    assert job.summary["redeliveries"] == 1
    assert sent == [(job.pk, job.task_id)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_instant_hand_each_job_out_once(client, clerk, village, sent, monkeypatch):
    """Two beats by mistake, or a sweep slower than a minute: two real connections race."""
    interrupted = [left_importing(client, clerk).pk for _ in range(3)]
    check = tasks.import_job_interrupted

    def slow(job):  # widen the race: each sweep holds a job's row a moment after reading it
        found = check(job)
        time.sleep(0.2)
        return found

    monkeypatch.setattr(tasks, "import_job_interrupted", slow)

    first, second = at_once([import_jobs_redeliver, import_jobs_redeliver])

    assert sorted(first["redelivered"] + second["redelivered"]) == interrupted
    assert sorted(job_id for job_id, _task in sent) == interrupted
    for job in ImportJob.objects.filter(pk__in=interrupted):
        assert job.status == ImportJob.Status.QUEUED and job.summary["redeliveries"] == 1
        assert (job.pk, job.task_id) in sent
