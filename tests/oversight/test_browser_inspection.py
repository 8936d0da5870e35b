"""Browser journey (Chromium): the fund officer opens a flagged claim from the facility's
scorecard, goes on to the facility's page and records an inspection with a finding, a penalty to
deduct from the next settlements and a document; it appears in the facility's inspection list."""
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from oversight.models import ClaimFlag, Inspection
from tests.conftest import login_in_browser
from tests.factories import ClaimFactory

PDF = b"%PDF-1.4\n%inspection report\n"


@pytest.mark.browser
def test_fund_officer_records_an_inspection(transactional_db, live_server, page, make_user, facility, tmp_path):
    officer = make_user(Role.FUND_OFFICER, username="officer")
    report = tmp_path / "检查报告.pdf"
    report.write_bytes(PDF)

    claim = ClaimFactory(facility=facility, invoice_no="F001-2026-000777", admission_date=date(2026, 3, 10),
                         discharge_date=date(2026, 3, 14))
    ClaimFlag.objects.create(claim=claim, kind="readmission_15d", detail="出院后 5 天再次入院",
                             computed_at=timezone.now())

    # the scorecard lists the flagged claim; the officer opens it
    login_in_browser(page, live_server, officer.username)
    page.goto(f"{live_server.url}/facilities/{facility.pk}/scorecard/?year=2026&month=3")
    assert "出院后 5 天再次入院" in page.inner_text("#flagged-claims")
    page.click("#flagged-claims >> text=F001-2026-000777")
    page.wait_for_url(f"{live_server.url}/claims/{claim.pk}/")
    assert "F001-2026-000777" in page.content()

    # back on the scorecard, on to the facility's page
    page.go_back()
    page.wait_for_url(f"{live_server.url}/facilities/{facility.pk}/scorecard/?year=2026&month=3")
    page.click(f".crumbs >> text={facility.code} {facility.name}")
    page.wait_for_url(f"{live_server.url}/facilities/{facility.pk}/")
    assert "暂无监督检查记录" in page.inner_text("#inspection-list")

    page.fill("#inspection-form input[name=inspected_on]", "2026-06-15")
    page.fill("#inspection-form input[name=inspectors]", "王检查、赵监督")
    page.fill("#inspection-form textarea[name=findings]", "挂床住院 2 例，无每日费用")
    page.fill("#inspection-form input[name=penalty_amount]", "3000.00")
    page.check("#inspection-form input[name=deduct_from_settlements]")
    page.set_input_files("#inspection-form input[name=documents]", str(report))
    page.click("#inspection-form button[type=submit]")

    page.wait_for_url(f"{live_server.url}/facilities/{facility.pk}/")
    row = page.inner_text("#inspection-list tbody tr")
    assert "2026-06-15" in row and "王检查、赵监督" in row and "挂床住院 2 例，无每日费用" in row
    assert "3,000.00" in row and "检查报告.pdf" in row
    assert "待从后续结算款中扣减的处罚：3,000.00 元" in page.inner_text("#outstanding-deduction")
    recorded = Inspection.objects.get()
    assert (recorded.penalty_amount, recorded.deduct_from_settlements, recorded.recorded_by) == (
        Decimal("3000.00"), True, officer)
    assert recorded.documents.get().content_type == "application/pdf"

    # the document downloads from the list
    with page.expect_download() as download:
        page.click("#inspection-list >> text=检查报告.pdf")
    assert open(download.value.path(), "rb").read() == PDF
