"""How the monthly fund report's table and PDF are laid out (its figures are tested in
test_report.py, its charts in test_report_charts.py): the table keeps every column of the
contract, and the PDF keeps its header words whole, fills page 1 and carries the unit and the
signature lines."""
import subprocess

import pytest
from django.urls import reverse
from django.utils import translation
from PIL import Image

from accounts.models import Role
from fund import report_output
from fund.report import COLUMNS
from tests.conftest import PASSWORD
from tests.fund.report_figures import demo_figures, use_demo_figures


@pytest.fixture(autouse=True)
def _chinese():
    """Chinese, the default, whatever an earlier test left active in this thread."""
    with translation.override("zh-hans"):
        yield


def test_the_table_keeps_every_column_of_the_contract_once_and_in_order(client, users_by_role, monkeypatch):
    assert report_output.GRID_COLUMNS + report_output.COUNTY_ONLY == COLUMNS
    use_demo_figures(monkeypatch)
    assert client.login(username=users_by_role[Role.FUND_OFFICER].username, password=PASSWORD)
    page = client.get(reverse("fund_report:dashboard"), {"year": 2026, "month": 11}).content.decode()
    table = page[page.index('id="fund-report"'):page.index("</table>", page.index('id="fund-report"'))]
    assert [table.count(f'data-key="{key}"') for key in COLUMNS] == [1] * len(COLUMNS)
    # a grouped column keeps its full header as its tooltip; the county's fund figures are in the table
    assert 'data-key="compensation" title="本月补偿金额">' in table and 'title="累计补偿金额"' in table
    assert "8,618,303.00" in table and "8,359,753.91" in table and "4.57%" in table


# --- PDF ---------------------------------------------------------------------------------------

@pytest.fixture
def report_pdf(db, monkeypatch, tmp_path, clock):
    clock("2026-12-05 10:00")
    use_demo_figures(monkeypatch)
    path = tmp_path / "report.pdf"
    path.write_bytes(report_output.report_pdf(demo_figures()))
    return path


def _text(path, *options) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *options, str(path), "-"], capture_output=True,
                          check=True, text=True).stdout


def test_the_pdf_states_its_unit_by_the_title_and_ends_with_the_signature_lines(report_pdf):
    pages = _text(report_pdf, "-layout").split("\f")
    first = pages[0]
    assert "示范县 2026年11月新农合基金运行月报" in first
    assert "金额单位：元" in first
    assert first.index("金额单位：元") < first.index("城关镇")  # by the title, above the table
    last = [page for page in pages if page.strip()][-1]
    for words in ("制表人", "审核人", "负责人", "制表日期：2026-12-05"):
        assert words in last
    assert max(last.index(words) for words in ("制表人", "审核人", "负责人")) > last.rfind("示范县")


def test_the_pdf_breaks_no_header_inside_a_word(report_pdf):
    text = _text(report_pdf, "-layout", "-f", "1", "-l", "1")
    lines = text.splitlines()
    for header in ("农业人口", "参合人数", "参合率", "住院人次", "住院总费用", "可报费用", "补偿金额", "追回金额",
                   "次均住院费用", "实际补偿比", "受益面"):
        assert any(header in line for line in lines), f"{header} is broken across lines"
    assert not any(line.rstrip().endswith(("农业人", "参合人", "次均住院费")) for line in lines)


def test_the_pdfs_first_page_holds_the_table_and_the_charts_after_it(report_pdf, tmp_path):
    # the charts (drawn, not text) follow the table on page 1: ink reaches its lower part
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(report_pdf), str(tmp_path / "p")],
                   check=True)
    image = Image.open(next(tmp_path.glob("p-*.png"))).convert("L")
    width, height = image.size
    body = image.crop((0, 0, width, int(height * 0.93)))  # above the page's footer line
    inked = [y for y in range(body.height) if body.crop((0, y, width, y + 1)).getextrema()[0] < 200]
    assert inked[-1] > height * 0.6, f"page 1 ends its content at {inked[-1] / height:.0%} of its height"
    first = _text(report_pdf, "-f", "1", "-l", "1")
    for words in ("城关镇", "青山乡", "680,516.01", "8,618,303.00", "预警", "图表"):
        assert words in first
