"""Fund pages: who may open them (anonymous → login, wrong role → 403, a claim out of reach →
404), what they show, and the writes they make through the services."""
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from claims.models import Claim
from ledger.models import LedgerTransaction
from tests.conftest import PASSWORD
from tests.fund.conftest import approved_claim

pytestmark = pytest.mark.django_db

PAGES = {  # url name → (method, capability holders)
    "fund:ledger": ("get", {Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR, Role.CASHIER}),
    "fund:reconciliation": ("get", {Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR, Role.CASHIER}),
    "fund:income_create": ("get", {Role.FUND_OFFICER}),
    "fund:transfer_create": ("get", {Role.FUND_OFFICER}),
    "fund:payout_queue": ("get", {Role.CASHIER}),
    "fund:payout_pay": ("post", {Role.CASHIER}),
    "fund:bank_file": ("get", {Role.CASHIER}),
}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_login(client, name):
    response = getattr(client, PAGES[name][0])(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("name", PAGES)
def test_roles_without_the_capability_get_403(client, users_by_role, name):
    method, allowed = PAGES[name]
    for role, user in users_by_role.items():
        client.force_login(user)
        response = getattr(client, method)(reverse(name))
        if role in allowed:
            assert response.status_code in (200, 302, 404), (role, response.status_code)
        else:
            assert response.status_code == 403, role


def test_ledger_shows_balances_and_lines(client, funded, users_by_role):
    client.force_login(users_by_role[Role.AUDITOR])
    page = client.get(reverse("fund:ledger"), {"year": 2026}).content.decode()
    assert "4,700.00" in page and "300.00" in page and "5,000.00" in page and "C-1" in page
    assert "财政专户合计（含风险基金）" in page and "5,000.00" in page


def test_fund_officer_books_income_and_a_duplicate_is_refused(client, policy_2026, make_user):
    login(client, make_user(Role.FUND_OFFICER, username="fo"))
    data = {"year": 2026, "date": "2026-02-01", "source": "provincial", "amount": "1000.00", "ref": "SZ-1"}
    response = client.post(reverse("fund:income_create"), data)
    assert response.status_code == 302
    entry = LedgerTransaction.objects.get()
    assert (entry.ref, entry.date) == ("SZ-1", date(2026, 2, 1))
    again = client.post(reverse("fund:income_create"), data)
    assert again.status_code == 200 and "已经记过账" in again.content.decode()
    assert LedgerTransaction.objects.count() == 1


def test_transfer_beyond_the_reserve_is_refused_on_the_page(client, funded, fund_officer):
    client.force_login(fund_officer)
    response = client.post(reverse("fund:transfer_create"),
                           {"year": 2026, "date": "2026-03-01", "amount": "4700.01", "ref": "T-2"})
    assert response.status_code == 200 and "不足划拨" in response.content.decode()
    assert LedgerTransaction.objects.filter(kind="transfer").count() == 1


def test_cashier_pays_one_and_a_double_click_is_refused_clearly(client, funded, cashier, village):
    claim = approved_claim(village, "810.00")
    client.force_login(cashier)
    queue = client.get(reverse("fund:payout_queue")).content.decode()
    assert claim.invoice_no in queue
    first = client.post(reverse("fund:payout_pay"), {"pay_one": claim.pk}, follow=True)
    assert "已兑付 1 件，合计 810.00 元" in first.content.decode()
    second = client.post(reverse("fund:payout_pay"), {"pay_one": claim.pk}, follow=True)
    assert "不能重复兑付" in second.content.decode()
    assert LedgerTransaction.objects.filter(kind="payout").count() == 1
    assert Claim.objects.get(pk=claim.pk).status == "paid"


def test_a_batch_short_of_money_pays_nothing(client, funded, cashier, village):
    claims = [approved_claim(village, "3000.00"), approved_claim(village, "2000.01")]
    client.force_login(cashier)
    response = client.post(reverse("fund:payout_pay"), {"claim": [c.pk for c in claims]}, follow=True)
    assert "不足兑付" in response.content.decode()
    assert set(Claim.objects.values_list("status", flat=True)) == {"approved"}


def test_an_unknown_claim_is_404(client, funded, cashier):
    client.force_login(cashier)
    assert client.post(reverse("fund:payout_pay"), {"claim": [999999]}).status_code == 404
    assert client.get(reverse("fund:bank_file"), {"claim": [999999]}).status_code == 404


def test_a_claim_out_of_the_users_scope_is_404(client, funded, village, make_user, township, monkeypatch):
    """Fund roles are county-wide; were a cashier ever scoped (Claim.objects.for_user), a claim
    outside the scope is a 404, not a payout."""
    claim = approved_claim(village)
    cashier = make_user(Role.CASHIER, username="scoped")
    monkeypatch.setattr(Claim.objects.__class__, "for_user", lambda self, user: Claim.objects.none(),
                        raising=False)
    from claims import models as claim_models

    monkeypatch.setattr(claim_models.ClaimQuerySet, "for_user", lambda self, user: self.none())
    client.force_login(cashier)
    assert client.post(reverse("fund:payout_pay"), {"pay_one": claim.pk}).status_code == 404
    assert client.get(reverse("fund:bank_file"), {"claim": [claim.pk]}).status_code == 404
    assert Claim.objects.get(pk=claim.pk).status == "approved"


def test_bank_file_lists_each_household_account_as_text(client, funded, cashier, village):
    claims = [approved_claim(village, "810.00"), approved_claim(village, "120.50")]
    client.force_login(cashier)
    response = client.get(reverse("fund:bank_file"), {"claim": [c.pk for c in claims]})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("户主姓名", "开户银行", "银行账号", "金额", "发票号", "参合人员", "户号")
    assert [(r[1], r[2], Decimal(str(r[3])), r[4]) for r in rows[1:-1]] == [
        ("农商银行", "6228480012345678901", Decimal("810.00"), claims[0].invoice_no),
        ("农商银行", "6228480012345678901", Decimal("120.50"), claims[1].invoice_no)]
    assert sheet.cell(row=2, column=3).data_type == "s" and sheet.cell(row=2, column=3).number_format == "@"
    # a total row the bank checks the transfer against, the amount numeric
    assert rows[-1][0] == "合计 2 笔" and Decimal(str(rows[-1][3])).quantize(Decimal("0.01")) == Decimal("930.50")


def test_bank_file_writes_text_as_text(client, funded, cashier, village):
    claim = approved_claim(village, "810.00")
    household = claim.member.household
    household.bank_name = '=HYPERLINK("http://evil.example/","农村商业银行")'
    household.save()
    client.force_login(cashier)
    response = client.get(reverse("fund:bank_file"), {"claim": [claim.pk]})
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet.cell(row=2, column=2).value == "'" + household.bank_name
    assert sheet.cell(row=2, column=2).data_type == "s"


def test_reconciliation_page_lists_differences(client, funded, users_by_role, village):
    from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

    client.force_login(users_by_role[Role.AUDITOR])
    page = client.get(reverse("fund:reconciliation"), {"year": 2026}).content.decode()
    assert "没有差异" in page
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=village)))
    page = client.get(reverse("fund:reconciliation"), {"year": 2026}).content.decode()
    assert "发现 1 处差异" in page and "380.00" in page


def test_nav_shows_the_fund_to_its_roles(client, users_by_role):
    client.force_login(users_by_role[Role.CASHIER])
    page = client.get("/").content.decode()
    assert reverse("fund:payout_queue") in page and reverse("fund:ledger") in page
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])  # their fund report, not the ledger
    page = client.get("/").content.decode()
    assert f'href="{reverse("fund:ledger")}"' not in page and f'href="{reverse("fund_report:dashboard")}"' in page


@pytest.mark.parametrize("next_url", ["//evil.example/x", "https://evil.example/x", "/\\evil.example/x",
                                      "javascript:alert(1)"])
def test_after_paying_the_cashier_stays_on_this_site(client, funded, cashier, village, next_url):
    claim = approved_claim(village, "810.00")
    client.login(username=cashier.username, password=PASSWORD)
    response = client.post(reverse("fund:payout_pay"), {"pay_one": claim.pk, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("fund:payout_queue")


def test_after_paying_the_cashier_returns_to_the_queue_page_they_came_from(client, funded, cashier, village):
    claim = approved_claim(village, "810.00")
    client.login(username=cashier.username, password=PASSWORD)
    back = reverse("fund:payout_queue") + "?page=2"
    response = client.post(reverse("fund:payout_pay"), {"pay_one": claim.pk, "next": back})
    assert response["Location"] == back


@pytest.mark.parametrize("name", ["fund:income_create", "fund:transfer_create"])
def test_booking_forms_prefill_an_iso_date_explain_the_ref_and_say_why_nothing_was_booked(client, fund_officer,
                                                                                            name, clock):
    clock("2026-12-05 00:30")  # after local midnight: the county's date, written as the date input needs
    client.force_login(fund_officer)
    page = client.get(reverse(name)).content.decode()
    assert 'name="date" value="2026-12-05"' in page
    assert "同一业务号只能记账一次" in page
    blank = client.post(reverse(name), {"year": "", "date": "", "amount": "", "ref": ""}).content.decode()
    assert 'id="form-errors-summary"' in blank and "未记账" in blank
    assert LedgerTransaction.objects.count() == 0


def test_ledger_names_accounts_in_words_and_shows_income_as_a_positive_credit(client, funded, users_by_role):
    """10,000.00 central subsidy: its income account has a credit balance shown as 贷 10,000.00,
    never as -10000.00; the accounts are named, not coded; the convention is explained."""
    client.force_login(users_by_role[Role.AUDITOR])
    page = client.get(reverse("fund:ledger"), {"year": 2026}).content.decode()
    row = page[page.index('id="account-income_central"'):]
    row = row[:row.index("</tr>")]
    assert 'data-side="credit"' in row and "中央财政补助收入" in row and ">贷<" in row and "10,000.00" in row
    assert "-10" not in row and ">income_central<" not in page and ">special<" not in page
    special = page[page.index('id="account-special"'):]
    assert ">借<" in special[:special.index("</tr>")]
    assert 'id="balance-note"' in page and "收入科目为贷方余额" in page


def test_the_payout_queue_shows_flags_and_keeps_recent_batches(client, funded, cashier, village):
    from django.utils import timezone

    from oversight.models import ClaimFlag

    flagged, other = approved_claim(village, "810.00"), approved_claim(village, "120.00")
    ClaimFlag.objects.create(claim=flagged, kind="readmission_15d", detail="出院后 5 天再次入院",
                             computed_at=timezone.now())
    client.force_login(cashier)
    page = client.get(reverse("fund:payout_queue")).content.decode()
    row = page[page.index(f'id="claim-{flagged.pk}"'):]
    assert "flag-readmission_15d" in row[:row.index("</tr>")]
    assert 'data-amount="810.00"' in page
    client.post(reverse("fund:payout_pay"), {"pay_one": other.pk, "idempotency_key": "k" * 32})
    again = client.get(reverse("fund:payout_queue")).content.decode()
    again = client.get(reverse("fund:payout_queue")).content.decode()  # a reload: still offered
    assert 'id="recent-batches"' in again and f"claim={other.pk}" in again
