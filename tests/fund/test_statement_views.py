"""Facilities' monthly statements (结算单) on the web (fund.views_statements): the county's month
list, a statement page, the cashier's two-step payment, the paid statements' bank file, the PDF
with the net in capital numerals, and a facility clerk's own statements."""
import io
import re
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from claims.models import ClaimStatus
from fund.models import FacilityStatement
from fund.statements import statement_pay
from fund.views_statements import last_complete_month
from tests.factories import FacilityFactory, InspectionFactory
from tests.fund.conftest import approved_claim

pytestmark = pytest.mark.django_db

READERS = (Role.CASHIER, Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR)
NOT_READERS = (Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK, Role.REVIEWER, Role.APPROVER)


@pytest.fixture
def today(clock):
    clock("2026-06-15 10:00")
    return date(2026, 6, 15)


@pytest.fixture
def march(funded, village, facility, today):
    """The facility's March 2026: two facility-channel claims (1,200.00 and 845.67) and a
    deductible penalty of 100.00; and another facility's claim of 300.00."""
    facility.bank_name, facility.bank_account = "农商银行城关支行", "6228480000000000001"
    facility.save()
    claims = [approved_claim(village, amount, facility=facility, channel="facility",
                             admission_date=date(2026, 3, day), discharge_date=date(2026, 3, day + 3))
              for amount, day in (("1200.00", 2), ("845.67", 10))]
    InspectionFactory(facility=facility, date=date(2026, 3, 20), penalty_amount=Decimal("100.00"),
                      deduct_from_settlements=True, findings="挂床住院")
    other = FacilityFactory(code="F900", name="=HYPERLINK(\"x\")卫生院", bank_name="+农商银行",
                            bank_account="-622848")
    other_claim = approved_claim(village, "300.00", facility=other, channel="facility",
                                 admission_date=date(2026, 3, 1), discharge_date=date(2026, 3, 4))
    return {"facility": facility, "claims": claims, "other": other, "other_claim": other_claim}


def _detail(code, year=2026, month=3, name="fund:statement_detail"):
    return reverse(name, args=[code, year, month])


def _login(client, users_by_role, role):
    client.force_login(users_by_role[role])
    return client


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "statement.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return re.sub(r"[ \t]+", " ", text)


def test_last_complete_month():
    assert last_complete_month(date(2026, 6, 15)) == (2026, 5)
    assert last_complete_month(date(2026, 1, 1)) == (2025, 12)
    assert last_complete_month(date(2026, 3, 31)) == (2026, 2)


# --- the county's pages --------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_the_fund_roles_read_the_months_statements(client, users_by_role, march, role):
    response = _login(client, users_by_role, role).get(reverse("fund:statements") + "?year=2026&month=3")
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(r'<tr id="statement-F001">(.*?)</tr>', html, re.S).group(1)
    assert "2,045.67" in row and "100.00" in row and "1,945.67" in row and "未支付" in row
    assert march["facility"].name in row
    assert 'id="statement-F900"' in html
    assert ">2,245.67<" in html  # the month's total net
    assert _detail("F001") in html


def test_the_list_defaults_to_the_last_complete_month(client, users_by_role, march):
    response = _login(client, users_by_role, Role.AUDITOR).get(reverse("fund:statements"))
    assert response.status_code == 200
    assert "2026-05" in response.content.decode()
    # March's claims are still unpaid: May's statement holds them
    assert "1,945.67" in response.content.decode()


@pytest.mark.parametrize("role", NOT_READERS)
def test_other_roles_are_refused(client, users_by_role, march, role):
    client = _login(client, users_by_role, role)
    for url in (reverse("fund:statements"), _detail("F001"), _detail("F001", name="fund:statement_pdf"),
                reverse("fund:statement_bank_file") + "?year=2026&month=3"):
        assert client.get(url).status_code == 403


def test_anonymous_is_sent_to_login(client, march):
    for url in (reverse("fund:statements"), _detail("F001"), reverse("facility_statements:statements")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", READERS)
def test_the_statement_page_lists_claims_withholdings_and_bank(client, users_by_role, march, role):
    response = _login(client, users_by_role, role).get(_detail("F001"))
    assert response.status_code == 200
    html = response.content.decode()
    for claim in march["claims"]:
        assert claim.invoice_no in html and claim.member.name in html
    assert "845.67" in html and "2026-03-13" in html
    assert "监督检查扣罚：挂床住院" in html
    assert "农商银行城关支行" in html and "6228480000000000001" in html
    assert "壹仟玖佰肆拾伍元陆角柒分" in html
    assert march["other_claim"].invoice_no not in html
    # only the cashier is offered the payment form
    assert ('id="pay-form"' in html) == (role == Role.CASHIER)
    if role == Role.CASHIER:
        assert 'value="JS-F001-202603"' in html and 'type="date" name="paid_on" value="2026-06-15"' in html


def test_a_month_without_a_statement_says_so(client, users_by_role, march):
    response = _login(client, users_by_role, Role.CASHIER).get(_detail("F001", 2026, 2))
    assert response.status_code == 200 and 'id="no-statement"' in response.content.decode()
    assert client.get(_detail("F001", 2026, 2, name="fund:statement_pdf")).status_code == 404
    assert client.get(_detail("NOPE")).status_code == 404
    assert client.get(_detail("F001", 2026, 13)).status_code == 404


def _pay_post(client, code="F001", **data):
    body = {"paid_on": "2026-06-15", "ref": "JS-F001-202603", **data}
    return client.post(_detail(code, name="fund:statement_pay"), body)


def test_the_cashier_confirms_then_pays(client, users_by_role, march):
    client = _login(client, users_by_role, Role.CASHIER)
    confirm = _pay_post(client)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert 'id="confirm-pay"' in html and "2 件补偿" in html and "1945.67" in html
    assert 'name="confirm" value="1"' in html and 'name="net" value="1945.67"' in html
    assert not FacilityStatement.objects.exists()  # the first step pays nothing

    paid = _pay_post(client, confirm="1", net="1945.67", claims="2")
    assert paid.status_code == 302 and paid["Location"] == _detail("F001")
    stored = FacilityStatement.objects.get()
    assert (stored.ref, stored.net, stored.paid_on, stored.paid_by) == (
        "JS-F001-202603", Decimal("1945.67"), date(2026, 6, 15), users_by_role[Role.CASHIER])
    for claim in march["claims"]:
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.PAID
    page = client.get(_detail("F001")).content.decode()
    assert "已支付 2026-06-15" in page and "JS-F001-202603" in page and 'id="pay-form"' not in page
    assert "已支付结算单 F001 2026年3月：2 件，实付 1,945.67 元" in page
    listing = client.get(reverse("fund:statements") + "?year=2026&month=3").content.decode()
    assert "已支付 2026-06-15 · JS-F001-202603" in listing

    again = _pay_post(client, confirm="1", net="1945.67", claims="2")  # the same confirmation again
    assert again.status_code == 302
    assert FacilityStatement.objects.count() == 1
    assert "重复提交，没有再次付款" in client.get(_detail("F001")).content.decode()


def test_a_refused_payment_shows_why_and_pays_nothing(client, users_by_role, march):
    client = _login(client, users_by_role, Role.CASHIER)
    statement_pay(user=users_by_role[Role.CASHIER], facility=march["other"], year=2026, month=3,
                  on=date(2026, 6, 1), ref="JS-TAKEN")
    response = _pay_post(client, ref="JS-TAKEN", confirm="1", net="1945.67", claims="2")
    assert response.status_code == 302
    page = client.get(_detail("F001")).content.decode()
    assert "业务号「JS-TAKEN」已用于 F900 2026年3月的结算单，本次未支付" in page
    assert FacilityStatement.objects.filter(facility=march["facility"]).count() == 0
    for claim in march["claims"]:
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.APPROVED


def test_a_statement_changed_since_the_confirmation_is_not_paid(client, users_by_role, march, village):
    client = _login(client, users_by_role, Role.CASHIER)
    approved_claim(village, "10.00", facility=march["facility"], channel="facility",
                   admission_date=date(2026, 3, 20), discharge_date=date(2026, 3, 21))
    response = _pay_post(client, confirm="1", net="1945.67", claims="2")
    assert response.status_code == 302
    assert "结算单在确认期间已有变化（现为 3 件，实付 1,955.67 元）" in client.get(_detail("F001")).content.decode()
    assert not FacilityStatement.objects.exists()


def test_a_bad_date_or_missing_ref_pays_nothing(client, users_by_role, march):
    client = _login(client, users_by_role, Role.CASHIER)
    _pay_post(client, paid_on="15/06/2026", confirm="1", net="1945.67", claims="2")
    assert "请填写支付日期" in client.get(_detail("F001")).content.decode()
    _pay_post(client, ref="  ", confirm="1", net="1945.67", claims="2")
    assert "请填写业务号" in client.get(_detail("F001")).content.decode()
    assert not FacilityStatement.objects.exists()


@pytest.mark.parametrize("role", [r for r in Role if r != Role.CASHIER])
def test_only_the_cashier_pays(client, users_by_role, march, role):
    response = _pay_post(_login(client, users_by_role, role), confirm="1", net="1945.67", claims="2")
    assert response.status_code == 403
    assert not FacilityStatement.objects.exists()


def test_the_bank_file_lists_the_paid_statements_with_a_total(client, users_by_role, march):
    cashier = users_by_role[Role.CASHIER]
    statement_pay(user=cashier, facility=march["facility"], year=2026, month=3, on=date(2026, 6, 15),
                  ref="JS-F001-202603")
    statement_pay(user=cashier, facility=march["other"], year=2026, month=3, on=date(2026, 6, 16), ref="@JS-F900")
    response = _login(client, users_by_role, Role.AUDITOR).get(
        reverse("fund:statement_bank_file") + "?year=2026&month=3")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("机构代码", "机构名称", "开户银行", "银行账号", "实付金额", "业务号", "支付日期")
    assert rows[1][:6] == ("F001", march["facility"].name, "农商银行城关支行", "6228480000000000001", 1945.67,
                           "JS-F001-202603")
    assert rows[1][6].date() == date(2026, 6, 15)
    # text that a spreadsheet would read as a formula is escaped
    assert rows[2][:6] == ("F900", "'=HYPERLINK(\"x\")卫生院", "'+农商银行", "'-622848", 300, "'@JS-F900")
    assert rows[3][0] == "合计" and rows[3][4] == 2245.67
    assert len(rows) == 4
    net = sheet.cell(row=2, column=5)
    assert net.data_type == "n" and net.number_format == "0.00"
    assert sheet.cell(row=4, column=5).number_format == "0.00"
    assert sheet.cell(row=2, column=4).data_type == "s"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_bank_file_of_a_month_without_payments_has_only_the_total(client, users_by_role, march):
    response = _login(client, users_by_role, Role.CASHIER).get(
        reverse("fund:statement_bank_file") + "?year=2026&month=3")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "合计" and rows[1][4] == 0


def test_the_pdf_holds_the_claims_the_penalty_and_the_net_in_words(client, users_by_role, march, tmp_path):
    response = _login(client, users_by_role, Role.FUND_OFFICER).get(_detail("F001", name="fund:statement_pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content, tmp_path)
    assert "结算单" in text and march["facility"].name in text and "2026年3月" in text
    for claim in march["claims"]:
        assert claim.invoice_no in text
    assert "挂床住院" in text and "1,945.67" in text
    assert "壹仟玖佰肆拾伍元陆角柒分" in text
    for words in ("经办人", "审核人", "机构签章"):
        assert words in text


# --- the facility clerk's pages ------------------------------------------------------------------


def _own(code, year=2026, month=3, name="facility_statements:statement_detail"):
    return reverse(name, args=[code, year, month])


def test_the_facility_clerk_reads_their_own_statements_only(client, users_by_role, march, tmp_path):
    client = _login(client, users_by_role, Role.FACILITY_CLERK)
    statement_pay(user=users_by_role[Role.CASHIER], facility=march["facility"], year=2026, month=3,
                  on=date(2026, 6, 15), ref="JS-F001-202603")
    listing = client.get(reverse("facility_statements:statements"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "JS-F001-202603" in html and "1,945.67" in html and _own("F001") in html
    assert "F900" not in html

    page = client.get(_own("F001"))
    assert page.status_code == 200
    html = page.content.decode()
    assert march["claims"][0].invoice_no in html and "已支付 2026-06-15" in html
    assert 'id="pay-form"' not in html and reverse("fund:statements") not in html
    claim_page = reverse("claims:claim_detail", args=[march["claims"][0].pk])
    assert f'href="{claim_page}"' in html and client.get(claim_page).status_code == 200
    pdf = client.get(_own("F001", name="facility_statements:statement_pdf"))
    assert pdf.status_code == 200 and "壹仟玖佰肆拾伍元陆角柒分" in pdf_text(pdf.content, tmp_path)

    assert client.get(_own("F900")).status_code == 404
    assert client.get(_own("F900", name="facility_statements:statement_pdf")).status_code == 404
    assert client.get(_detail("F001")).status_code == 403  # the county's pages are not theirs


def test_the_facility_clerk_sees_this_months_unpaid_statement(client, users_by_role, march):
    html = _login(client, users_by_role, Role.FACILITY_CLERK).get(
        reverse("facility_statements:statements")).content.decode()
    assert 'id="pending-statements"' in html and "2026-06" in html and "1,945.67" in html
    assert 'id="no-paid"' in html


@pytest.mark.parametrize("role", [r for r in Role if r != Role.FACILITY_CLERK])
def test_other_roles_do_not_reach_the_facility_pages(client, users_by_role, march, role):
    client = _login(client, users_by_role, role)
    assert client.get(reverse("facility_statements:statements")).status_code == 403
    assert client.get(_own("F001")).status_code == 403


def test_the_navigation_links_the_statements(client, users_by_role, march):
    html = _login(client, users_by_role, Role.CASHIER).get(reverse("fund:payout_queue")).content.decode()
    assert f'href="{reverse("fund:statements")}"' in html
    html = _login(client, users_by_role, Role.FACILITY_CLERK).get("/").content.decode()
    assert f'href="{reverse("facility_statements:statements")}"' in html
