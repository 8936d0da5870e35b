"""Facility oversight pages: one facility's scorecard (12 months of indicators as a table and
charts, its flagged claims, XLSX export) and the county ranking with the suspension-review list.

Scorecard: capability facilities.view_own (county roles; a township clerk for the facilities
located in their township; a facility clerk for their own facility: any other facility's
scorecard is 404 through Facility.objects.for_user). Its flagged claims are those the reader
reaches (the claims of Claim.objects.for_user): a township clerk sees their own township's patients by name
and the other patients' flags only as a count. Ranking: facilities.view (county roles, and a
township clerk ranked among the facilities of their own township only). Figures come from
oversight.indicators.
"""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.roles import capability_required, user_can
from accounts.scoping import is_county_wide
from claims.models import Claim
from core.xlsx import xlsx_response
from facilities.models import Facility, Level
from places.models import Township

from .flags import month_bounds
from .indicators import Figures, indicators, months_ending, suspension_review
from .models import ClaimFlag
from .referral_rates import referral_rates

CJK_FONT = "Noto Sans CJK SC"

# (attribute, Chinese header, kind): kind "money", "ratio", "count" or "days"
COLUMNS = [
    ("admissions", gettext_noop("住院人次"), "count"),
    ("avg_cost", gettext_noop("次均住院费用（元）"), "money"),
    ("avg_cost_change", gettext_noop("次均费用同比"), "ratio"),
    ("non_reimbursable_share", gettext_noop("目录外费用占比"), "ratio"),
    ("avg_los", gettext_noop("平均住院日"), "days"),
    ("readmissions", gettext_noop("15日内再住院"), "count"),
    ("compensation_share", gettext_noop("占全县补偿金额比例"), "ratio"),
    ("level_avg_cost", gettext_noop("同级别次均费用（元）"), "money"),
]


def last_complete_month(today=None) -> tuple[int, int]:
    """The month before the county's local date: the last month whose figures are complete."""
    today = today or timezone.localdate()
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _month(request, *, complete: bool = False) -> tuple[int, int]:
    """The year and month asked for; without them the current month, or with `complete` the last
    complete month (the ranking compares whole months, never the current partial one)."""
    today = timezone.localdate()
    default = last_complete_month(today) if complete else (today.year, today.month)
    try:
        year = int(request.GET.get("year", default[0]))
        month = int(request.GET.get("month", default[1]))
    except ValueError:
        return default
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return default
    return year, month


def _rows(result, facility: Facility) -> list[Figures]:
    per_month = result.facilities.get(facility.pk, {})
    level = result.levels.get(facility.level, {})
    rows = []
    for y, m in result.months:
        figures = per_month.get((y, m)) or Figures(year=y, month=m)
        if figures.level_avg_cost is None and (y, m) in level:
            figures.level_avg_cost = level[(y, m)].avg_cost
        rows.append(figures)
    return rows


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.family": "sans-serif", "font.sans-serif": [CJK_FONT, "DejaVu Sans"],
                         "axes.unicode_minus": False, "svg.fonttype": "path", "svg.hashsalt": "ncms"})
    return plt


def _svg(plt, fig) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg"):]


def _num(value) -> float:
    """Decimal -> float for drawing positions only."""
    return float(value) if value is not None else 0.0


def scorecard_charts(rows: list[Figures]) -> list[str]:
    """Two SVG charts: cost per admission against the level's average, and admissions with
    readmissions within 15 days."""
    plt = _pyplot()
    labels = [f"{r.month}月" for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    ax.plot(labels, [_num(r.avg_cost) for r in rows], marker="o", color="#2f6fb0", label="本机构次均费用")
    ax.plot(labels, [_num(r.level_avg_cost) for r in rows], linestyle="--", color="#888", label="同级别平均")
    for i, r in enumerate(rows):
        if r.warning:
            ax.plot([labels[i]], [_num(r.avg_cost)], marker="o", color="#c0392b")
    ax.set_title("次均住院费用（元），红点为预警月份", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    cost = _svg(plt, fig)
    fig, ax = plt.subplots(figsize=(6.4, 2.4))
    ax.bar(labels, [r.admissions for r in rows], color="#2f6fb0", label="住院人次")
    ax.bar(labels, [r.readmissions for r in rows], color="#d68910", label="15日内再住院")
    ax.set_title("住院人次与15日内再住院", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return [cost, _svg(plt, fig)]


def _scoped_facility(request, pk) -> Facility:
    return get_object_or_404(Facility.objects.for_user(request.user).select_related("township"), pk=pk)


def _facility_flags(facility: Facility, year: int, month: int):
    """Every flag of the facility's claims discharged in the twelve months ending with the month."""
    first = month_bounds(*months_ending(year, month)[0])[0]
    last = month_bounds(year, month)[1]
    return ClaimFlag.objects.filter(claim__facility=facility, claim__discharge_date__gte=first,
                                    claim__discharge_date__lte=last)


def _flagged_claims(request, facility: Facility, year: int, month: int):
    return (_facility_flags(facility, year, month).filter(claim__in=Claim.objects.for_user(request.user))
            .select_related("claim__member").order_by("-claim__discharge_date", "claim__invoice_no", "kind"))


def _flags_out_of_reach(request, facility: Facility, year: int, month: int) -> int:
    """How many of the facility's flags are on claims the reader does not reach (a township
    clerk: the patients of other townships), counted without naming anyone."""
    return _facility_flags(facility, year, month).exclude(claim__in=Claim.objects.for_user(request.user)).count()


@capability_required("facilities.view_own")
def scorecard(request, pk):
    facility = _scoped_facility(request, pk)
    year, month = _month(request)
    result = indicators(year=year, month=month)
    rows = _rows(result, facility)
    referral, required = _referral(facility, year, month, result.months[0])
    return render(request, "facilities/scorecard.html", {
        "facility": facility, "year": year, "month": month, "rows": rows, "columns": COLUMNS,
        "referral": referral, "referral_required": required,
        "charts": scorecard_charts(rows), "flags": _flagged_claims(request, facility, year, month),
        "other_flags": _flags_out_of_reach(request, facility, year, month),
        "warnings": result.warnings(facility.pk, year), "can_rank": user_can(request.user, "facilities.view"),
    })


def _referral(facility: Facility, year: int, month: int, first_month: tuple[int, int]):
    """The facility's referral rate over the scorecard's months, and whether its level asks for
    referrals at all (the page and its workbook)."""
    rates = referral_rates(first=month_bounds(*first_month)[0], last=month_bounds(year, month)[1])
    return rates.facilities.get(facility.pk), any(facility.level in levels for levels in rates.levels.values())


def scorecard_workbook(facility: Facility, rows: list[Figures], referral=None, referral_required: bool = False) -> bytes:
    """The scorecard's months as a sheet, headers in the active language, then its referral rate."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = facility.code
    sheet.append([_("月份"), *[_(column[1]) for column in COLUMNS], _("预警")])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([r.label, *[getattr(r, column[0]) for column in COLUMNS], _("是") if r.warning else ""])
    for index, column in enumerate(COLUMNS, start=2):
        kind = column[2]
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 16
        fmt = {"money": "#,##0.00", "ratio": "0.00%", "days": "0.0"}.get(kind)
        if fmt:
            for cell in sheet[letter][1:]:
                cell.number_format = fmt
    sheet.append([])
    if referral is not None:
        sheet.append([_("近12个月转诊率"), referral.rate, _("要求转诊的住院人次"), referral.claims,
                      _("其中有转诊单或已转诊"), referral.referred])
        sheet.cell(row=sheet.max_row, column=2).number_format = "0.00%"
    else:
        sheet.append([_("近12个月转诊率"), "—", _("近12个月没有要求转诊的住院。") if referral_required
                      else _("本机构级别住院不要求转诊。")])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@capability_required("facilities.view_own")
def scorecard_xlsx(request, pk):
    facility = _scoped_facility(request, pk)
    year, month = _month(request)
    result = indicators(year=year, month=month)
    rows = _rows(result, facility)
    referral, required = _referral(facility, year, month, result.months[0])
    return xlsx_response(scorecard_workbook(facility, rows, referral, required),
                         f"scorecard-{facility.code}-{year}-{month:02d}.xlsx")


RANKED = [
    ("avg_cost", gettext_noop("次均住院费用（元）")),
    ("avg_cost_change", gettext_noop("次均费用同比")),
    ("non_reimbursable_share", gettext_noop("目录外费用占比")),
    ("avg_los", gettext_noop("平均住院日")),
    ("readmissions", gettext_noop("15日内再住院")),
    ("admissions", gettext_noop("住院人次")),
    ("compensation_share", gettext_noop("占全县补偿金额比例")),
]


@capability_required("facilities.view")
def ranking(request):
    year, month = _month(request, complete=True)
    result = indicators(year=year, month=month, months=month)  # the calendar year up to the month
    facilities = {f.pk: f for f in Facility.objects.for_user(request.user)}
    current = [(facilities[pk], per_month[(year, month)]) for pk, per_month in result.facilities.items()
               if pk in facilities and (year, month) in per_month]
    by = request.GET.get("by", "avg_cost")
    if by not in dict(RANKED):
        by = "avg_cost"
    ranked = sorted(current, key=lambda item: (getattr(item[1], by) is None,
                                               -(getattr(item[1], by) or Decimal(0)), item[0].code))
    levels = [(Level(level).label, per_month[(year, month)]) for level, per_month in sorted(result.levels.items())
              if (year, month) in per_month]
    review = [{**item, "facility": facilities[item["facility_id"]]}
              for item in suspension_review(year=year, month=month, result=result)
              if item["facility_id"] in facilities]
    # referral rates of the calendar year up to the month, per facility and per township
    rates = referral_rates(first=date(year, 1, 1), last=month_bounds(year, month)[1])
    townships = {t.pk: t for t in Township.objects.filter(pk__in=rates.townships)}
    referral_facilities = sorted(((facilities[pk], rate) for pk, rate in rates.facilities.items() if pk in facilities),
                                 key=lambda item: (item[1].rate, item[0].code))
    referral_townships = sorted(((townships[pk], rate) for pk, rate in rates.townships.items()),
                                key=lambda item: (item[1].rate, item[0].code))
    return render(request, "facilities/ranking.html", {
        "township": None if is_county_wide(request.user) else request.user.township,
        "year": year, "month": month, "ranked": ranked, "by": by, "by_label": _(dict(RANKED)[by]),
        "indicators": RANKED, "levels": levels, "review": review, "columns": COLUMNS,
        "referral_facilities": referral_facilities, "referral_townships": referral_townships,
    })
