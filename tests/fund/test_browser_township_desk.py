"""Browser journey at the township desk: the township clerk opens the monthly fund report from the
navigation bar, reads their township's row and its villages (no other township, no county row),
then goes to the facilities located in their township and reads one facility's scorecard."""
import pytest

from tests.conftest import login_in_browser
from tests.fund.test_report import county  # noqa: F401  (the hand-built county fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_township_clerk_reads_their_report_and_a_facilitys_scorecard(page, live_server, clerk, county,  # noqa: F811
                                                                       facility):
    login_in_browser(page, live_server, clerk.username)

    page.click("#nav-fund-report")
    page.wait_for_selector("#fund-report")
    page.fill("input[name=year]", "2026")
    page.select_option("select[name=month]", "3")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/fund/report/?year=2026&month=3")
    rows = page.locator("#fund-report tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "城关镇" in row and "1,000.01" in row
    assert page.locator("#fund-report tr.county").count() == 0
    villages = page.inner_text("#villages")
    assert "东湖村" in villages and "西山村" not in villages
    assert page.locator("#chart-compensation svg").count() == 1
    assert page.locator("#chart-participation svg").count() == 1
    assert "河口乡" not in page.inner_text("main")

    page.click("nav.mainnav >> text=定点机构")
    page.wait_for_selector(f"text={facility.name}")
    assert "F002" not in page.inner_text("main")  # 河口乡's facility
    page.click(f"a:has-text('{facility.code}')")
    page.click("#scorecard-link")
    page.wait_for_selector("#scorecard-table")
    assert facility.name in page.inner_text("h1")
    assert page.locator("#scorecard-table tbody tr").count() == 12
