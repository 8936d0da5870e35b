"""Roster import in the browser (upload → preview with the row errors → confirm) and its templates.

The upload is stored as an ImportJob and validated at once (`roster_import(dry_run=True)`), so
the clerk sees every invalid row before anything is written. On confirm a small file imports in
the request; a file of more than ROSTER_ASYNC_THRESHOLD rows goes to the Celery task
`roster_import_job`, and the job page shows a progress bar fed by `roster_import_progress`.
A township clerk's job carries the clerk's township: rows of other townships are refused, and the
clerk sees only the jobs of their township (ImportJob.objects.for_user).
"""
from __future__ import annotations

import csv
import io
import os
import zipfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from accounts.roles import capability_required
from core.errors import NcmsError
from core.tabular import _cell_text, _decode
from core.uploads import roster_file_kind
from core.xlsx import xlsx_response
from enrollment import roster
from enrollment.models import ImportJob
from enrollment.roster import RosterInvalid
from enrollment.roster.columns import FIELDS
from enrollment.tasks import (
    error_groups_as_json,
    errors_as_json,
    import_job_enqueue,
    import_job_retry,
    import_job_retryable,
    import_job_run,
    new_task_id,
    progress_read,
    progress_write,
    redeliver_max,
)

PREVIEW_ROWS = 5
SHOWN_ERRORS = 200  # the detailed list; the groups above it count every error


class RosterUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("花名册文件（CSV 或 XLSX）"))
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2000, max_value=2100)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.ROSTER_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("文件太大（%(size)s），最大只能上传 %(limit)s；请按村分成几个文件分别导入")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        try:  # by its content, not its name (core.uploads): nothing is stored when refused
            roster_file_kind(upload)
        except NcmsError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload


# What each column of the roster holds (docs/contract.md, "Roster file"), as the import page lists it.
COLUMN_NOTES = {
    "village_code": gettext_lazy("12位村代码，须是本乡镇已有的村"),
    "household_no": gettext_lazy("全县唯一；按村代码加4位序号编号，例如 4201021002010001"),
    "head_id_number": gettext_lazy("户主的身份证号；户主本人也要占一行"),
    "name": gettext_lazy("1–30个字"),
    "id_number": gettext_lazy("18位，按国家标准校验；请把该列设置为文本格式"),
    "sex": gettext_lazy("男/女（或 M/F）；可不填，按身份证号自动填写，填了须与身份证号一致"),
    "birth_date": gettext_lazy("如 1990-01-31；可不填，按身份证号自动填写，填了须与身份证号一致"),
    "relation": gettext_lazy("户主、配偶、子、女、父母、孙子女、其他"),
    "category": gettext_lazy("普通、五保、低保、贫困"),
    "phone": gettext_lazy("可不填"),
    "contribution": gettext_lazy("未缴费不填；填写时须等于本年度补偿方案规定的个人缴费"),
    "paid_date": gettext_lazy("填写缴费金额时必填"),
    "receipt_no": gettext_lazy("填写缴费金额时必填；每个收据号每年只能用一次"),
    "status": gettext_lazy("可不填：在册、死亡、迁出本县；不填则保持已登记的状态（新成员为在册）"),
    "status_date": gettext_lazy("死亡或迁出本县时必填；不能晚于今天，不能早于出生日期"),
    "status_reason": gettext_lazy("可不填；最多200个字"),
}


def roster_columns() -> list[dict]:
    """The roster's columns in the file's order: Chinese and English header, required, what it holds."""
    return [{"zh": zh, "en": en, "required": required, "note": COLUMN_NOTES[field]}
            for field, zh, en, required in FIELDS]


def _jobs(user):
    return ImportJob.objects.for_user(user).select_related("created_by", "township")


@capability_required("enrollment.import")
@require_http_methods(["GET", "POST"])
def roster_import(request):
    """Upload a roster file: store it as a job, validate it (nothing written), show the preview."""
    if request.method == "POST":
        form = RosterUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            job = ImportJob.objects.create(
                year=form.cleaned_data["year"], file=upload, original_name=os.path.basename(upload.name)[:200],
                created_by=request.user, township=request.user.township,
                status=ImportJob.Status.VALIDATING,
            )
            _validate(job)
            return redirect("enrollment:roster_import_detail", pk=job.pk)
    else:
        form = RosterUploadForm(initial={"year": timezone.localdate().year})
    return render(request, "enrollment/import.html", {
        "form": form,
        "columns": roster_columns(),
        "jobs": _jobs(request.user)[:20],
        "threshold": settings.ROSTER_ASYNC_THRESHOLD,
        "max_bytes": settings.ROSTER_UPLOAD_MAX_BYTES,
    })


def _validate(job: ImportJob) -> None:
    """Dry run of the stored file: READY with what would change and a few rows, or INVALID."""
    with job.file.open("rb") as handle:
        data = handle.read()
    preview = _preview(data, job.original_name)
    try:
        plan = roster.roster_import(data=data, filename=job.original_name, year=job.year,
                             township=job.township_id, dry_run=True)
    except RosterInvalid as exc:
        job.status = ImportJob.Status.INVALID
        job.errors = errors_as_json(exc.errors)
        job.summary = {"error_count": len(exc.errors), "message": exc.message, "preview": preview,
                       "groups": error_groups_as_json(exc.errors)}
    except NcmsError as exc:
        job.status = ImportJob.Status.INVALID
        job.errors = [{"row": 0, "column": "", "value": "", "reason": exc.message}]
        job.summary = {"error_count": 1, "message": exc.message, "preview": preview}
    else:
        job.status = ImportJob.Status.READY
        job.total_rows = plan.rows
        job.summary = {"plan": plan.as_dict(), "preview": preview}
    job.save(update_fields=["status", "errors", "summary", "total_rows"])


def _preview(data: bytes, filename: str) -> dict:
    """The header and first rows of the file as the clerk typed them (read cheaply, never whole)."""
    try:
        if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                rows = [[_cell_text(v) for v in row] for row in
                        workbook.worksheets[0].iter_rows(max_row=PREVIEW_ROWS + 1, values_only=True)]
            finally:
                workbook.close()
        else:
            text, _encoding = _decode(data)
            reader = csv.reader(io.StringIO(text, newline=""))
            rows = [row for _i, row in zip(range(PREVIEW_ROWS + 1), reader)]
    except (NcmsError, ValueError, KeyError, OSError, zipfile.BadZipFile, InvalidFileException):
        # the dry run tells the clerk why the file cannot be read; the preview just stays empty
        return {"headers": [], "rows": []}
    rows = [[str(cell) for cell in row] for row in rows]
    if not rows:
        return {"headers": [], "rows": []}
    return {"headers": rows[0], "rows": rows[1:]}


@capability_required("enrollment.import")
@require_http_methods(["GET", "POST"])
def roster_import_detail(request, pk: int):
    """The job page: errors, or the preview and the confirm button, or progress, or the result."""
    job = get_object_or_404(_jobs(request.user), pk=pk)
    if request.method == "POST":
        if request.POST.get("retry"):
            return _retry(request, job)
        return _confirm(request, job)
    summary = job.summary or {}
    shown_errors = job.errors[:SHOWN_ERRORS]
    error_count = summary.get("error_count", len(job.errors))
    groups = summary.get("groups")
    if groups is None:  # a job validated before the groups were stored: group what it kept
        groups = error_groups_as_json(job.errors)
    progress = progress_read(job)
    interrupted = progress["interrupted"]
    context = {
        "job": job,
        "plan": summary.get("plan"),
        "result": summary.get("result"),
        "preview": summary.get("preview") or {"headers": [], "rows": []},
        "errors": shown_errors,
        "error_count": error_count,
        "errors_cut": error_count > len(shown_errors),
        "errors_more": max(error_count - len(shown_errors), 0),
        "groups": groups if any(group["count"] > 1 for group in groups) else [],
        "message": summary.get("message", ""),
        "progress": progress,
        "running": job.status in {ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING} and not interrupted,
        "interrupted": interrupted,
        # handed out again by the periodic sweep (config/celery.py) where tasks go to workers
        "redelivery": interrupted and not settings.CELERY_TASK_ALWAYS_EAGER
        and summary.get("redeliveries", 0) < redeliver_max(),
        "redeliveries": summary.get("redeliveries", 0),
        "redeliver_max": redeliver_max(),
        "retryable": import_job_retryable(job),
        "background": job.total_rows > settings.ROSTER_ASYNC_THRESHOLD,
        "threshold": settings.ROSTER_ASYNC_THRESHOLD,
    }
    return render(request, "enrollment/import_detail.html", context)


def _confirm(request, job: ImportJob):
    """Confirm a validated job: import now (small file) or enqueue the task (large file)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportJob.Status.READY:
            # a second click, or a job that is not valid: nothing more to start
            messages.info(request, _("该导入已提交过或不能导入（状态：%(status)s）")
                          % {"status": job.get_status_display()})
            return redirect("enrollment:roster_import_detail", pk=job.pk)
        background = job.total_rows > settings.ROSTER_ASYNC_THRESHOLD
        if background:
            job.status = ImportJob.Status.QUEUED
            job.task_id = new_task_id()
            job.save(update_fields=["status", "task_id"])
            task_id = job.task_id
            job_id = job.pk
            enqueued = []
            transaction.on_commit(lambda: enqueued.append(import_job_enqueue(job_id, task_id)))
    if background:
        if enqueued == [False]:
            # the queue (Redis) is down: the job says so and keeps its file for a retry
            messages.error(request, _("后台任务队列暂时不可用，导入没有开始，未导入任何数据；"
                                      "文件已保存，请稍后点击“重新导入”"))
            return redirect("enrollment:roster_import_detail", pk=job.pk)
        progress_write(job.pk, done=0, total=job.total_rows, status=ImportJob.Status.QUEUED)
        messages.success(request, _("文件较大，已转入后台导入；本页显示导入进度"))
        return redirect("enrollment:roster_import_detail", pk=job.pk)
    import_job_run(job.pk)
    job.refresh_from_db()
    if job.status == ImportJob.Status.DONE:
        messages.success(request, _("花名册已导入"))
    else:
        messages.error(request, _("花名册未导入，见下方原因"))
    return redirect("enrollment:roster_import_detail", pk=job.pk)


def _retry(request, job: ImportJob):
    """Run a failed, stuck or interrupted job again from its stored file: it becomes ready and is
    confirmed again (in the request or in the worker, by its size). Nothing of the failed run was
    written (the import is one transaction), so the retry imports the whole file once."""
    retried = import_job_retry(job.pk)
    if retried is None:
        messages.info(request, _("该导入正在进行或已结束，不能重新导入（状态：%(status)s）")
                      % {"status": job.get_status_display()})
        return redirect("enrollment:roster_import_detail", pk=job.pk)
    return _confirm(request, retried)


TEMPLATE_FORMATS = ("csv", "xlsx")


@capability_required("enrollment.import")
@require_GET
def roster_template(request, fmt: str):
    """An empty roster with the header row in Chinese (the contract's columns, in its order), as
    CSV (UTF-8 with BOM, so Excel reads the Chinese) or XLSX with the ID columns formatted as text."""
    if fmt not in TEMPLATE_FORMATS:
        return HttpResponseBadRequest(_("模板格式只能是 csv 或 xlsx"))
    headers = [zh for _field, zh, _en, _required in FIELDS]
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(headers)
        response = HttpResponse(("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="roster-template.csv"'
        return response
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    sheet.append(headers)
    text_columns = {"village_code", "household_no", "head_id_number", "id_number", "phone", "receipt_no"}
    for position, (field, _zh, _en, _required) in enumerate(FIELDS, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = 20 if field in text_columns else 12
        if field in text_columns:  # typed IDs stay text (Excel would turn an 18-digit ID into 4.2E+17)
            for row in range(2, 1001):
                sheet.cell(row=row, column=position).number_format = "@"
    out = io.BytesIO()
    workbook.save(out)
    return xlsx_response(out.getvalue(), "roster-template.xlsx")


@capability_required("enrollment.import")
@require_GET
def roster_import_progress(request, pk: int):
    """JSON progress of a job, polled every second by the job page while it runs."""
    job = get_object_or_404(_jobs(request.user), pk=pk)
    response = JsonResponse(progress_read(job))
    response["Cache-Control"] = "no-store"
    return response


