"""The monthly fund report as charts (matplotlib SVG), XLSX and PDF (WeasyPrint).

The same three charts appear on the dashboard and in the PDF: monthly compensation, the county's
fund usage against the month's pacing line (M/12), and participation by township against 95%.
"""
import base64
import hashlib
import io
import json
import re
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.money import format_percent, format_yuan, to_ratio
from core.tabular import text_cell

from . import rules
from .report import COLUMNS, HEADERS, MONEY_OUT, RATIO_COLUMNS, VILLAGE_COLUMNS, monthly_compensation
from .rules import OVERSPENDING_FACTOR, UNDERUSE_FACTOR

CJK_FONT = "Noto Sans CJK SC"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [CJK_FONT, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.fonttype": "path",   # text drawn as outlines: the SVG looks the same without the font
        "svg.hashsalt": "ncms",   # stable ids: the same report gives the same SVG
    })
    return plt


def _svg(fig) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = out.getvalue()
    return text[text.index("<svg"):]  # inline: drop the XML prolog and doctype


def _num(value) -> float:
    """Decimal -> float for plotting only (drawing positions, never figures shown as numbers)."""
    return float(value) if value is not None else 0.0


def _percent_text(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'))}%"


def _legend_below(fig, ax, handles=None) -> None:
    """The legend under the axes and their tick labels, outside the plot: it never hides a bar or
    a line, and its entries stand one under another (they are sentences in any language)."""
    bottom = ax.get_tightbbox(fig.canvas.get_renderer()).y0
    y = ax.transAxes.inverted().transform((0, bottom))[1]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, y), fontsize=8, frameon=False)


def compensation_figure(*, year: int, data: list[tuple[int, Decimal]]):
    """Bars of each month's compensation, each labelled with its amount. The labels stand upright
    (rotated a quarter turn) so that two neighbours' amounts never overlap, however large; the
    y axis grows until the highest label fits inside it."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    bars = ax.bar([_("%(month)s月") % {"month": m} for m, _value in data], [_num(v) for _month, v in data],
                  color="#2f6fb0")
    labels = [
        ax.annotate(format_yuan(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 2), textcoords="offset points", rotation=90, ha="center", va="bottom", fontsize=8)
        for bar, (_month, value) in zip(bars, data) if value
    ]
    ax.set_title(_("%(year)s年各月补偿金额（元）") % {"year": year}, fontsize=10)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _pos: f"{y:,.0f}"))
    ax.spines[["top", "right"]].set_visible(False)
    if labels:
        # a label of h pixels on a bar of value v fits an axes of H pixels when the axis runs to
        # at least v × H / (H − h): the label keeps its size in pixels while the bars scale. Its
        # h is the length of its text (it stands upright), measured without drawing the figure.
        renderer = fig.canvas.get_renderer()
        height = ax.get_window_extent().height

        def length(label) -> float:
            return renderer.get_text_width_height_descent(label.get_text(), label.get_fontproperties(),
                                                          ismath=False)[0] + 4

        top = max(label.xy[1] * height / max(height - length(label), height / 4) for label in labels)
        ax.set_ylim(0, top * 1.02)
    return fig


def usage_figure(*, month: int, fund_usage_rate: Decimal | None):
    """The county's fund usage against the month's pacing line (M/12) and the two warning lines
    (dashed: overspending above 110% of the pacing, underuse below 85% from June), named in the
    legend."""
    plt = _pyplot()
    line = Decimal(month) / Decimal(12)
    fig, ax = plt.subplots(figsize=(6.4, 1.9))
    rate = _num(fund_usage_rate)
    over = rules.is_overspending(fund_usage_rate, month)
    under = rules.is_underuse(fund_usage_rate, month)
    ax.barh([_("基金使用率")], [rate], color="#c0392b" if over else ("#d68910" if under else "#2f6fb0"))
    ax.axvline(_num(line), color="#222", linewidth=2,
               label=_("%(month)s月进度线 %(rate)s") % {"month": month, "rate": _percent_text(line)})
    ax.axvline(_num(line * rules.OVERSPENDING_FACTOR), color="#c0392b", linestyle="--", linewidth=1,
               label=_("超支预警线 %(rate)s（进度线×110%%）") % {"rate": _percent_text(line * OVERSPENDING_FACTOR)})
    if month >= rules.UNDERUSE_FROM_MONTH:
        ax.axvline(_num(line * rules.UNDERUSE_FACTOR), color="#d68910", linestyle="--", linewidth=1,
                   label=_("使用不足预警线 %(rate)s（进度线×85%%）") % {"rate": _percent_text(line * UNDERUSE_FACTOR)})
    shown = "—" if fund_usage_rate is None else _percent_text(fund_usage_rate)
    ax.set_title(_("基金使用率 %(rate)s") % {"rate": shown}, fontsize=10)
    ax.set_xlim(0, max(1.0, rate * 1.1, _num(line * rules.OVERSPENDING_FACTOR) * 1.05))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _pos: f"{x:.0%}"))
    ax.spines[["top", "right"]].set_visible(False)
    _legend_below(fig, ax)
    return fig


def participation_figure(*, rows: list[dict], title: str | None = None):
    """rows: the report's township rows (or a township's village rows) with Python values (name,
    participation_rate). The dashed line is the 95% target, named in the legend with the colour of
    a row below it."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.35 * len(rows) + 0.8)))
    names = [row["name"] for row in rows]
    rates = [_num(row["participation_rate"]) for row in rows]
    low = [rules.is_low_participation(row["participation_rate"]) for row in rows]
    ax.barh(names, rates, color=["#c0392b" if is_low else "#2f6fb0" for is_low in low])
    target = ax.axvline(_num(rules.PARTICIPATION_TARGET), color="#222", linestyle="--", linewidth=1.5,
                        label=_("参合率目标 %(rate)s") % {"rate": format_percent(rules.PARTICIPATION_TARGET)})
    ax.invert_yaxis()
    ax.set_xlim(0, max([1.0] + [r * 1.05 for r in rates]))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _pos: f"{x:.0%}"))
    ax.set_title(title or _("各乡镇参合率"), fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [target]
    if any(low):
        handles.append(Patch(color="#c0392b", label=_("低于目标")))
    _legend_below(fig, ax, handles)
    return fig


def chart_monthly_compensation(*, year: int, month: int, township=None) -> str:
    return _svg(compensation_figure(year=year, data=monthly_compensation(year=year, month=month,
                                                                          township=township)))


def chart_fund_usage(*, year: int, month: int, fund_usage_rate: Decimal | None) -> str:
    return _svg(usage_figure(month=month, fund_usage_rate=fund_usage_rate))


def chart_participation(*, rows: list[dict], title: str | None = None) -> str:
    return _svg(participation_figure(rows=rows, title=title))


CHARTS_CACHE_SECONDS = 3600


def charts(figures: dict) -> dict[str, str]:
    """The three charts of a report (figures from fund.report.monthly_report_figures) as SVG text.

    Drawing them costs about half a second of CPU, so they are cached under the figures they
    show (and the language of their labels): the same figures draw the same charts, and any
    payout or income of the year changes the county's year-to-date figures, hence the key."""
    year, month = figures["year"], figures["month"]
    key = "fund-charts:" + hashlib.sha256(json.dumps(
        [year, month, figures["rows"], translation.get_language()], default=str, sort_keys=True,
    ).encode()).hexdigest()
    drawn = cache.get(key)
    if drawn is None:
        county = figures["rows"][-1]
        drawn = {
            "compensation": chart_monthly_compensation(year=year, month=month),
            "usage": chart_fund_usage(year=year, month=month, fund_usage_rate=county["fund_usage_rate"]),
            "participation": chart_participation(rows=figures["rows"][:-1]),
        }
        cache.set(key, drawn, CHARTS_CACHE_SECONDS)
    return drawn


def township_charts(figures: dict, township) -> dict[str, str]:
    """The charts of a township's report (fund.report.township_report_figures): the compensation
    of its claims month by month and its villages' participation. The fund's usage is the
    county's and is not drawn. Cached like `charts`."""
    year, month = figures["year"], figures["month"]
    key = "fund-township-charts:" + hashlib.sha256(json.dumps(
        [year, month, township.code, figures["rows"], figures["villages"], translation.get_language()],
        default=str, sort_keys=True).encode()).hexdigest()
    drawn = cache.get(key)
    if drawn is None:
        drawn = {
            "compensation": chart_monthly_compensation(year=year, month=month, township=township),
            "participation": chart_participation(rows=figures["villages"],
                                                 title=_("%(township)s各村参合率") % {"township": township.name}),
        }
        cache.set(key, drawn, CHARTS_CACHE_SECONDS)
    return drawn


def as_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# The warnings' kinds in words (the contract's codes stay in the JSON); msgids for the catalogue.
WARNING_WORDS = {
    "overspending": gettext_noop("基金超支风险"),
    "underuse": gettext_noop("基金使用不足"),
    "low_participation": gettext_noop("参合率低"),
}


def warning_message(warning: dict, figures: dict) -> str:
    """A warning's sentence in the active language, from its kind and the report's figures (the
    same Chinese sentence as the contract's message; English when English is chosen)."""
    kind, month = warning["kind"], figures["month"]
    rows = {row["township"]: row for row in figures["rows"]}
    line = Decimal(month) / Decimal(12)
    if kind in ("overspending", "underuse"):
        rate = (rows.get("county") or {}).get("fund_usage_rate")
        if rate is None:
            return warning["message"]
        rate = Decimal(str(rate))
        if kind == "overspending":
            text = _("全县基金使用率 %(rate)s 超过 %(month)s 月进度 %(line)s 的 110%%（%(limit)s），基金有超支风险。")
            factor = OVERSPENDING_FACTOR
        else:
            text = _("全县基金使用率 %(rate)s 低于 %(month)s 月进度 %(line)s 的 85%%（%(limit)s），基金结余过多。")
            factor = UNDERUSE_FACTOR
        return text % {"rate": format_percent(rate), "month": month, "line": format_percent(to_ratio(line)),
                       "limit": format_percent(to_ratio(line * factor))}
    if kind == "low_participation":
        row = rows.get(warning["township"])
        if row is None or row.get("participation_rate") is None:
            return warning["message"]
        return _("%(name)s参合率 %(rate)s 低于 95%%。") % {
            "name": row["name"], "rate": format_percent(Decimal(str(row["participation_rate"])))}
    return warning["message"]


def display_warnings(figures: dict) -> list[dict]:
    """The report's warnings for a page, PDF or spreadsheet: kind (the code, for data attributes),
    words (the kind in the active language), township name and message in the active language."""
    names = {row["township"]: row["name"] for row in figures["rows"]}
    return [{"kind": w["kind"], "words": _(WARNING_WORDS.get(w["kind"], w["kind"])),
             "township": names.get(w["township"], w["township"]), "message": warning_message(w, figures)}
            for w in figures["warnings"]]


def _format_columns(sheet, keys: list[str]) -> None:
    """The report's columns 14 wide, ratios as percentages and money with separators, the first
    two columns and the header kept in view."""
    for index, key in enumerate(keys, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 14
        fmt = "0.00%" if key in RATIO_COLUMNS else ("#,##0.00" if key in MONEY_OUT else None)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = fmt
    sheet.freeze_panes = "C2"


def report_xlsx(figures: dict) -> bytes:
    """One sheet: a header row in the active language (Chinese unless English is chosen), then one
    row per township and the county. Money and ratios are written as exact numbers, formatted
    '#,##0.00' and '0.00%'. A second sheet lists the warnings in words."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (_("%(year)s年%(month)s月") % {"year": figures["year"], "month": figures["month"]}).replace("/", "-")
    keys = ["township", "name", *COLUMNS]
    headers = {**HEADERS, "township": gettext_noop("乡镇代码"), "name": gettext_noop("乡镇名称")}
    sheet.append([_(headers[key]) for key in keys])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in figures["rows"]:
        values = [row[key] for key in keys]
        if row["township"] == "county":
            values[0] = _("全县")
        sheet.append([text_cell(value) for value in values])
    _format_columns(sheet, keys)
    if "villages" in figures:  # a township's report: its villages on a sheet of their own
        _villages_sheet(workbook.create_sheet(_("各村")), figures["villages"])
    warnings = workbook.create_sheet(_("预警"))
    warnings.append([_("类型"), _("乡镇"), _("说明")])
    for cell in warnings[1]:
        cell.font = Font(bold=True)
    for warning in display_warnings(figures):
        warnings.append([text_cell(warning["words"]), text_cell(warning["township"]), text_cell(warning["message"])])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# The PDF's charts, two a row: each drawn at the same fraction of its own size, so that their
# lettering is alike, and small enough that the first row follows the table on page 1.
PDF_CHARTS = [("compensation", gettext_noop("各月补偿金额")), ("usage", gettext_noop("基金使用率")),
              ("participation", gettext_noop("各乡镇参合率"))]
PDF_CHART_SCALE = 0.72


def _villages_sheet(sheet, villages: list[dict]) -> None:
    from openpyxl.styles import Font

    keys = ["village", "name", *VILLAGE_COLUMNS]
    headers = {**HEADERS, "village": gettext_noop("村代码"), "name": gettext_noop("村名称")}
    sheet.append([_(headers[key]) for key in keys])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in villages:
        sheet.append([text_cell(row[key]) for key in keys])
    _format_columns(sheet, keys)


def village_headers() -> list[tuple[str, str]]:
    return [(key, HEADERS[key]) for key in VILLAGE_COLUMNS]


def display_villages(figures: dict) -> list[dict]:
    """A township report's village rows ready for a template: code, name, cells (VILLAGE_COLUMNS)."""
    return [{"code": row["village"], "name": row["name"], "cells": [_cell(key, row[key]) for key in VILLAGE_COLUMNS]}
            for row in figures.get("villages", [])]


def _svg_width_pt(svg: str) -> float:
    """The width matplotlib gave an SVG (width="460.8pt")."""
    return float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg).group(1))


def report_pdf(figures: dict, *, base_url: str | None = None, township=None) -> bytes:
    """The report as PDF; with `township`, the township's report (its row, villages and charts)."""
    from weasyprint import HTML

    svgs = charts(figures) if township is None else township_charts(figures, township)
    html = render_to_string("fund/report_pdf.html", {
        "township": township, "villages": display_villages(figures), "village_headers": village_headers(),
        "figures": figures, "table": report_table(figures), "warnings": display_warnings(figures),
        "charts": [{"src": as_data_uri(svgs[name]), "width": f"{_svg_width_pt(svgs[name]) * PDF_CHART_SCALE:.1f}pt",
                    "alt": _(alt)} for name, alt in PDF_CHARTS if name in svgs],
        "generated_at": timezone.localtime(), "county_name": settings.COUNTY_NAME,
    })
    return HTML(string=html, base_url=base_url).write_pdf()


def table_headers() -> list[tuple[str, str]]:
    return [(key, HEADERS[key]) for key in COLUMNS]


# The report table on the page and in the PDF. A month's column and its year-to-date twin share
# their subject's header and are headed "本月" and "累计" below it. The three county-only columns
# (null on every township row) are the table's footer line under the county row, so that the
# table fits a 1,024 px screen. Presentation only: every column keeps its key (data-key), its order
# and its full header (the tooltip; the XLSX heads each column with it), see docs/contract.md.
HEADER_GROUPS = [
    (None, ["population"]), (None, ["participants"]), (None, ["participation_rate"]),
    (gettext_noop("住院人次"), ["admissions", "admissions_ytd"]),
    (gettext_noop("住院总费用"), ["total_cost", "total_cost_ytd"]),
    (gettext_noop("可报费用"), ["reimbursable_cost", "reimbursable_cost_ytd"]),
    (gettext_noop("补偿金额"), ["compensation", "compensation_ytd"]),
    (gettext_noop("追回金额"), ["recovered", "recovered_ytd"]),
    (None, ["avg_cost_per_admission"]), (None, ["compensation_ratio"]), (None, ["beneficiary_rate"]),
]
COUNTY_ONLY = ["fund_raised", "fund_available", "fund_usage_rate"]
GRID_COLUMNS = [key for _group, keys in HEADER_GROUPS for key in keys]
# Where a long Chinese header may break into two lines when the table is short of room: between
# its words, never inside one (no "农业人/口"). Any other header is one unbreakable word, or, in
# English, breaks at its spaces.
HEADER_WORDS = {"农业人口": ("农业", "人口"), "参合人数": ("参合", "人数"), "次均住院费用": ("次均", "住院费用"),
                "实际补偿比": ("实际", "补偿比"), "住院总费用": ("住院", "总费用")}


def _words(label: str) -> dict:
    """A header's words (each kept on one line) and what joins them."""
    if label in HEADER_WORDS:
        return {"words": HEADER_WORDS[label], "joint": ""}
    return {"words": tuple(label.split(" ")), "joint": " "}


_TWINS = ("admissions", "total_cost", "reimbursable_cost", "compensation", "recovered")
SHORT_HEADERS = {**{key: gettext_noop("本月") for key in _TWINS}, **{f"{key}_ytd": gettext_noop("累计") for key in _TWINS}}


def report_table(figures: dict) -> dict:
    """The report table in the active language: `top` and `bottom` header rows (a column of its
    own spans both: key, title and its label's words; a group spans its columns: span and words;
    its columns are in `bottom` with their short label's words, the title being the full header),
    `rows` (display_rows with the cells of GRID_COLUMNS) and `fund`, the county's county-only
    columns (key, label, value)."""
    top, bottom = [], []
    for group, keys in HEADER_GROUPS:
        if group is None:
            top.append({"key": keys[0], "title": _(HEADERS[keys[0]]), **_words(_(HEADERS[keys[0]]))})
            continue
        top.append({"key": None, "span": len(keys), **_words(_(group))})
        bottom.extend({"key": key, "title": _(HEADERS[key]), **_words(_(SHORT_HEADERS[key]))} for key in keys)
    county = figures["rows"][-1]
    # a township's report has no county row: the county's fund figures are not its to show
    fund = ([{"key": key, "label": _(HEADERS[key]), "value": _cell(key, county[key])} for key in COUNTY_ONLY]
            if county["township"] == "county" else [])
    return {"top": top, "bottom": bottom, "rows": display_rows(figures, columns=GRID_COLUMNS), "fund": fund}


def _cell(key: str, value) -> str:
    if value is None:
        return "—"
    if key in RATIO_COLUMNS:
        return format_percent(value)
    if key in MONEY_OUT:
        return format_yuan(value)
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def display_rows(figures: dict, columns: list[str] = COLUMNS) -> list[dict]:
    """The report's rows ready for a template: code, name, county flag, cells in column order."""
    return [
        {"code": row["township"], "name": row["name"], "is_county": row["township"] == "county",
         "cells": [_cell(key, row[key]) for key in columns]}
        for row in figures["rows"]
    ]
