"""Celery tasks of enrollment: the browser roster import of large files.

`roster_import_job(job_id)` takes an id, loads the ImportJob and runs `roster_import` on its file.
It is safe to run twice: a job already done does nothing, and a job whose first run died midway
runs again (the import is all-or-nothing, and importing the same rows again changes nothing).
Enqueue it with `import_job_enqueue` from `transaction.on_commit`, so the worker sees the job row.

When things fail:
- Redis down when the job is enqueued: the job is marked failed with a message saying that the
  file is kept and nothing was imported, and the clerk retries it from the job page
  (`import_job_retry`) once the queue is back; never a 500, and the uploaded file is never lost.
- A worker killed in the middle: the import is one transaction, so PostgreSQL rolls all of it
  back when the worker's connection dies. While it runs, the worker beats a heartbeat for the job
  and holds a session advisory lock on it (core.jobs): a job left "importing" (or "queued" and
  taken by a worker) whose heartbeat expired and whose lock nobody holds was interrupted
  (`import_job_interrupted`): within JOB_HEARTBEAT_TIMEOUT seconds the job page and its progress
  say so, with the retry button.
- Interrupted jobs are handed out again by the periodic `import_jobs_redeliver` (config/celery.py,
  every minute), up to JOB_REDELIVER_MAX times; after that the job is failed with a message and
  waits for the clerk's retry. The killed run's own message also comes back from Redis after the
  broker's visibility timeout (acks_late): that second delivery waits for the lock and finds the
  job done, or runs it if nothing else has.
"""
from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerUnavailable

from core import jobs
from core.errors import NcmsError
from core.tabular import group_errors
from enrollment.exports import export_job  # noqa: F401  (the worker finds the export task here)
from enrollment.models import ImportJob
from enrollment.roster import RosterInvalid, roster_import

log = logging.getLogger(__name__)

MAX_STORED_ERRORS = 1000
MAX_STORED_GROUPS = 100
INTERRUPTED_DISPLAY = gettext_lazy("已中断")
RUNNABLE = {ImportJob.Status.READY, ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING}
# first key of the advisory lock a worker holds on a job while it imports it (second key: job id)
JOB_LOCK_CLASS = 70701
ENQUEUE_FAILED = "后台任务队列暂时不可用，导入没有开始，未导入任何数据；文件已保存，请稍后点击“重新导入”"
GIVEN_UP = ("导入中断了 {count} 次（处理导入的后台进程意外停止），系统不再自动重新导入；未导入任何数据，"
            "文件已保存，可以点击“重新导入”")


def job_name(job_id: int) -> str:
    """The job's name for its heartbeat (core.jobs)."""
    return f"importjob:{job_id}"


def job_lock(job_id: int) -> tuple[int, int]:
    """The advisory lock a worker holds on the job while it imports it."""
    return (JOB_LOCK_CLASS, job_id)


def progress_key(job_id: int) -> str:
    return jobs.progress_key(job_name(job_id))


def progress_write(job_id: int, *, done: int, total: int, status: str) -> None:
    """Publish progress through the cache (core.jobs.progress_publish); the progress endpoint
    reads the cache first."""
    jobs.progress_publish(job_name(job_id), done=done, total=total, status=status)


def progress_read(job: ImportJob) -> dict:
    """The latest progress of a job: the cache while it runs, the row once it is finished.

    An interrupted job (its worker died) says so, "status": "interrupted", with nothing done: its
    rows were rolled back. It is not finished: it runs again, handed out by the sweep or retried.
    """
    finished = job.status in {ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.INVALID}
    if not finished and import_job_interrupted(job):
        return {"status": "interrupted", "status_display": str(INTERRUPTED_DISPLAY), "done": 0,
                "total": job.total_rows, "percent": 0, "finished": False, "interrupted": True}
    figures = jobs.progress_figures(job_name(job.pk), status=job.status, finished=finished,
                                    complete=job.status == ImportJob.Status.DONE, done=job.processed_rows,
                                    total=job.total_rows)
    return {"status": job.status, "status_display": str(job.get_status_display()), **figures,
            "finished": finished, "interrupted": False}


def error_groups_as_json(errors) -> list[dict]:
    """The errors grouped by column and reason (core.tabular.group_errors), counted over the whole
    list: the job keeps only the first MAX_STORED_ERRORS errors themselves."""
    return [{"column": g.column, "reason": g.reason, "count": g.count, "rows": list(g.rows)}
            for g in group_errors(errors)[:MAX_STORED_GROUPS]]


def errors_as_json(errors) -> list[dict]:
    return [{"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in errors[:MAX_STORED_ERRORS]]


def import_job_run(job_id: int) -> None:
    """Import the file of a confirmed ImportJob (from the worker, or in the request for small files).

    Scheme rule: a township clerk's upload carries the clerk's township, and `roster_import`
    refuses rows of villages outside it.
    """
    with jobs.heartbeat(job_name(job_id)), jobs.advisory_lock(job_lock(job_id)):
        _import_job_run(job_id)


def _import_job_run(job_id: int) -> None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("created_by").get(pk=job_id)
        if job.status not in RUNNABLE:
            # done already (a second delivery of the task), or never confirmed: nothing to do
            log.info("import job %s is %s: nothing to do", job_id, job.status)
            return
        job.status = ImportJob.Status.IMPORTING
        job.processed_rows = 0
        job.save(update_fields=["status", "processed_rows"])
    progress_write(job.pk, done=0, total=job.total_rows, status=ImportJob.Status.IMPORTING)

    def progress(done: int, total: int) -> None:
        # the cache only: the import's writer thread holds the database connection meanwhile,
        # and the job row gets its figures when the import ends (_finish)
        progress_write(job.pk, done=done, total=total, status=ImportJob.Status.IMPORTING)

    with job.file.open("rb") as handle:
        data = handle.read()
    try:
        summary = roster_import(data=data, filename=job.original_name, year=job.year,
                                user=job.created_by, township=job.township_id, progress=progress)
    except RosterInvalid as exc:
        # the database changed since the preview (someone else imported): refused whole
        _finish(job, ImportJob.Status.INVALID, errors=errors_as_json(exc.errors),
                summary={**job.summary, "error_count": len(exc.errors), "message": exc.message,
                         "groups": error_groups_as_json(exc.errors)})
        return
    except NcmsError as exc:
        _finish(job, ImportJob.Status.FAILED, errors=[{"row": 0, "column": "", "value": "",
                                                      "reason": exc.message}],
                summary={**job.summary, "message": exc.message})
        return
    except Exception:
        _finish(job, ImportJob.Status.FAILED, errors=[{"row": 0, "column": "", "value": "",
                                                      "reason": "导入时发生系统错误，未导入任何数据；请联系系统管理员"}],
                summary=job.summary)
        raise
    result = summary.as_dict()
    _finish(job, ImportJob.Status.DONE, errors=[], summary={**job.summary, "result": result},
            processed=result["rows"])


def _finish(job: ImportJob, status: str, *, errors: list, summary: dict, processed: int | None = None):
    job.status = status
    job.errors = errors
    job.summary = summary
    job.finished_at = timezone.now()
    fields = ["status", "errors", "summary", "finished_at"]
    if processed is not None:
        job.processed_rows = job.total_rows = processed
        fields += ["processed_rows", "total_rows"]
    job.save(update_fields=fields)
    cache.delete(progress_key(job.pk))


def import_job_running(job_id: int) -> bool:
    """Whether a worker is on the job now: its heartbeat is fresh, or it holds the job's lock."""
    return jobs.job_alive(job_name(job_id), job_lock(job_id))


def import_job_interrupted(job: ImportJob) -> bool:
    """A job left "importing", or "queued" and taken by a worker, that no worker is on any more
    (its worker was killed, its machine stopped): nothing of it was written, and it runs again
    (the sweep, or the clerk's retry). A job still waiting in the queue is not interrupted."""
    if job.status == ImportJob.Status.IMPORTING:
        return jobs.job_lost(job_name(job.pk), job_lock(job.pk), started=True)
    if job.status == ImportJob.Status.QUEUED:
        return jobs.job_lost(job_name(job.pk), job_lock(job.pk), started=False)
    return False


def import_job_retryable(job: ImportJob) -> bool:
    """Failed (the queue was down, the system failed, a concurrent import conflicted), still
    queued (a lost message is harmless to send again: a second delivery finds the job done), or
    interrupted. An invalid file is not retried: the clerk corrects it and uploads it again."""
    if job.status in {ImportJob.Status.FAILED, ImportJob.Status.QUEUED}:
        return True
    if job.status == ImportJob.Status.IMPORTING:
        return import_job_interrupted(job)
    return False


def import_job_enqueue(job_id: int, task_id: str) -> bool:
    """Send the job to the worker; when the broker (Redis) cannot be reached, mark the job failed
    with a message that says it can be retried, and return False. The file stays stored.

    `ignore_result`: the job row is the result; with Redis down, subscribing to a result would
    make the sender wait for the result store's reconnection attempts (about 20 s) instead of
    failing at once.
    """
    try:
        roster_import_job.apply_async((job_id,), task_id=task_id, ignore_result=True)
    except BrokerUnavailable as exc:
        log.warning("import job %s: the task queue is unavailable (%s); marked failed, retryable",
                    job_id, type(exc).__name__)
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status != ImportJob.Status.QUEUED or job.task_id != task_id:
                return False  # retried or run meanwhile
            _finish(job, ImportJob.Status.FAILED,
                    errors=[{"row": 0, "column": "", "value": "", "reason": ENQUEUE_FAILED}],
                    summary={**job.summary, "message": ENQUEUE_FAILED, "enqueue_failed": True})
        return False
    return True


def import_job_retry(job_id: int) -> ImportJob | None:
    """Make a failed, stuck or interrupted job ready to be confirmed again (the stored file, the
    same year and township); None when it is not retryable (running, done, invalid)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if not import_job_retryable(job):
            return None
        summary = {key: value for key, value in (job.summary or {}).items()
                   if key in {"plan", "preview"}}
        summary["retries"] = (job.summary or {}).get("retries", 0) + 1
        job.status = ImportJob.Status.READY
        job.errors = []
        job.summary = summary
        job.processed_rows = 0
        job.finished_at = None
        job.task_id = ""
        job.save(update_fields=["status", "errors", "summary", "processed_rows", "finished_at", "task_id"])
    cache.delete(progress_key(job.pk))
    jobs.forget(job_name(job.pk))
    return job


def new_task_id() -> str:
    return str(uuid.uuid4())


@shared_task(name="enrollment.roster_import_job")
def roster_import_job(job_id: int) -> str:
    """Run a confirmed browser roster import in the worker; returns the job's final status."""
    import_job_run(job_id)
    return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)


def redeliver_max() -> int:
    return int(getattr(settings, "JOB_REDELIVER_MAX", 3))


def import_job_redeliver(job_id: int) -> str:
    """Hand an interrupted job out again: "redelivered" (queued under a new task id, sent to the
    worker once committed), "failed" (interrupted JOB_REDELIVER_MAX times already: failed with a
    message, the clerk may retry it), or "" (not interrupted, or another sweep took it).

    Safe when sweeps overlap: the row is locked and skipped by a concurrent sweep (PostgreSQL), and
    the change is made only if the job is still as it was read (its status and task id), which
    holds on every database.
    """
    with transaction.atomic():
        job = (ImportJob.objects.select_for_update(skip_locked=True)
               .filter(pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING]).first())
        if job is None or not import_job_interrupted(job):
            return ""
        summary = dict(job.summary or {})
        count = summary.get("redeliveries", 0)
        # when each interruption was found (by the sweep: the system, not a person)
        summary["interruptions"] = [*summary.get("interruptions", []), timezone.now().isoformat()]
        unchanged = ImportJob.objects.filter(pk=job.pk, status=job.status, task_id=job.task_id)
        if count >= redeliver_max():
            message = GIVEN_UP.format(count=count + 1)
            summary["message"] = message
            if not unchanged.update(
                    status=ImportJob.Status.FAILED, summary=summary, processed_rows=0, finished_at=timezone.now(),
                    errors=[{"row": 0, "column": "", "value": "", "reason": message}]):
                return ""
            outcome, task_id = "failed", ""
        else:
            summary["redeliveries"] = count + 1
            task_id = new_task_id()
            if not unchanged.update(status=ImportJob.Status.QUEUED, task_id=task_id, summary=summary,
                                    processed_rows=0):
                return ""
            outcome = "redelivered"
        # before the task is sent: the dead worker's marks would make the job look interrupted
        # again, and removing them later could remove those of the worker that takes it
        cache.delete(progress_key(job_id))
        jobs.forget(job_name(job_id))
        if task_id:
            transaction.on_commit(lambda: import_job_enqueue(job_id, task_id))
    if outcome == "failed":
        log.warning("import job %s: interrupted %s times, failed (no more automatic redelivery)",
                    job_id, count + 1)
    else:
        log.warning("import job %s: interrupted (its worker stopped), redelivered as task %s (%s of %s)",
                    job_id, task_id, count + 1, redeliver_max())
    return outcome


@shared_task(name="enrollment.import_jobs_redeliver")
def import_jobs_redeliver() -> dict:
    """Periodic (config/celery.py): every interrupted import job is handed out again or failed.
    Returns the ids of each outcome, for the log."""
    outcomes: dict[str, list[int]] = {"redelivered": [], "failed": []}
    pending = ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING])
    for job_id in pending.order_by("pk").values_list("pk", flat=True):
        outcome = import_job_redeliver(job_id)
        if outcome:
            outcomes[outcome].append(job_id)
    return outcomes
