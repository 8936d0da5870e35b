"""XLSX exports of the roster and of the contributions of a year, in the request or as a job.

The rows are read as plain values (`values_list` through a server-side cursor on PostgreSQL, in
chunks), the Chinese words of the codes are chosen by the database (CASE), and the file is written
by `core.xlsx.XlsxSheet`, which streams it: a county of 300,000 members is written at well above
50,000 rows/s and in constant memory (bench/exports.py).

The columns and their order are the contract's roster file (`ROSTER_HEADERS`, the headers that
`enrollment.roster` reads back, so an exported roster imports again unchanged) and the list of
contributions (`ENROLLMENT_HEADERS`); `enrollment.resources` keeps the same columns for
django-import-export.

An export of at most EXPORT_ASYNC_THRESHOLD rows answers in the request; a larger one is an
`ExportJob` run by the Celery task `export_job` (enqueue with `export_job_enqueue` from
`transaction.on_commit`): the job page shows its progress (published through the cache by
`progress_write`) and the download link when it is done.

The task is safe to run again: a done job is left alone; a job whose run died (worker killed,
connection lost) starts over from scratch, since nothing of it is kept until the file is stored.
While a worker writes a job it holds a session advisory lock on it (PostgreSQL), so a second
delivery of the same task does not write it twice at once.
"""
from __future__ import annotations

import itertools
import logging
import tempfile
import uuid
from contextlib import contextmanager

import psycopg
from celery import shared_task
from django.core.cache import cache
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, CharField, F, FilteredRelation, Func, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from core.jobs import advisory_lock_held, progress_figures, progress_publish
from core.jobs import progress_key as progress_key_of
from core.xlsx import DATE, MONEY, TEXT, XlsxSheet
from enrollment.models import Enrollment, ExportJob, Member
from enrollment.resources import CATEGORY_WORDS, PAYER_WORDS, RELATION_WORDS, SEX_WORDS, STATUS_WORDS

log = logging.getLogger(__name__)

ROSTER_HEADERS = ["村代码", "户号", "户主身份证号", "姓名", "身份证号", "性别", "出生日期", "与户主关系",
                  "人员类别", "联系电话", "缴费金额", "缴费日期", "收据号", "人员状态", "状态日期", "状态原因"]
ROSTER_KINDS = [TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, DATE, TEXT, TEXT, TEXT, MONEY, DATE, TEXT, TEXT, DATE, TEXT]
ENROLLMENT_HEADERS = ["村", "户号", "姓名", "身份证号", "年度", "缴费金额", "收据号", "缴费日期", "缴费方式"]
ENROLLMENT_KINDS = [TEXT, TEXT, TEXT, TEXT, TEXT, MONEY, TEXT, DATE, TEXT]

CHUNK = 10_000  # rows fetched from the server-side cursor, written, then published as progress
EXPORT_LOCK_CLASS = 70702  # first key of the advisory lock held while a job is written (second: its id)
ENQUEUE_FAILED = "后台任务队列暂时不可用，导出没有开始；请稍后点击“重新导出”"
RUN_FAILED = "导出时发生系统错误，没有生成文件；可以重新导出，仍失败请联系系统管理员"
FINISHED = {ExportJob.Status.DONE, ExportJob.Status.FAILED}


def _words(field: str, words: dict) -> Case:
    """The Chinese word of a code, chosen by the database (the contract's spellings)."""
    return Case(*[When(**{field: code}, then=Value(word)) for code, word in words.items()],
                default=F(field), output_field=CharField())


class DayNumber(Func):
    """A date as the text of its spreadsheet day number (core.xlsx), NULL for NULL. PostgreSQL."""

    template = "((%(expressions)s) - DATE '1899-12-30')::text"
    output_field = CharField()


class AmountText(Func):
    """An amount as its decimal text with its two places ("380.00"), NULL for NULL. PostgreSQL:
    numeric to text is exact (never a float)."""

    template = "(%(expressions)s)::text"
    output_field = CharField()


def _day(field: str, rendered: bool):
    return Coalesce(DayNumber(F(field)), Value("")) if rendered else F(field)


def _amount(field: str, rendered: bool):
    return Coalesce(AmountText(F(field)), Value("")) if rendered else F(field)


def _width(title: str) -> int:
    return 22 if "身份证" in title else 14


# --- the rows ----------------------------------------------------------------------------------

def roster_queryset(year: int, township_id: int | None, *, rendered: bool = False):
    """One row per member of the scope: the contract's roster columns, the year's contribution.
    `rendered` (PostgreSQL): the dates and amounts come as the text the sheet holds (every
    value a str), so neither psycopg nor the writer builds a date or a Decimal per cell."""
    members = Member.objects.all()
    if township_id is not None:
        members = members.filter(household__village__township_id=township_id)
    return (
        members.annotate(year_enrollment=FilteredRelation("enrollments", condition=Q(enrollments__year=year)))
        .order_by("household__village__code", "household__number", "id")
        .values_list(
            "household__village__code", "household__number",
            Coalesce("household__head__id_number", Value("")), "name", "id_number",
            _words("sex", SEX_WORDS), _day("birth_date", rendered), _words("relation", RELATION_WORDS),
            _words("category", CATEGORY_WORDS), "phone", _amount("year_enrollment__contribution", rendered),
            _day("year_enrollment__paid_date", rendered), Coalesce("year_enrollment__receipt_no", Value("")),
            _words("status", STATUS_WORDS), _day("status_date", rendered), "status_reason",
        )
    )


def enrollment_queryset(year: int, township_id: int | None, *, rendered: bool = False):
    """The contributions of the year in the scope, by village, household and member
    (`rendered`: as in roster_queryset)."""
    enrollments = Enrollment.objects.filter(year=year)
    if township_id is not None:
        enrollments = enrollments.filter(member__household__village__township_id=township_id)
    return (
        enrollments.order_by("member__household__village__code", "member__household__number", "member_id")
        .values_list(
            "member__household__village__name", "member__household__number", "member__name",
            "member__id_number", Value(str(year)), _amount("contribution", rendered), "receipt_no",
            _day("paid_date", rendered),
            _words("payer", PAYER_WORDS),
        )
    )


def row_count(kind: str, year: int, township_id: int | None) -> int:
    """How many data rows the export has (decides between the request and a job)."""
    if kind == ExportJob.Kind.ROSTER:
        members = Member.objects.all()
        if township_id is not None:
            members = members.filter(household__village__township_id=township_id)
        return members.count()
    enrollments = Enrollment.objects.filter(year=year)
    if township_id is not None:
        enrollments = enrollments.filter(member__household__village__township_id=township_id)
    return enrollments.count()


def sheet_title(kind: str, year: int) -> str:
    return f"花名册{year}" if kind == ExportJob.Kind.ROSTER else f"参合缴费{year}"


def file_name(kind: str, year: int) -> str:
    return f"roster-{year}.xlsx" if kind == ExportJob.Kind.ROSTER else f"enrollments-{year}.xlsx"


def write_export(out, kind: str, year: int, township_id: int | None, *, progress=None) -> int:
    """Write the export as XLSX to the binary file `out`; returns the number of data rows.
    `progress(done)` is called after each chunk of CHUNK rows."""
    if kind == ExportJob.Kind.ROSTER:
        headers, kinds = ROSTER_HEADERS, ROSTER_KINDS
    else:
        headers, kinds = ENROLLMENT_HEADERS, ENROLLMENT_KINDS
    rendered = _streams()
    sheet = XlsxSheet(out, title=sheet_title(kind, year), headers=headers, kinds=kinds,
                      widths=[_width(title) for title in headers], rendered=rendered)
    rows = _rows(kind, year, township_id, rendered=rendered)
    done = 0
    try:
        while written := sheet.write_rows(itertools.islice(rows, CHUNK)):
            done += written
            if progress is not None:
                progress(done)
    except BaseException:
        sheet.abandon()
        raise
    finally:
        rows.close()  # a failure midway ends the streamed query, so the connection serves again
    sheet.close()
    return done


def _streams() -> bool:
    """PostgreSQL with a libpq that returns rows in chunks (17 or later): the rows are streamed
    from an ordinary query, which PostgreSQL may run with parallel workers (a cursor's query
    runs in one process, and a 300,000-row roster took twice as long)."""
    return connection.vendor == "postgresql" and psycopg.pq.version() >= 170000


def _rows(kind: str, year: int, township_id: int | None, *, rendered: bool):
    make = roster_queryset if kind == ExportJob.Kind.ROSTER else enrollment_queryset
    queryset = make(year, township_id, rendered=rendered)
    if not rendered:  # a server-side cursor on PostgreSQL, in chunks; SQLite: the whole result
        yield from queryset.iterator(chunk_size=CHUNK)
        return
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        yield from cursor.cursor.stream(sql, params, size=CHUNK)


# --- the job: progress, run, enqueue, retry --------------------------------------------------

def export_job_name(job_id: int) -> str:
    return f"exportjob:{job_id}"


def progress_key(job_id: int) -> str:
    return progress_key_of(export_job_name(job_id))


def progress_write(job_id: int, *, done: int, total: int, status: str) -> None:
    """Publish a job's progress through the cache (core.jobs.progress_publish)."""
    progress_publish(export_job_name(job_id), done=done, total=total, status=status)


def progress_read(job: ExportJob) -> dict:
    """The latest progress of a job: the cache while it runs, the row once it is finished."""
    finished = job.status in FINISHED
    figures = progress_figures(export_job_name(job.pk), status=job.status, finished=finished,
                               complete=job.status == ExportJob.Status.DONE, done=job.processed_rows,
                               total=job.total_rows)
    return {"status": job.status, "status_display": str(job.get_status_display()), **figures, "finished": finished}


def export_job_run(job_id: int) -> None:
    """Write the job's file (in the worker; in the request in embedded mode). A done job is left
    alone; a queued one, or one whose earlier run died ("running" with nobody writing it), is
    written from scratch. While another worker writes the job, nothing is done here."""
    with _job_lock(job_id) as locked:
        if not locked:
            log.info("export job %s is being written by another worker: nothing to do", job_id)
            return
        _export_job_run(job_id)


def _export_job_run(job_id: int) -> None:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status not in {ExportJob.Status.QUEUED, ExportJob.Status.RUNNING}:
            log.info("export job %s is %s: nothing to do", job_id, job.status)
            return
        job.status = ExportJob.Status.RUNNING
        job.processed_rows = 0
        job.runs += 1
        job.started_at = timezone.now()
        job.total_rows = row_count(job.kind, job.year, job.township_id)
        job.save(update_fields=["status", "processed_rows", "runs", "started_at", "total_rows"])
    total = job.total_rows
    progress_write(job.pk, done=0, total=total, status=ExportJob.Status.RUNNING)

    def progress(done: int) -> None:
        progress_write(job.pk, done=done, total=max(total, done), status=ExportJob.Status.RUNNING)

    try:
        with tempfile.TemporaryFile(prefix="ncms-export-") as handle:
            rows = write_export(handle, job.kind, job.year, job.township_id, progress=progress)
            handle.seek(0)
            with transaction.atomic():
                job.file.save(job.download_name, File(handle), save=False)
                job.status = ExportJob.Status.DONE
                job.processed_rows = job.total_rows = rows
                job.message = ""
                job.finished_at = timezone.now()
                job.save(update_fields=["file", "status", "processed_rows", "total_rows", "message",
                                        "finished_at"])
    except Exception:
        log.exception("export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.FAILED, message=RUN_FAILED,
                                                   finished_at=timezone.now())
        cache.delete(progress_key(job_id))
        raise
    cache.delete(progress_key(job_id))


@contextmanager
def _job_lock(job_id: int):
    """Try to take the job's session advisory lock (PostgreSQL); yields whether it was taken.
    The lock dies with the worker's connection, so a job left "running" by a killed worker is
    free to run again. Elsewhere (embedded mode, eager tasks) there is no second worker."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [EXPORT_LOCK_CLASS, job_id])
        locked = cursor.fetchone()[0]
    if not locked:
        yield False
        return
    try:
        yield True
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [EXPORT_LOCK_CLASS, job_id])
        except DatabaseError:
            log.warning("export job %s: connection lost before its lock was released (it goes with it)", job_id)


def export_job_running(job_id: int) -> bool:
    """Whether a worker writes the job now (holds its lock). PostgreSQL only; elsewhere False."""
    return advisory_lock_held((EXPORT_LOCK_CLASS, job_id))


def export_job_retryable(job: ExportJob) -> bool:
    """Failed, still queued (a lost message is harmless to send again: the task finds the job
    done), or "running" with no worker writing it (its worker died; known on PostgreSQL)."""
    if job.status in {ExportJob.Status.FAILED, ExportJob.Status.QUEUED}:
        return True
    if job.status == ExportJob.Status.RUNNING:
        return connection.vendor == "postgresql" and not export_job_running(job.pk)
    return False


def new_task_id() -> str:
    return str(uuid.uuid4())


def export_job_create(*, kind: str, year: int, user, township) -> ExportJob:
    """A queued job of the user's scope, sent to the worker once the transaction commits. When the
    queue (Redis) cannot be reached the job is marked failed and may be retried: never an error."""
    job = ExportJob.objects.create(kind=kind, year=year, township=township, created_by=user,
                                   status=ExportJob.Status.QUEUED, task_id=new_task_id())
    _enqueue_on_commit(job)
    return job


def export_job_retry(job_id: int) -> ExportJob | None:
    """Queue a failed, stuck or interrupted job again (from scratch); None when it is not retryable."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if not export_job_retryable(job):
            return None
        job.status = ExportJob.Status.QUEUED
        job.processed_rows = 0
        job.message = ""
        job.finished_at = None
        job.task_id = new_task_id()
        job.save(update_fields=["status", "processed_rows", "message", "finished_at", "task_id"])
        _enqueue_on_commit(job)
    cache.delete(progress_key(job.pk))
    return job


def _enqueue_on_commit(job: ExportJob) -> None:
    job_id, task_id = job.pk, job.task_id
    transaction.on_commit(lambda: export_job_enqueue(job_id, task_id))


def export_job_enqueue(job_id: int, task_id: str) -> bool:
    """Send the job to the worker; when the broker cannot be reached, mark it failed (retryable)
    and return False. `ignore_result`: the job row is the result (see enrollment.tasks)."""
    try:
        export_job.apply_async((job_id,), task_id=task_id, ignore_result=True)
    except BrokerUnavailable as exc:
        log.warning("export job %s: the task queue is unavailable (%s); marked failed, retryable",
                    job_id, type(exc).__name__)
        ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED, task_id=task_id).update(
            status=ExportJob.Status.FAILED, message=ENQUEUE_FAILED, finished_at=timezone.now())
        return False
    return True


@shared_task(name="enrollment.export_job")
def export_job(job_id: int) -> str:
    """Write a large export in the worker; returns the job's final status."""
    export_job_run(job_id)
    return ExportJob.objects.values_list("status", flat=True).get(pk=job_id)
