"""The monthly fund report's page in Chromium on a 1,024 px screen and on a 390×844 phone, with the
demo county's November figures (tests/fund/report_figures.py): the page never scrolls sideways;
at 1,024 px the whole table fits, on the phone only the table scrolls, its township column staying
in view."""
import pytest

from fund.report import COLUMNS
from tests.conftest import login_in_browser
from tests.fund.report_figures import use_demo_figures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEASURE = """() => {
  const table = document.querySelector('#fund-report');
  const box = table.parentElement;
  return {page: document.documentElement.scrollWidth, table: table.getBoundingClientRect().width,
          box: box.clientWidth, boxScroll: box.scrollWidth, boxRight: box.getBoundingClientRect().right,
          overflow: getComputedStyle(box).overflowX};
}"""


def open_report(browser, live_server, user, width, height):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15000)
    login_in_browser(page, live_server, user.username)
    page.goto(f"{live_server.url}/fund/report/?year=2026&month=11")
    page.wait_for_selector("#fund-report")
    return context, page


def test_the_report_fits_a_1024_px_screen(browser, live_server, fund_officer, monkeypatch):
    use_demo_figures(monkeypatch)
    context, page = open_report(browser, live_server, fund_officer, 1024, 768)
    size = page.evaluate(MEASURE)
    assert size["page"] <= 1024
    assert size["table"] <= size["box"] and size["boxScroll"] <= size["box"], size  # nothing to scroll
    # the headers stand over their columns in the contract's order, the county's fund below them
    lefts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#fund-report [data-key]')]
        .map(el => [el.dataset.key, el.getBoundingClientRect().left]))""")
    assert set(lefts) == set(COLUMNS)
    grid = [lefts[key] for key in COLUMNS[:16]]
    assert grid == sorted(grid)
    assert "8,618,303.00" in page.inner_text("#county-fund")
    context.close()


def test_on_a_phone_only_the_table_scrolls_and_the_township_column_stays(browser, live_server, fund_officer,
                                                                          monkeypatch):
    use_demo_figures(monkeypatch)
    context, page = open_report(browser, live_server, fund_officer, 390, 844)
    size = page.evaluate(MEASURE)
    assert size["page"] <= 390, size
    assert size["overflow"] in ("auto", "scroll") and size["boxRight"] <= 390 and size["boxScroll"] > size["box"]
    name = page.locator("#fund-report tbody tr.township td").first
    before = name.bounding_box()["x"]
    page.evaluate("() => { document.querySelector('#fund-report').parentElement.scrollLeft = 400; }")
    assert page.evaluate("() => document.querySelector('#fund-report').parentElement.scrollLeft") > 0
    assert name.bounding_box()["x"] == pytest.approx(before, abs=1)  # sticky: still in view
    assert page.locator("#county-fund").bounding_box()["x"] + page.locator("#county-fund").bounding_box()["width"] <= 390
    context.close()
