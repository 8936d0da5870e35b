"""Browser journey (Chromium): a township clerk enters a claim and watches the quote appear as
they type, a reviewer reviews it, and a different user, the approver, approves it."""
from decimal import Decimal

import pytest

from accounts.models import Role
from claims import settlement
from claims.models import Claim
from tests.claims.conftest import TODAY
from tests.conftest import login_in_browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def new_page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the user says yes to each confirmation
    page.set_default_timeout(15000)
    return context, page


@pytest.mark.browser
def test_clerk_enters_reviewer_reviews_approver_approves(transactional_db, live_server, page, browser, clerk,
                                                         make_user, policy, facility, member, monkeypatch,
                                                         tmp_path):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)  # the live server runs in this process
    reviewer = make_user(Role.REVIEWER, username="reviewer")
    approver = make_user(Role.APPROVER, username="approver")
    scan = tmp_path / "发票.png"
    scan.write_bytes(PNG)

    # the township clerk finds the member by ID number and types the claim in
    login_in_browser(page, live_server, clerk.username)
    page.click("nav.mainnav >> text=补偿录入")
    page.wait_for_url(f"{live_server.url}/claims/new/")
    page.fill("#member-q", member.id_number)
    page.wait_for_selector(f"input[name=member][value='{member.pk}']:checked")
    assert "王小明" in page.inner_text("#member-choices")
    page.wait_for_selector("#quote >> text=请先填写")
    page.select_option("select[name=facility]", str(facility.pk))
    page.fill("input[name=admission_date]", "2026-03-01")
    page.fill("input[name=discharge_date]", "2026-03-08")
    page.fill("input[name=invoice_no]", "F001-2026-000321")
    page.fill("input[name=diagnosis_code]", "J18.9")
    page.fill("input[name=diagnosis_text]", "肺炎")
    page.select_option("select[name='lines-0-category']", "drugs")
    page.fill("input[name='lines-0-amount']", "600.00")
    page.select_option("select[name='lines-1-category']", "beds")
    page.fill("input[name='lines-1-amount']", "400.00")
    # the quote appears while typing, without a page load
    page.wait_for_selector("#quote-compensation >> text=810.00")
    assert page.inner_text("#quote-patient-pays") == "190.00"
    assert "可报销费用 1,000.00 = 总费用 1,000.00 − 目录外费用 0.00" in page.inner_text("#quote")
    # one more line, outside the catalogue: the patient pays it, the quote follows
    page.click("#add-cost-line")
    page.select_option("select[name='lines-3-category']", "materials")
    page.uncheck("input[name='lines-3-in_catalog']")
    page.fill("input[name='lines-3-amount']", "100.00")
    page.wait_for_selector("#quote-patient-pays >> text=290.00")
    assert page.inner_text("#quote-compensation") == "810.00"
    assert "可报销费用 1,000.00 = 总费用 1,100.00 − 目录外费用 100.00" in page.inner_text("#quote")
    page.set_input_files("input[name=scans]", str(scan))
    page.click("#submit-claim")
    page.wait_for_selector("#claim-status >> text=已提交")
    claim = Claim.objects.get(invoice_no="F001-2026-000321")
    assert page.url == f"{live_server.url}/claims/{claim.pk}/"
    assert (claim.total_cost, claim.non_reimbursable_cost, claim.compensation, claim.submitted_by) == (
        Decimal("1100.00"), Decimal("100.00"), Decimal("810.00"), clerk)
    assert claim.cost_lines.count() == 3 and claim.documents.get().content_type == "image/png"

    # the reviewer finds it waiting on the workbench and reviews it
    context, reviewer_page = new_page(browser)
    login_in_browser(reviewer_page, live_server, reviewer.username)
    reviewer_page.click("nav.mainnav >> text=住院补偿")
    reviewer_page.click("table.claims >> text=F001-2026-000321")
    reviewer_page.wait_for_url(f"{live_server.url}/claims/{claim.pk}/")  # the page, not the list it leaves
    assert "审批通过" not in reviewer_page.content()
    reviewer_page.fill("form.decision textarea[name=note]", "票据齐全")
    reviewer_page.click("button[value=review]")
    reviewer_page.wait_for_selector("#claim-status >> text=已审核")
    context.close()

    # a different user, the approver, approves it
    context, approver_page = new_page(browser)
    login_in_browser(approver_page, live_server, approver.username)
    approver_page.click("nav.mainnav >> text=住院补偿")
    approver_page.click("table.claims >> text=F001-2026-000321")
    approver_page.wait_for_url(f"{live_server.url}/claims/{claim.pk}/")
    approver_page.wait_for_selector("#claim-status")
    assert "已由 " + reviewer.display_name + " 审核" in approver_page.content()
    approver_page.click("button[value=approve]")
    approver_page.wait_for_selector("#claim-status >> text=已审批")
    timeline = approver_page.inner_text("ol.timeline")
    assert timeline.index("提交") < timeline.index("审核") < timeline.index("审批")
    context.close()

    claim.refresh_from_db()
    assert (claim.status, claim.reviewed_by, claim.approved_by) == ("approved", reviewer, approver)
    assert claim.approved_by != claim.reviewed_by
