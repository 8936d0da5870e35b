"""The fund officer's recoveries page (/fund/recoveries/): every recovery with what is owed; a
facility's is withheld on its statements ("从结算单扣回", with the statements that did), a
household's stays outstanding until the fund officer records its refund (fund.refund), which the
ledger books. Scoping of both views for every role."""
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from claims.services import claim_recover
from fund.models import RecoveryRefund
from fund.statements import statement_pay
from ledger.selectors import account_balance
from tests.fund.test_statements import _facility_claim, _paid_claim

LIST = "/fund/recoveries/"


@pytest.fixture
def today(clock):
    clock("2026-06-15 10:00")
    return date(2026, 6, 15)


@pytest.fixture
def recoveries(db, funded, village, facility, cashier, today):
    """A household's recovery (township channel, 300.00 of 810.00) and a facility's (100.00),
    withheld on the facility's April statement."""
    household = _paid_claim(village, facility, "810.00", cashier)
    at_facility = _paid_claim(village, facility, "250.00", cashier, channel="facility")
    _facility_claim(village, facility, "600.00")
    township = claim_recover(user=None, claim=household, amount="300.00", reason="重复收费", on=date(2026, 4, 2),
                             check_user=False)
    withheld = claim_recover(user=None, claim=at_facility, amount="100.00", reason="超标准收费",
                             on=date(2026, 4, 2), check_user=False)
    statement_pay(user=cashier, facility=facility, year=2026, month=4, on=date(2026, 5, 6), ref="YH-4")
    return {"township": township, "facility": withheld}


def refund_url(recovery):
    return reverse("fund:refund_create", args=[recovery.pk])


def test_the_list_url_is_fund_recoveries():
    assert reverse("fund:recovery_list") == LIST


@pytest.mark.parametrize("role", [Role.FUND_OFFICER, Role.AUDITOR, Role.CASHIER, Role.ADMINISTRATOR])
def test_fund_roles_read_the_list(client, users_by_role, recoveries, role):
    client.force_login(users_by_role[role])
    page = client.get(LIST).content.decode()
    township, facility = recoveries["township"], recoveries["facility"]
    assert township.claim.invoice_no in page and facility.claim.invoice_no in page
    assert "从结算单扣回" in page and "2026年4月结算单已扣 100.00 元（YH-4）" in page
    assert "尚未退回" in page and "重复收费" in page
    assert ('class="refund-form"' in page) == (role == Role.FUND_OFFICER)
    assert page.count('class="refund-form"') <= 1  # only the township-channel one with something owed


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK])
def test_other_roles_may_not_read_it(client, users_by_role, recoveries, role):
    client.force_login(users_by_role[role])
    assert client.get(LIST).status_code == 403


def test_anonymous_is_sent_to_login(client, recoveries):
    for response in (client.get(LIST), client.post(refund_url(recoveries["township"]), {})):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_fund_officer_records_a_households_refund_and_the_ledger_books_it(
        client, users_by_role, recoveries):
    recovery = recoveries["township"]
    client.force_login(users_by_role[Role.FUND_OFFICER])
    before = account_balance("recovered", year=2026)
    response = client.post(refund_url(recovery), {"amount": "120.00", "date": "2026-06-01", "ref": "SJ-1"},
                           follow=True)
    page = response.content.decode()
    assert "已登记退款 120.00 元" in page and "2026-06-01 退回 120.00 元（SJ-1）" in page
    refund = RecoveryRefund.objects.get()
    assert (refund.recovery, refund.amount, refund.ref, refund.created_by) == (
        recovery, Decimal("120.00"), "SJ-1", users_by_role[Role.FUND_OFFICER])
    assert account_balance("recovered", year=2026) == before - Decimal("120.00")
    assert 'value="180.00"' in page  # the form offers what is still owed
    client.post(refund_url(recovery), {"amount": "180.00", "date": "2026-06-02", "ref": "SJ-2"})
    page = client.get(LIST).content.decode()
    assert 'class="refund-form"' not in page
    # both are settled now: the facility's withheld, the household's refunded
    assert "没有追回记录" in client.get(LIST, {"outstanding": "1"}).content.decode()


@pytest.mark.parametrize(("data", "words"), [
    ({"amount": "300.01", "date": "2026-06-01", "ref": "SJ-9"}, "超过尚欠的 300.00 元"),
    ({"amount": "abc", "date": "2026-06-01", "ref": "SJ-9"}, "退款金额"),
    ({"amount": "10.00", "date": "2026-06-20", "ref": "SJ-9"}, "晚于今天"),
    ({"amount": "10.00", "date": "2026-04-01", "ref": "SJ-9"}, "早于追回日期"),
    ({"amount": "10.00", "date": "2026-06-01", "ref": ""}, "请填写业务号"),
])
def test_a_refused_refund_is_shown_in_chinese_and_nothing_written(client, users_by_role, recoveries, data, words):
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.post(refund_url(recoveries["township"]), data, follow=True)
    assert words in response.content.decode()
    assert not RecoveryRefund.objects.exists()


def test_a_facilitys_recovery_takes_no_refund(client, users_by_role, recoveries):
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.post(refund_url(recoveries["facility"]), {"amount": "10.00", "date": "2026-06-01",
                                                                "ref": "SJ-9"}, follow=True)
    assert "从该机构下期结算单中扣回" in response.content.decode()
    assert not RecoveryRefund.objects.exists()


@pytest.mark.parametrize("role", [Role.CASHIER, Role.REVIEWER, Role.APPROVER, Role.AUDITOR, Role.TOWNSHIP_CLERK,
                                  Role.FACILITY_CLERK, Role.ADMINISTRATOR])
def test_other_roles_may_not_record_a_refund(client, users_by_role, recoveries, role):
    client.force_login(users_by_role[role])
    response = client.post(refund_url(recoveries["township"]), {"amount": "10.00", "date": "2026-06-01", "ref": "X"})
    assert response.status_code == 403
    assert not RecoveryRefund.objects.exists()
