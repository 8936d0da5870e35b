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

from policy.rules import LEVELS

from .draft_form import LEVEL_NAMES
from .report_output import _num, _pyplot, _svg, as_data_uri

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
            (gettext_lazy("预警"), lambda r: "；".join(w["message"] for w in r.get("warnings", [])) or "—", "text")]
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
