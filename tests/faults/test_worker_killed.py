"""A Celery worker killed in the middle of a roster import or a report: nothing
half-written, the job is seen as interrupted, and it runs again.

PostgreSQL + Redis: a worker process of our own (own queue, so the session's worker never takes
the task) is held at a known point in the middle of the job by a lock that another connection
holds, after it has written the roster's households, members and enrollments (or computed the
report) but before its commit; it is then killed with SIGKILL, and the lock released. Its heartbeat
(core/jobs.py) is shortened to a 3-second timeout; the sweep that beat runs every minute is sent
once by the test, and the session's worker (another worker) imports the file.
Embedded mode (SQLite, eager tasks): the same job is interrupted at the same point by an
exception that nothing in the application catches (a BaseException, as a dying process's is),
which tests the same guarantee: the one transaction rolls back whole.
"""
import os
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from enrollment.models import Enrollment, Household, ImportJob, Member
from enrollment.tasks import (
    import_job_interrupted,
    import_job_running,
    import_jobs_redeliver,
    progress_key,
    roster_import_job,
)
from fund.drafts import progress_read, run_interrupted, simulation_task
from fund.models import FundReport, PolicyDraft, SimulationRun
from fund.report import monthly_report
from fund.tasks import fund_report_store_last_month
from ledger.models import AccountBalance, LedgerTransaction
from places.models import Township
from tests.claims.conftest import policy_document
from tests.enrollment.roster_data import csv_bytes, many
from tests.factories import PolicyVersionFactory
from tests.faults.conftest import kill_hard, other_connection, own_worker, wait_until
from tests.fund.test_simulate_command import county_claims  # noqa: F401  the hand-valued county

YEAR = 2026
ROWS = 30
# the killed worker's heartbeat: refreshed every second, gone 3 seconds after its last beat
SHORT_HEARTBEAT = {"JOB_HEARTBEAT_INTERVAL": "1", "JOB_HEARTBEAT_TIMEOUT": "3"}

pytestmark = pytest.mark.celery_worker


class WorkerKilled(BaseException):
    """The embedded mode's stand-in for SIGKILL: no `except Exception` stops it."""


def written():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Member.history.count(), Enrollment.history.count(), LedgerTransaction.objects.count())


def real_worker() -> bool:
    return bool(settings.REDIS_URL)


def backend_waiting_on_a_lock(watcher):
    """The pid of a session of the test database waiting for a lock (our worker's), or None."""
    row = watcher.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND pid <> pg_backend_pid()").fetchone()
    return row[0] if row else None


def backend_gone(watcher, pid) -> bool:
    return watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0


def kill_in_the_middle(task, args, *, hold: str, env: dict | None = None):
    """Run `task` in a worker of our own (`env` added to its environment), held by `hold` (SQL run
    in another connection's open transaction) once it has written its rows; SIGKILL the worker
    there; release the hold and wait until its server session is gone (and its transaction with
    it). Returns the job's progress seen just before the kill."""
    queue = f"faults-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    # the watcher is a connection apart: inside the blocker's transaction, pg_stat_activity would
    # show the snapshot taken at its first read
    with own_worker(queue, env) as worker, other_connection() as blocker, other_connection() as watcher:
        blocker.execute("BEGIN")
        blocker.execute(hold)
        task.apply_async(args, queue=queue, ignore_result=True)
        pid = wait_until(lambda: backend_waiting_on_a_lock(watcher), timeout=90,
                         what="the worker to reach the held lock in the middle of the job")
        middle = cache.get(progress_key(args[0])) if task is roster_import_job else None
        kill_hard(worker)
        blocker.execute("ROLLBACK")
        wait_until(lambda: backend_gone(watcher, pid), what="the killed worker's database session to end")
    return middle


def test_a_worker_killed_in_the_middle_of_a_roster_import_writes_nothing_is_seen_interrupted_and_runs_again(
        celery_worker, client, clerk, village, settings, monkeypatch):
    settings.ROSTER_ASYNC_THRESHOLD = 10
    PolicyVersionFactory(year=YEAR)  # the roster's contributions are the year's policy amount
    client.force_login(clerk)
    job_url = client.post(reverse("enrollment:roster_import"), {
        "file": SimpleUploadedFile("big.csv", csv_bytes(many(ROWS))), "year": YEAR}).url
    job = ImportJob.objects.get()
    progress_url = reverse("enrollment:roster_import_progress", args=[job.pk])
    assert (job.status, job.total_rows) == (ImportJob.Status.READY, ROWS)
    # confirmed as the job page does for a large file: queued under a task id
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, task_id=str(uuid.uuid4()))

    if real_worker():
        # the import books the contributions last, in its transaction: it waits for the ledger's
        # balances after its households, members and enrollments went in
        middle = kill_in_the_middle(roster_import_job, (job.pk,), env=SHORT_HEARTBEAT,
                                    hold="LOCK TABLE fund_accountbalance IN EXCLUSIVE MODE")
        assert middle is not None and middle["percent"] >= 50  # the rows were written, uncommitted
    else:
        from enrollment.roster import new_rows

        def killed(**kwargs):
            raise WorkerKilled

        monkeypatch.setattr(new_rows, "contributions_book_bulk", killed)
        with pytest.raises(WorkerKilled):
            roster_import_job(job.pk)
        monkeypatch.undo()
    killed_at = time.monotonic()

    # nothing half-written: no household, member, enrollment, history or ledger row of the file
    assert written() == (0, 0, 0, 0, 0, 0)
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportJob.Status.IMPORTING, 0)

    # seen as interrupted once its heartbeat expired (its lock went with its connection)
    wait_until(lambda: import_job_interrupted(ImportJob.objects.get(pk=job.pk)), timeout=30,
               what="the killed worker's job to be seen as interrupted")
    detected_after = time.monotonic() - killed_at
    # within the heartbeat's timeout (3 s here, JOB_HEARTBEAT_TIMEOUT); at once in embedded mode,
    # where the dying import's own exception ended its heartbeat
    assert detected_after < (5 if real_worker() else 1)
    assert not import_job_running(job.pk)
    page = client.get(job_url).content.decode()
    assert 'id="import-retry"' in page and 'id="import-interrupted"' in page and 'id="import-progress"' not in page
    assert "导入中断：处理导入的后台进程意外停止，没有写入任何数据" in page
    progress = client.get(progress_url).json()
    assert (progress["status"], progress["status_display"], progress["interrupted"], progress["finished"]) == \
        ("interrupted", "已中断", True, False)

    # the sweep (beat sends it every minute) hands it out again; another worker imports it, once
    outcome = import_jobs_redeliver.delay().get(timeout=60)
    assert outcome == {"redelivered": [job.pk], "failed": []}
    wait_until(lambda: ImportJob.objects.get(pk=job.pk).status not in {
        ImportJob.Status.READY, ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING},
        timeout=90, what="the redelivered import to finish")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.summary["redeliveries"] == 1
    assert job.summary["result"]["members_created"] == ROWS
    assert written() == (ROWS, ROWS, ROWS, ROWS, ROWS, 1)
    assert -AccountBalance.objects.get(account__code="income_individual", year=YEAR).balance == \
        Decimal("380.00") * ROWS
    assert "导入完成" in client.get(job_url).content.decode()

    # the next sweep finds nothing; the killed run's own message delivered once more (acks_late:
    # Redis hands it out again after the visibility timeout): harmless
    assert import_jobs_redeliver.delay().get(timeout=60) == {"redelivered": [], "failed": []}
    assert roster_import_job(job.pk) == "done"
    assert written() == (ROWS, ROWS, ROWS, ROWS, ROWS, 1)


def test_a_worker_killed_while_storing_the_monthly_report_stores_nothing_and_the_job_runs_again(
        celery_worker, monkeypatch):
    if real_worker():
        # another session is storing version 1 of the month too: our worker computes the report,
        # then its insert waits on that row; it is killed there
        kill_in_the_middle(fund_report_store_last_month, (YEAR, 3), hold=(
            "INSERT INTO fund_fundreport (year, month, version, data, created_at)"
            " VALUES (2026, 3, 1, '{}'::jsonb, now())"))
    else:
        from fund.models import FundReport as Model

        def killed(self, *args, **kwargs):
            raise WorkerKilled

        monkeypatch.setattr(Model, "save", killed)
        with pytest.raises(WorkerKilled):
            fund_report_store_last_month(YEAR, 3)
        monkeypatch.undo()

    assert FundReport.objects.count() == 0

    stored = fund_report_store_last_month.delay(YEAR, 3).get(timeout=60)
    again = fund_report_store_last_month.delay(YEAR, 3).get(timeout=60)

    assert stored == {"year": YEAR, "month": 3, "version": 1, "created": True}
    assert again == {"year": YEAR, "month": 3, "version": 1, "created": False}
    report = FundReport.objects.get()
    assert report.data == monthly_report(year=YEAR, month=3)


def test_a_worker_killed_in_the_middle_of_a_simulation_leaves_it_interrupted_and_it_runs_again(
        celery_worker, client, users_by_role, county_claims, clock, monkeypatch):  # noqa: F811
    """The policy simulation's run (fund.drafts): killed after it was seen running, it is said to be
    interrupted once its heartbeat expired; asking again ends it failed and another worker values
    a new run to the end."""
    clock("2027-02-01 10:00")
    draft = PolicyDraft.objects.create(name="封顶", base_year=2026, document=policy_document(annual_cap="16000.00"))
    run = SimulationRun.objects.create(draft=draft, task_id=str(uuid.uuid4()), document=draft.document)
    if real_worker():
        # the run reads the townships' names after valuing the claims: it waits there, running
        kill_in_the_middle(simulation_task, (run.pk,), env=SHORT_HEARTBEAT,
                           hold=f"LOCK TABLE {Township._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    else:
        def killed(*args, **kwargs):
            raise WorkerKilled

        monkeypatch.setattr(Township.objects, "filter", killed)
        with pytest.raises(WorkerKilled):
            simulation_task(run.pk)
        monkeypatch.undo()

    run.refresh_from_db()
    assert (run.status, run.result) == (SimulationRun.Status.RUNNING, None)
    wait_until(lambda: run_interrupted(SimulationRun.objects.get(pk=run.pk)), timeout=30,
               what="the killed worker's run to be seen as interrupted")
    assert progress_read(run)["status"] == "interrupted"
    client.force_login(users_by_role[Role.FUND_OFFICER])
    assert 'id="simulation-interrupted"' in client.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()

    # asked again: the interrupted run ends failed, a new one is valued by another worker
    response = client.post(reverse("fund:simulation_run", args=[draft.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.FAILED and "中断" in run.message
    new = SimulationRun.objects.exclude(pk=run.pk).get()
    wait_until(lambda: SimulationRun.objects.get(pk=new.pk).status == SimulationRun.Status.DONE, timeout=90,
               what="the new run to be valued")
    new.refresh_from_db()
    assert new.result["draft"]["compensation"] == "19500.00"
