"""A recovery (追回) from an inspection: a reviewer or fund officer names one of the inspected
facility's paid claims by invoice number; the inspection page lists its recoveries and the
penalty's deducted and outstanding amounts; every other role is refused."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import Role
from claims.models import Recovery
from oversight.models import Inspection
from oversight.services import inspection_record
from tests.factories import ClaimFactory, FacilityFactory, HouseholdFactory, MemberFactory
from tests.fund.conftest import cashier, funded, policy_2026  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FORM = {"invoice_no": "F001-INV-1", "amount": "80.00", "on": "2026-06-10", "reason": "检查发现挂床住院"}


@pytest.fixture(autouse=True)
def _today(clock):
    clock("2026-06-15 10:00")


@pytest.fixture
def inspection(facility, users_by_role):
    return inspection_record(user=users_by_role[Role.FUND_OFFICER], facility=facility, inspected_on=date(2026, 5, 12),
                             inspectors="张检查", findings="挂床住院", penalty_amount=Decimal("500.00"),
                             deduct_from_settlements=True, documents=[])


def paid(village, facility, invoice_no, status="paid"):
    return ClaimFactory(member=MemberFactory(household=HouseholdFactory(village=village), name="王小明"),
                        facility=facility, invoice_no=invoice_no, status=status, channel="facility",
                        paid_at=datetime(2026, 4, 1, 10, tzinfo=SHANGHAI) if status == "paid" else None)


def url(inspection, name="oversight:inspection_recover"):
    return reverse(name, args=[inspection.pk])


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FUND_OFFICER])
def test_a_recovery_from_an_inspection(client, users_by_role, inspection, village, facility, role):
    claim = paid(village, facility, "F001-INV-1")
    client.force_login(users_by_role[role])
    response = client.post(url(inspection), FORM, follow=True)
    recovery = Recovery.objects.get()
    assert (recovery.claim, recovery.source, recovery.source_id, recovery.amount) == (
        claim, "inspection", inspection.pk, Decimal("80.00"))
    page = response.content.decode()
    assert "已登记追回 80.00 元（补偿申请 F001-INV-1）" in page and "检查发现挂床住院" in page


def test_the_claim_must_be_a_paid_one_of_that_facility(client, users_by_role, inspection, village, facility,
                                                      other_township):
    elsewhere = FacilityFactory(code="F102", township=other_township)
    paid(village, elsewhere, "F102-INV-1")
    paid(village, facility, "F001-INV-2", status="approved")
    client.force_login(users_by_role[Role.REVIEWER])
    for invoice, words in (("F102-INV-1", "没有发票号为「F102-INV-1」的补偿申请"), ("", "请填写被检查机构"),
                           ("F001-INV-2", "只有已兑付的申请才能追回")):
        response = client.post(url(inspection), {**FORM, "invoice_no": invoice}, follow=True)
        assert words in response.content.decode(), invoice
    paid(village, facility, "F001-INV-1")
    response = client.post(url(inspection), {**FORM, "on": "2026-06-20"}, follow=True)
    assert "晚于今天" in response.content.decode()
    assert not Recovery.objects.exists()


def test_the_page_lists_recoveries_and_the_penalty_deducted_and_outstanding(
        client, users_by_role, inspection, village, facility):
    paid(village, facility, "F001-INV-1")
    client.force_login(users_by_role[Role.REVIEWER])
    client.post(url(inspection), FORM)
    Inspection.objects.filter(pk=inspection.pk).update(deducted_amount=Decimal("200.00"))
    for role in (Role.FACILITY_CLERK, Role.AUDITOR):
        client.force_login(users_by_role[role])
        page = client.get(url(inspection, "oversight:inspection_detail")).content.decode()
        assert "F001-INV-1" in page and "检查发现挂床住院" in page and "recovery-form" not in page
        assert "已扣 200.00 元，待扣 300.00 元" in page


@pytest.mark.parametrize("role", [Role.CASHIER, Role.APPROVER, Role.AUDITOR, Role.TOWNSHIP_CLERK,
                                  Role.FACILITY_CLERK, Role.ADMINISTRATOR])
def test_other_roles_may_not_record(client, users_by_role, inspection, village, facility, role):
    paid(village, facility, "F001-INV-1")
    client.force_login(users_by_role[role])
    assert client.post(url(inspection), FORM).status_code == 403
    assert not Recovery.objects.exists()


def test_anonymous_is_sent_to_login(client, inspection):
    response = client.post(url(inspection), FORM)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_page_names_the_statements_that_withheld_the_penalty(
        client, users_by_role, funded, cashier, village, facility):  # noqa: F811
    from fund.statements import statement_pay
    from tests.fund.test_statements import _facility_claim

    inspection = inspection_record(user=users_by_role[Role.FUND_OFFICER], facility=facility,
                                   inspected_on=date(2026, 3, 20), inspectors="张检查", findings="挂床住院",
                                   penalty_amount=Decimal("150.00"), deduct_from_settlements=True, documents=[])
    _facility_claim(village, facility, "600.00")
    statement_pay(user=cashier, facility=facility, year=2026, month=4, on=date(2026, 5, 6), ref="YH-4")
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    page = client.get(url(inspection, "oversight:inspection_detail")).content.decode()
    assert "已扣 150.00 元，待扣 0.00 元" in page and "2026年4月结算单扣 150.00 元（YH-4）" in page
