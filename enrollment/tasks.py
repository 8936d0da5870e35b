"""Celery tasks of enrollment: the browser roster import of large files.

`roster_import_job(job_id)` takes an id, loads the ImportJob and runs `roster_import` on its file.
It is safe to run twice: a job already done does nothing, and a job whose first run died midway
runs again (the import is all-or-nothing, and importing the same rows again changes nothing).
Enqueue it with `transaction.on_commit` so the worker sees the job row.
"""
from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from enrollment.models import ImportJob
from enrollment.roster import RosterInvalid, roster_import
from ncms.errors import NcmsError

log = logging.getLogger(__name__)

PROGRESS_TIMEOUT = 60 * 60 * 24
MAX_STORED_ERRORS = 1000
RUNNABLE = {ImportJob.Status.READY, ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING}


def progress_key(job_id: int) -> str:
    return f"importjob:{job_id}:progress"


def progress_write(job_id: int, *, done: int, total: int, status: str) -> None:
    """Publish progress through the cache (Redis when set): visible at once to every process.

    The job row gets the same figures too, but inside the import's transaction, so other
    connections see them only at the end; the progress endpoint reads the cache first.
    """
    percent = min(100, done * 100 // total) if total else 0
    cache.set(progress_key(job_id), {"done": done, "total": total, "percent": percent,
                                     "status": status}, PROGRESS_TIMEOUT)


def progress_read(job: ImportJob) -> dict:
    """The latest progress of a job: the cache while it runs, the row once it is finished."""
    finished = job.status in {ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.INVALID}
    cached = None if finished else cache.get(progress_key(job.pk))
    if cached and cached.get("status") == job.status:
        done, total = cached["done"], cached["total"]
    else:
        done, total = job.processed_rows, job.total_rows
    if job.status == ImportJob.Status.DONE:
        done = total
    percent = min(100, done * 100 // total) if total else (100 if job.status == ImportJob.Status.DONE else 0)
    return {"status": job.status, "status_display": str(job.get_status_display()), "done": done,
            "total": total, "percent": percent, "finished": finished}


def errors_as_json(errors) -> list[dict]:
    return [{"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in errors[:MAX_STORED_ERRORS]]


def import_job_run(job_id: int) -> None:
    """Import the file of a confirmed ImportJob (from the worker, or in the request for small files).

    Scheme rule: a township clerk's upload carries the clerk's township, and `roster_import`
    refuses rows of villages outside it.
    """
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
        progress_write(job.pk, done=done, total=total, status=ImportJob.Status.IMPORTING)
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total)

    with job.file.open("rb") as handle:
        data = handle.read()
    try:
        summary = roster_import(data=data, filename=job.original_name, year=job.year,
                                user=job.created_by, township=job.township_id, progress=progress)
    except RosterInvalid as exc:
        # the database changed since the preview (someone else imported): refused whole
        _finish(job, ImportJob.Status.INVALID, errors=errors_as_json(exc.errors),
                summary={**job.summary, "error_count": len(exc.errors), "message": exc.message})
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


@shared_task(name="enrollment.roster_import_job")
def roster_import_job(job_id: int) -> str:
    """Run a confirmed browser roster import in the worker; returns the job's final status."""
    import_job_run(job_id)
    return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)
