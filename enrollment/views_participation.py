"""Participation (参合率) pages: per village, township and county against the 95% target.

Thin views over enrollment.selectors.participation_report, which applies the user's scope: a
township clerk sees their township's villages and township row, county roles everything.
"""
from decimal import Decimal

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import capability_required
from core.tabular import text_cell
from core.xlsx import xlsx_response
from enrollment.selectors import PARTICIPATION_TARGET, participation_report, participation_years
from places.models import Township


def _year_and_township(request):
    """The requested year (default: newest year with data, else this year) and township filter."""
    years = participation_years()
    try:
        year = int(request.GET.get("year") or (years[0] if years else timezone.localdate().year))
    except ValueError:
        year = years[0] if years else timezone.localdate().year
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    township = None
    code = (request.GET.get("township") or "").strip()
    if code:
        township = get_object_or_404(Township.objects.for_user(request.user), code=code)
    return year, years, township


@capability_required("participation.view")
def participation(request):
    year, years, township = _year_and_township(request)
    report = participation_report(user=request.user, year=year, township=township)
    context = {
        "report": report,
        "over_population": [row for row in report.villages if row.above_population],
        "year": year,
        "years": years,
        "township": township,
        "townships": Township.objects.for_user(request.user),
        "target_percent": (PARTICIPATION_TARGET * 100).quantize(Decimal("0.01")),
    }
    return render(request, "enrollment/participation.html", context)


def _level_label(level: str) -> str:
    return {"county": _("全县"), "township": _("乡镇"), "village": _("村")}[level]


@capability_required("participation.view")
def participation_export(request):
    """The same report as XLSX with Chinese headers; rates as exact decimals shown as percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    year, _years, township = _year_and_township(request)
    report = participation_report(user=request.user, year=year, township=township)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{year}参合率"
    headers = [_("级别"), _("乡镇代码"), _("乡镇"), _("村代码"), _("村"), _("农业人口"), _("参合人数"),
               _("参合率"), _("目标人数"), _("距目标还差"), _("是否达标")]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.rows:
        sheet.append([
            _level_label(row.level), text_cell(row.township_code), text_cell(row.township_name),
            text_cell(row.village_code), text_cell(row.village_name), row.population, row.participants, row.rate, row.needed, row.gap,
            "" if row.rate is None else (_("否") if row.below_target else _("是")),
        ])
    for cells in sheet.iter_rows(min_row=2, min_col=8, max_col=8):
        cells[0].number_format = "0.00%"
    for column, width in zip("ABCDEFGHIJK", (8, 12, 14, 15, 14, 10, 10, 10, 10, 11, 9)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    return xlsx_response(workbook, f"participation-{year}{'-' + township.code if township else ''}.xlsx")
