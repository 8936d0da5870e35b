"""Browser journey (Chromium), who is paid: a facility settles three stays through the API, the
reviewer and the approver pass them, the fund officer records an inspection penalty to deduct and
a recovery of an earlier claim, the cashier pays the facility's monthly statement (with its
confirmation step) and downloads the facilities' bank file, and the facility reads its statement."""
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from accounts.models import Role
from claims.models import Claim, Recovery
from claims.services import claim_approve, claim_review, claim_settle
from core.money import format_yuan
from fund.models import FacilityStatement
from fund.selectors import reconciliation
from fund.statements import statement_pay
from ledger.selectors import account_balance
from ledger.services import funds_transfer, income_record
from oversight.models import Inspection
from tests.claims.conftest import facts, line, policy, policy_document  # noqa: F401  (fixtures)
from tests.conftest import login_in_browser
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n%inspection report\n"


def new_page(browser):
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the user says yes to each confirmation
    page.set_default_timeout(15000)
    return context, page


def test_a_facility_is_paid_its_statement_less_what_it_owes(browser, live_server, clock, policy, facility, village,
                                                             make_user, tmp_path):
    clock("2026-07-03 10:00")
    facility.bank_name, facility.bank_account = "农村商业银行", "6230581000000000001"
    facility.save()
    clerk = make_user(Role.FACILITY_CLERK, facility=facility, username="fclerk")
    reviewer = make_user(Role.REVIEWER, username="reviewer")
    approver = make_user(Role.APPROVER, username="approver")
    officer = make_user(Role.FUND_OFFICER, username="officer")
    cashier = make_user(Role.CASHIER, username="cashier")
    income_record(user=None, year=2026, date=date(2026, 1, 10), source="central", amount="50000.00", ref="C-1")
    funds_transfer(user=None, year=2026, date=date(2026, 1, 11), amount="20000.00", ref="T-1")
    members = []
    for name in ("王小明", "李秀英", "张建国", "赵玉兰"):
        person = MemberFactory(household=HouseholdFactory(village=village), name=name)
        EnrollmentFactory(member=person, year=2026)
        members.append(person)
    # February: a stay settled, passed and paid on February's statement; found paid wrongly later
    earlier, _ = claim_settle(user=clerk, facts=facts(members[3], invoice_no="F001-2026-000100",
                                                      admission_date="2026-02-01", discharge_date="2026-02-06"))
    claim_approve(user=approver, claim=claim_review(user=reviewer, claim=earlier))
    statement_pay(user=cashier, facility=facility, year=2026, month=2, on=date(2026, 3, 5), ref="JS-F001-202602")

    # the facility settles three June stays through the API
    context, page = new_page(browser)
    token = Token.objects.create(user=clerk).key
    invoices = []
    for number, person in enumerate(members[:3], start=1):
        invoice = f"F001-2026-00020{number}"
        body = line(person, invoice_no=invoice, admission_date=f"2026-06-0{number}",
                    discharge_date=f"2026-06-1{number}")
        body.pop("facility")
        response = page.request.post(f"{live_server.url}/api/v1/claims/", data=body,
                                     headers={"Authorization": f"Token {token}"})
        assert response.status == 201, response.text()
        invoices.append(invoice)
    claims = {claim.invoice_no: claim for claim in Claim.objects.filter(invoice_no__in=invoices)}
    compensation = sum((claim.compensation for claim in claims.values()), Decimal("0.00"))
    context.close()

    # the reviewer reviews each, a different user approves each
    for user, button, status in ((reviewer, "review", "已审核"), (approver, "approve", "已审批")):
        context, page = new_page(browser)
        login_in_browser(page, live_server, user.username)
        for invoice in invoices:
            page.goto(f"{live_server.url}/claims/{claims[invoice].pk}/")
            page.click(f"button[value={button}]")
            page.wait_for_selector(f"#claim-status >> text={status}")
        context.close()

    # the fund officer records an inspection penalty to deduct, and a recovery of February's claim
    report = tmp_path / "检查报告.pdf"
    report.write_bytes(PDF)
    context, page = new_page(browser)
    login_in_browser(page, live_server, officer.username)
    page.goto(f"{live_server.url}/facilities/{facility.pk}/")
    page.fill("#inspection-form input[name=inspected_on]", "2026-06-20")
    page.fill("#inspection-form input[name=inspectors]", "王检查、赵监督")
    page.fill("#inspection-form textarea[name=findings]", "挂床住院 1 例")
    page.fill("#inspection-form input[name=penalty_amount]", "100.00")
    page.check("#inspection-form input[name=deduct_from_settlements]")
    page.set_input_files("#inspection-form input[name=documents]", str(report))
    page.click("#inspection-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/facilities/{facility.pk}/")
    page.goto(f"{live_server.url}/claims/{earlier.pk}/")
    page.fill("form.recovery-form input[name=amount]", "50.00")
    page.fill("form.recovery-form input[name=on]", "2026-06-28")
    page.fill("form.recovery-form [name=reason]", "重复收取检查费")
    page.click("form.recovery-form button[value=recover]")
    page.wait_for_selector("#recoveries >> text=重复收取检查费")
    assert page.inner_text("#claim-recovered") == "50.00"
    context.close()

    # the cashier pays June's statement: three claims less 50.00 recovered and 100.00 penalty
    net = compensation - Decimal("150.00")
    context, page = new_page(browser)
    login_in_browser(page, live_server, cashier.username)
    page.click("text=机构结算单")
    page.goto(f"{live_server.url}/fund/statements/?year=2026&month=6")
    page.click(f"tr:has-text('{facility.code}') >> text=查看")
    page.wait_for_url(f"{live_server.url}/fund/statements/{facility.code}/2026/6/")
    assert "重复收取检查费" in page.inner_text("#statement-withheld")
    page.click("#pay-form button[type=submit]")
    confirm = page.inner_text("#confirm-pay")
    assert "3" in confirm and format_yuan(net) in confirm
    page.click("#confirm-button")
    page.wait_for_selector("#paid-state >> text=已支付")
    page.goto(f"{live_server.url}/fund/statements/?year=2026&month=6")
    with page.expect_download() as download:
        page.click("text=下载已支付结算单银行支付文件")
    path = tmp_path / "bank.xlsx"
    download.value.save_as(path)
    rows = [row for row in load_workbook(path).active.iter_rows(values_only=True)]
    assert any(facility.bank_account in [str(cell) for cell in row] and Decimal(str(
        [cell for cell in row if isinstance(cell, (int, float, Decimal)) and not isinstance(cell, bool)][-1]
    )).quantize(Decimal("0.01")) == net for row in rows)
    context.close()

    # the facility reads its statement
    context, page = new_page(browser)
    login_in_browser(page, live_server, clerk.username)
    page.click("text=本机构结算单")
    page.click(f"a[href*='/facilities/statements/{facility.code}/2026/6/']")
    assert "已支付" in page.inner_text("#paid-state")
    assert format_yuan(net) in page.content()
    context.close()

    statement = FacilityStatement.objects.get(facility=facility, year=2026, month=6)
    assert (statement.claims_count, statement.compensation, statement.recoveries, statement.penalties,
            statement.net, statement.paid_by) == (3, compensation, Decimal("50.00"), Decimal("100.00"), net, cashier)
    assert set(Claim.objects.filter(invoice_no__in=invoices).values_list("status", flat=True)) == {"paid"}
    assert Inspection.objects.get().deducted_amount == Decimal("100.00")
    assert Recovery.objects.get().claim == earlier
    assert account_balance("recovered", year=2026) == Decimal("-50.00")
    assert account_balance("penalty", year=2026) == Decimal("-100.00")
    # (the factories' enrollments booked no contributions: only the payouts' side is compared)
    assert [d for d in reconciliation(2026) if d.kind != "contributions"] == []
