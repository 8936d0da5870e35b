"""The policy simulation's chart and PDF: patients' out-of-pocket share per facility level
(1 − actual compensation ratio, from the result's `by_level` rows), current beside each draft, as
matplotlib SVG; the comparison of two drafts as PDF (WeasyPrint), the chart included."""
from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from weasyprint import HTML

from facilities.models import Level
from policy.rules import LEVELS

from .report_output import _num, _pyplot, _svg, as_data_uri


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
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    width = 0.8 / max(len(series), 1)
    for i, (label, shares) in enumerate(series):
        xs = [j + i * width for j in range(len(LEVELS))]
        ax.bar(xs, [_num(shares.get(level)) * 100 for level in LEVELS], width, label=label)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(LEVELS))])
    ax.set_xticklabels([str(Level(level).label) for level in LEVELS], fontsize=8)
    ax.set_ylabel(_("个人自付比例（%）"))
    ax.set_title(_("患者个人自付比例"))
    ax.legend(fontsize=8)
    return _svg(fig)


def compare_pdf(*, columns: list[dict], rows: list[dict], base_url: str | None = None) -> bytes:
    results = [(c["draft"].name, c["result"]) for c in columns if c["result"]]
    chart = out_of_pocket_chart(results) if results else None
    html = render_to_string("fund/simulation_compare_pdf.html", {
        "columns": columns, "rows": rows, "chart": as_data_uri(chart) if chart else None,
        "generated_at": timezone.localtime()})
    return HTML(string=html, base_url=base_url).write_pdf()
