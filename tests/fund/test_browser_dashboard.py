"""Browser journey: the cashier pays a batch from the payout queue; then the fund officer opens the
monthly fund report from the navigation bar, sees the batch in this month's figures, and downloads
the PDF (a real PDF whose text says 基金)."""
import subprocess

import pytest

from claims.models import Claim
from ledger.models import LedgerTransaction
from tests.conftest import login_in_browser
from tests.fund.conftest import approved_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cashier_pays_then_the_fund_officer_downloads_the_report(page, live_server, funded, cashier,
                                                                 fund_officer, village, tmp_path, clock):
    # this month's report counts claims of this scheme year; the claims and the fund are of 2026
    clock("2026-06-15 10:00")
    first, second = approved_claim(village, "810.00"), approved_claim(village, "1200.00")

    # the cashier: payout queue, select both, pay
    login_in_browser(page, live_server, cashier.username)
    assert page.locator("#nav-fund-report").count() == 0  # the report is not the cashier's
    page.click("text=补偿兑付")
    page.check(f"#claim-{first.pk} input[type=checkbox]")
    page.check(f"#claim-{second.pk} input[type=checkbox]")
    page.click("#pay-selected")
    page.wait_for_selector("text=已兑付 2 件，合计 2,010.00 元")
    assert set(Claim.objects.values_list("status", flat=True)) == {"paid"}
    assert LedgerTransaction.objects.filter(kind="payout").count() == 2
    page.click("button:has-text('退出')")

    # the fund officer: the dashboard from the navigation bar, then the PDF
    login_in_browser(page, live_server, fund_officer.username)
    page.click("#nav-fund-report")
    page.wait_for_selector("#fund-report")
    assert page.url.startswith(f"{live_server.url}/fund/report/")
    county_row = page.inner_text("#fund-report tr.county")
    assert "2,010.00" in county_row  # compensation paid this month
    with page.expect_download() as download:
        page.click("#download-pdf")
    assert download.value.suggested_filename.endswith(".pdf")
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert "基金" in text

    # the policy page is one click away too
    page.click("#nav-policy")
    page.wait_for_url(f"{live_server.url}/claims/policy/**")
