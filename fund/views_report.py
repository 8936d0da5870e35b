"""The county dashboard of the monthly fund report (基金运行月报): the report table with a
township drill-down, three charts (matplotlib SVG, no CDN), downloads as XLSX/PDF/JSON, and the
stored versions of the month.

Thin views over fund.report and fund.report_output. The capability `fund.report` opens the
report; what it shows depends on the reader's reach (accounts.scoping): county roles read the
whole county exactly per docs/contract.md, with any township's villages (the drill-down's township
is fetched through `Township.objects.for_user`); a township clerk reads only their township's
report (`fund.report.township_report_figures`: its row, its villages, its charts and the warnings
naming it) on the page and in every download, and asking for another township's villages is 404.
The stored versions hold the whole county: `fund.report_stored`, county roles only.
"""
import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import capability_required, user_can
from accounts.scoping import is_county_wide
from core.errors import NcmsError
from core.xlsx import XLSX
from places.models import Township

from . import report_output
from .models import FundReport
from .report import (
    monthly_report_figures,
    to_contract_json,
    township_drilldown,
    township_report_figures,
    township_report_json,
    villages_above_population,
)

DRILL_COLUMNS = ["population", "participants", "participation_rate", "admissions", "admissions_ytd",
                 "total_cost_ytd", "compensation", "compensation_ytd", "avg_cost_per_admission",
                 "compensation_ratio", "beneficiary_rate"]


def _period(request) -> tuple[int, int]:
    """?year=&month= (default: this month, county time); bad values fall back to the default."""
    today = timezone.localdate()
    source = request.POST if request.method == "POST" else request.GET
    try:
        year = int(source.get("year") or today.year)
        month = int(source.get("month") or today.month)
    except ValueError:
        return today.year, today.month
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return today.year, today.month
    return year, month


def _own_township(request) -> Township | None:
    """The township whose report the reader gets instead of the county's: a township clerk's own
    (404 if asked for another's, or if they have none); None for county roles."""
    if is_county_wide(request.user):
        return None
    township = get_object_or_404(Township.objects.for_user(request.user), pk=request.user.township_id)
    code = (request.GET.get("township") or "").strip()
    if code and code != township.code:
        raise Http404
    return township


def _township_dashboard(request, township: Township, year: int, month: int):
    figures = township_report_figures(year=year, month=month, township=township)
    svgs = report_output.township_charts(figures, township)
    return render(request, "fund/dashboard.html", {
        "year": year, "month": month, "months": range(1, 13), "scoped": township,
        "figures": figures, "table": report_output.report_table(figures),
        "villages": report_output.display_villages(figures), "village_headers": report_output.village_headers(),
        "charts": {name: mark_safe(svg) for name, svg in svgs.items()},  # our own matplotlib output
        "over_population": villages_above_population(year=year, month=month, township=township),
        "warnings": report_output.display_warnings(figures),
    })


@capability_required("fund.report")
def dashboard(request):
    year, month = _period(request)
    own = _own_township(request)
    if own is not None:
        return _township_dashboard(request, own, year, month)
    figures = monthly_report_figures(year=year, month=month)
    township = drill = None
    code = (request.GET.get("township") or "").strip()
    if code:
        township = get_object_or_404(Township.objects.for_user(request.user), code=code)
        drill = [
            {"code": row["village"], "name": row["name"],
             "cells": [report_output._cell(key, row[key]) for key in DRILL_COLUMNS]}
            for row in township_drilldown(year=year, month=month, township=township)
        ]
    svgs = report_output.charts(figures)
    context = {
        "year": year, "month": month, "months": range(1, 13),
        "figures": figures, "table": report_output.report_table(figures),
        "charts": {name: mark_safe(svg) for name, svg in svgs.items()},  # our own matplotlib output
        "township": township, "drill": drill,
        "drill_headers": [(key, dict(report_output.table_headers())[key]) for key in DRILL_COLUMNS],
        "stored": FundReport.objects.filter(year=year, month=month).order_by("-version"),
        "can_read_stored": user_can(request.user, "fund.report_stored"),
        "can_store": user_can(request.user, "fund.report_store"),
        "over_population": villages_above_population(year=year, month=month),
        "warnings": report_output.display_warnings(figures),
    }
    return render(request, "fund/dashboard.html", context)


@capability_required("fund.report")
def report_download(request, fmt: str):
    if fmt not in ("xlsx", "pdf", "json"):
        raise Http404
    year, month = _period(request)
    own = _own_township(request)
    if own is None:
        figures = monthly_report_figures(year=year, month=month)
        name = f"fund-report-{year}-{month:02d}"
        data = to_contract_json(figures)
    else:
        figures = township_report_figures(year=year, month=month, township=own)
        name = f"fund-report-{year}-{month:02d}-{own.code}"
        data = township_report_json(figures)
    if fmt == "xlsx":
        response = HttpResponse(report_output.report_xlsx(figures), content_type=XLSX)
    elif fmt == "pdf":
        response = HttpResponse(report_output.report_pdf(figures, base_url=request.build_absolute_uri("/"),
                                                         township=own),
                                content_type="application/pdf")
    else:
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@require_POST
@capability_required("fund.report_store")
def report_store(request):
    from .report import fund_report_store

    year, month = _period(request)
    try:
        stored = fund_report_store(year=year, month=month, user=request.user)
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已保存 %(year)s年%(month)s月基金运行月报第 %(version)s 版")
                         % {"year": year, "month": month, "version": stored.version})
    return redirect(f"{reverse('fund_report:dashboard')}?year={year}&month={month}")


@capability_required("fund.report_stored")
def stored_report(request, pk: int):
    """A stored version exactly as stored (the contract's JSON)."""
    stored = get_object_or_404(FundReport.objects.all(), pk=pk)
    response = HttpResponse(json.dumps(stored.data, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="fund-report-{stored.year}-{stored.month:02d}-v{stored.version}.json"')
    return response

