"""The monthly fund report's charts (matplotlib): the amounts over the bars never overlap, each
other or the months, and the dashed lines are named in a legend in the active language."""
from itertools import combinations

import pytest
from django.utils import translation

from fund import report_output
from tests.fund.report_figures import MONTHLY_COMPENSATION, demo_figures


@pytest.fixture(autouse=True)
def _chinese():
    """Chinese, the default, whatever an earlier test left active in this thread."""
    with translation.override("zh-hans"):
        yield


def _legend(fig) -> list[str]:
    legend = fig.axes[0].get_legend()
    assert legend is not None, "the chart has no legend"
    return [text.get_text() for text in legend.get_texts()]


def test_the_usage_charts_lines_are_named_in_a_legend():
    fig = report_output.usage_figure(month=11, fund_usage_rate=demo_figures()["rows"][-1]["fund_usage_rate"])
    assert _legend(fig) == ["11月进度线 91.67%", "超支预警线 100.83%（进度线×110%）",
                            "使用不足预警线 77.92%（进度线×85%）"]
    # before June there is no underuse line, so no entry for it
    assert _legend(report_output.usage_figure(month=3, fund_usage_rate=None)) == [
        "3月进度线 25.00%", "超支预警线 27.50%（进度线×110%）"]


def test_the_charts_legends_speak_english_when_english_is_chosen():
    with translation.override("en"):
        usage = _legend(report_output.usage_figure(month=11, fund_usage_rate=None))
        participation = _legend(report_output.participation_figure(rows=demo_figures()["rows"][:-1]))
    assert usage == ["Pacing line for month 11: 91.67%", "Overspending line 100.83% (110% of pacing)",
                     "Underuse line 77.92% (85% of pacing)"]
    assert participation == ["Participation target 95.00%", "Below target"]


def test_the_participation_charts_dashed_line_is_named_in_a_legend():
    rows = demo_figures()["rows"][:-1]
    assert _legend(report_output.participation_figure(rows=rows)) == ["参合率目标 95.00%", "低于目标"]
    above = [dict(row, participation_rate=row["participation_rate"] + 0) for row in rows[:3]]
    assert _legend(report_output.participation_figure(rows=above)) == ["参合率目标 95.00%"]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("data", [
    MONTHLY_COMPENSATION,  # the demo county: 25,134.74 and 24,236.91 side by side
    [(month, amount * 1000) for month, amount in MONTHLY_COMPENSATION] + [(12, MONTHLY_COMPENSATION[9][1] * 1000)],
], ids=["demo", "a thousand times larger"])
def test_the_compensation_charts_labels_never_overlap(data):
    fig = report_output.compensation_figure(year=2026, data=data)
    fig.canvas.draw()
    ax = fig.axes[0]
    amounts = [text.get_window_extent() for text in ax.texts]
    assert len(amounts) == len([amount for _month, amount in data if amount])
    months = [label.get_window_extent() for label in ax.get_xticklabels() if label.get_text()]
    assert len(months) == len(data)
    for one, other in combinations(amounts + months, 2):
        assert not _overlap(one, other)
    # every amount stands inside the plot, under the title
    plot, title = ax.get_window_extent(), ax.title.get_window_extent()
    for box in amounts:
        assert plot.y0 <= box.y0 and box.y1 <= plot.y1 < title.y0
