"""XLSX exports of the roster and of the contributions of a year (enrollment.exports).

An export of at most EXPORT_ASYNC_THRESHOLD rows answers at once with the file. A larger one
becomes an ExportJob written by the worker: its page shows a progress bar (polling
`export_job_progress`) and the download link when it is done; the exports page lists the user's
recent jobs. The links of the roster import page (GET) still answer small exports with the file;
for a large one they lead to the exports page, whose button (POST) starts the job.

A township clerk exports their township only; their jobs carry the township, and the jobs and
files of other townships are not found (404) for them (ExportJob.objects.for_user).
"""
from __future__ import annotations

import io

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import capability_required
from accounts.scoping import is_county_wide
from core.xlsx import XLSX, xlsx_response
from enrollment.exports import (
    export_job_create,
    export_job_retry,
    export_job_retryable,
    file_name,
    progress_read,
    row_count,
    write_export,
)
from enrollment.models import ExportJob

RECENT_JOBS = 20


def _year(raw: str) -> int | None:
    if raw == "":
        return timezone.localdate().year
    try:
        year = int(raw)
    except ValueError:
        return None
    return year if 2000 <= year <= 2100 else None


def _township(user):
    """The township an export of `user` is limited to; None: the whole county."""
    return None if is_county_wide(user) else user.township


def _jobs(user):
    return ExportJob.objects.for_user(user).select_related("created_by", "township")


def _export(request, kind: str):
    """Small: the file now. Large: a job (POST), or the exports page offering to start one (GET)."""
    year = _year(request.POST.get("year", "") if request.method == "POST" else request.GET.get("year", ""))
    if year is None:
        return HttpResponseBadRequest(_("年度不正确"))
    township = _township(request.user)
    township_id = township.pk if township else None
    rows = row_count(kind, year, township_id)
    if rows <= settings.EXPORT_ASYNC_THRESHOLD:
        out = io.BytesIO()
        write_export(out, kind, year, township_id)
        return xlsx_response(out.getvalue(), file_name(kind, year))
    if request.method == "GET":
        return _exports_page(request, offer={"kind": kind, "year": year, "rows": rows})
    job = export_job_create(kind=kind, year=year, user=request.user, township=township)
    job.refresh_from_db()  # the queue may have been down: the job says so
    if job.status == ExportJob.Status.FAILED:
        messages.error(request, job.message)
    else:
        messages.success(request, _("导出有 %(rows)s 行，已转入后台生成；本页显示进度，完成后可下载")
                         % {"rows": rows})
    return redirect("enrollment:export_job_detail", pk=job.pk)


@capability_required("enrollment.export")
@require_http_methods(["GET", "POST"])
def roster_export(request):
    """The roster of the user's scope for a year, in the contract's format (imports again)."""
    return _export(request, ExportJob.Kind.ROSTER)


@capability_required("enrollment.export")
@require_http_methods(["GET", "POST"])
def enrollment_export(request):
    """The contributions of a year in the user's scope."""
    return _export(request, ExportJob.Kind.ENROLLMENTS)


def _exports_page(request, *, offer: dict | None = None):
    return render(request, "enrollment/exports.html", {
        "jobs": _jobs(request.user).filter(created_by=request.user)[:RECENT_JOBS],
        "year": offer["year"] if offer else timezone.localdate().year,
        "offer": offer,
        "offer_kind": ExportJob.Kind(offer["kind"]).label if offer else "",
        "threshold": settings.EXPORT_ASYNC_THRESHOLD,
        "township": _township(request.user),
    })


@capability_required("enrollment.export")
@require_GET
def exports(request):
    """The export buttons and the user's recent export jobs."""
    return _exports_page(request)


@capability_required("enrollment.export")
@require_http_methods(["GET", "POST"])
def export_job_detail(request, pk: int):
    """A job: its progress while it runs, the download link when done, a retry when it failed."""
    job = get_object_or_404(_jobs(request.user), pk=pk)
    if request.method == "POST":
        retried = export_job_retry(job.pk)
        if retried is None:
            messages.info(request, _("该导出正在进行或已完成，不能重新导出（状态：%(status)s）")
                          % {"status": job.get_status_display()})
        else:
            retried.refresh_from_db()
            if retried.status == ExportJob.Status.FAILED:
                messages.error(request, retried.message)
            else:
                messages.success(request, _("已重新提交导出"))
        return redirect("enrollment:export_job_detail", pk=job.pk)
    retryable = export_job_retryable(job)
    return render(request, "enrollment/export_detail.html", {
        "job": job,
        "progress": progress_read(job),
        "running": job.status in {ExportJob.Status.QUEUED, ExportJob.Status.RUNNING},
        # "running" that no worker writes (PostgreSQL knows): its worker died
        "interrupted": job.status == ExportJob.Status.RUNNING and retryable,
        "retryable": retryable,
    })


@capability_required("enrollment.export")
@require_GET
def export_job_progress(request, pk: int):
    """JSON progress of a job, polled every second by the job page while it runs."""
    job = get_object_or_404(_jobs(request.user), pk=pk)
    data = progress_read(job)
    if job.status == ExportJob.Status.DONE:
        data["download_url"] = request.build_absolute_uri(
            redirect("enrollment:export_job_download", pk=job.pk).url)
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


@capability_required("enrollment.export")
@require_GET
def export_job_download(request, pk: int):
    """The file of a done job of the user's scope (another township's job: 404)."""
    job = get_object_or_404(_jobs(request.user), pk=pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404(_("文件还没有生成"))
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("文件已不存在，请重新导出")) from None
    return FileResponse(handle, as_attachment=True, filename=job.download_name, content_type=XLSX)
