"""The policy simulation's chart and PDF: patients' out-of-pocket share per facility level
(1 − actual compensation ratio, from the result's `by_level` rows), current beside each draft, as
matplotlib SVG; the comparison of two drafts as PDF (WeasyPrint), the chart included."""
from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from weasyprint import HTML

from core.money import format_percent, format_yuan, to_ratio
from policy.rules import LEVELS

from .draft_form import LEVEL_NAMES
from .report_output import _num, _pyplot, _svg, as_data_uri
from .rules import OVERSPENDING_FACTOR, UNDERUSE_FACTOR

# The comparison's rows: label, the result's figure, kind (money: Decimal two places; ratio; count; text)
COMPARE_ROWS = (
    (gettext_lazy("测算年度"), lambda r: r["year"], "count"),
    (gettext_lazy("住院人次"), lambda r: r["claims"], "count"),
    (gettext_lazy("医疗总费用（元）"), lambda r: r["total_cost"], "money"),
    (gettext_lazy("现行补偿（元）"), lambda r: r["current"]["compensation"], "money"),
    (gettext_lazy("草案补偿（元）"), lambda r: r["draft"]["compensation"], "money"),
    (gettext_lazy("草案可用基金（元）"), lambda r: r["fund"]["available"], "money"),
    (gettext_lazy("草案基金使用率"), lambda r: r["draft"]["fund_usage_rate"], "ratio"),
    (gettext_lazy("现行封顶人数"), lambda r: r["current"].get("members_at_cap"), "count"),  # None: not stored
    (gettext_lazy("封顶人数"), lambda r: r["draft"]["members_at_cap"], "count"),
)


def warning_message(warning: dict, result: dict) -> str:
    """A simulation warning's sentence in the active language, from the result's figures (the
    stored message is the Chinese one `fund.rules.simulation_warnings` writes)."""
    draft = Decimal(result["draft"]["compensation"])
    available = Decimal(result["fund"]["available"])
    rate, month = result["draft"].get("fund_usage_rate"), result["fund"]["month"]
    line = Decimal(month) / Decimal(12)
    words = {"draft": format_yuan(draft), "available": format_yuan(available), "month": month,
             "rate": format_percent(Decimal(rate)) if rate is not None else "—",
             "line": format_percent(to_ratio(line))}
    if warning["kind"] == "overspending":
        if rate is None:
            return _("该年度没有参合筹资，测算补偿 %(draft)s 元将全部超支。") % words
        if draft > available:
            return _("测算补偿 %(draft)s 元超过当年可用基金 %(available)s 元（基金使用率 %(rate)s），方案将超支。") % words
        return _("测算基金使用率 %(rate)s 超过 %(month)s 月进度 %(line)s 的 110%%（%(limit)s），基金有超支风险。") % {
            **words, "limit": format_percent(to_ratio(line * OVERSPENDING_FACTOR))}
    if warning["kind"] == "underuse" and rate is not None:
        return _("测算基金使用率 %(rate)s 低于 %(month)s 月进度 %(line)s 的 85%%（%(limit)s），基金结余过多。") % {
            **words, "limit": format_percent(to_ratio(line * UNDERUSE_FACTOR))}
    return warning["message"]


def display_warnings(result: dict) -> list[dict]:
    """The result's warnings for a page, PDF or spreadsheet, each with its sentence in the active language."""
    return [{**warning, "message": warning_message(warning, result)} for warning in result.get("warnings", [])]


def _level_row(result: dict, level: str) -> dict:
    return next((row for row in result.get("by_level", []) if row["name"] == level), {})


def _level_rows():
    for level in LEVELS:
        yield (format_lazy("{}：{}", LEVEL_NAMES[level], gettext_lazy("草案补偿（元）")),
               lambda r, level=level: _level_row(r, level).get("draft"), "money")
        yield (format_lazy("{}：{}", LEVEL_NAMES[level], gettext_lazy("现行实际补偿比")),
               lambda r, level=level: _level_row(r, level).get("current_ratio"), "ratio")
        yield (format_lazy("{}：{}", LEVEL_NAMES[level], gettext_lazy("草案实际补偿比")),
               lambda r, level=level: _level_row(r, level).get("draft_ratio"), "ratio")


def compare_rows(columns: list[dict]) -> list[dict]:
    """The comparison of the drafts in `columns` ({"draft", "result"}): a row per figure, the
    totals, then per level, then the warnings; a draft not yet valued has None."""
    spec = [*COMPARE_ROWS, *_level_rows(),
            (gettext_lazy("预警"), lambda r: "\n".join(w["message"] for w in display_warnings(r)) or "—", "text")]
    rows = [{"label": label, "kind": kind,
             "values": [getter(c["result"]) if c["result"] else None for c in columns]}
            for label, getter, kind in spec]
    # what each draft changes from its year's current plan (fund.draft_form.policy_changes), a line each
    rows.append({"label": gettext_lazy("与现行方案相比的改动"), "kind": "text", "values": [
        None if c.get("changes") is None else (
            "\n".join(f"{change['field']}：{change['before']} → {change['after']}" for change in c["changes"])
            or str(gettext_lazy("与现行方案相同，没有改动。")))
        for c in columns]})
    return rows


def out_of_pocket(rows: list[dict], key: str) -> dict[str, Decimal | None]:
    """{level: the share patients pay themselves} of `key` ("current" or "draft"), 4 places."""
    shares = {}
    for row in rows:
        ratio = row[f"{key}_ratio"]
        shares[row["name"]] = None if ratio is None else Decimal(1) - Decimal(ratio)
    return shares


def out_of_pocket_series(results: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """(label, {level: share}) for the current policy, then each draft's result."""
    if not results:
        return []
    series = [(_("现行方案"), out_of_pocket(results[0][1]["by_level"], "current"))]
    return series + [(name, out_of_pocket(result["by_level"], "draft")) for name, result in results]


def out_of_pocket_chart(results: list[tuple[str, dict]]) -> str:
    """Grouped bars, one group per level, one bar per series; SVG text."""
    plt = _pyplot()
    series = out_of_pocket_series(results)
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    width = 0.8 / max(len(series), 1)
    for i, (label, shares) in enumerate(series):
        xs = [j + i * width for j in range(len(LEVELS))]
        ax.bar(xs, [_num(shares.get(level)) * 100 for level in LEVELS], width, label=label)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(LEVELS))])
    ax.set_xticklabels([str(LEVEL_NAMES[level]) for level in LEVELS], fontsize=8)
    ax.set_ylabel(_("个人自付比例（%）"))
    ax.set_title(_("患者个人自付比例"))
    # below the bars, one series a line: the drafts' names are long
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, frameon=False)
    return _svg(fig)


def compare_pdf(*, columns: list[dict], rows: list[dict], base_url: str | None = None) -> bytes:
    results = [(c["draft"].name, c["result"]) for c in columns if c["result"]]
    chart = out_of_pocket_chart(results) if results else None
    html = render_to_string("fund/simulation_compare_pdf.html", {
        "columns": columns, "rows": rows, "chart": as_data_uri(chart) if chart else None,
        "generated_at": timezone.localtime()})
    return HTML(string=html, base_url=base_url).write_pdf()
