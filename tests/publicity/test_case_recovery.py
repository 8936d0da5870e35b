"""A recovery (追回) from an objection or a report: a reviewer or fund officer records it on the
case page against the paid claim the case concerns (source objection/report, the case's id);
the case page lists the recoveries it led to; every other role is refused."""
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from claims.models import Recovery
from publicity import services

FORM = {"amount": "50.00", "on": "2026-06-10", "reason": "异议属实：重复收费"}


@pytest.fixture(autouse=True)
def _today(clock):
    clock("2026-06-15 10:00")


@pytest.fixture
def objection(county):
    line = services.notices_publish(year=2026, month=3)[0].lines.first()
    return services.objection_file(line=line, text="此人当月并未住院", phone="13800001111")


def recover(kind, case):
    return reverse("publicity_staff:case_recover", args=[kind, case.pk])


def detail(kind, case):
    return reverse("publicity_staff:case_detail", args=[kind, case.pk])


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FUND_OFFICER])
def test_a_recovery_from_an_objection_is_linked_to_it(client, users_by_role, objection, role):
    client.force_login(users_by_role[role])
    page = client.get(detail("objection", objection)).content.decode()
    assert "recovery-form" in page and objection.line.claim.invoice_no in page
    response = client.post(recover("objection", objection), {**FORM, "claim": objection.line.claim_id}, follow=True)
    recovery = Recovery.objects.get()
    assert (recovery.claim_id, recovery.source, recovery.source_id, recovery.amount, recovery.created_by) == (
        objection.line.claim_id, "objection", objection.pk, Decimal("50.00"), users_by_role[role])
    page = response.content.decode()
    assert "已登记追回 50.00 元" in page and "异议属实：重复收费" in page


def test_a_recovery_from_a_report_by_its_invoice(client, users_by_role, county):
    claim = county["claims"][0]
    report = services.report_file(text="发票重复收费，请调查", facility=claim.facility, invoice_no=claim.invoice_no)
    unrelated = services.report_file(text="挂床住院，请调查", facility=claim.facility)
    client.force_login(users_by_role[Role.FUND_OFFICER])
    assert "recovery-form" not in client.get(detail("report", unrelated)).content.decode()
    response = client.post(recover("report", unrelated), FORM, follow=True)
    assert "本件没有涉及已兑付的补偿申请" in response.content.decode()
    client.post(recover("report", report), FORM)  # one claim concerned: no need to choose it
    recovery = Recovery.objects.get()
    assert (recovery.claim, recovery.source, recovery.source_id) == (claim, "report", report.pk)
    # the recovery is listed on its own case only
    assert "异议属实：重复收费" in client.get(detail("report", report)).content.decode()
    objection = services.objection_file(line=services.notices_publish(year=2026, month=3)[0].lines.first(),
                                        text="补偿金额不对，请核实", phone="13800001111")
    assert "异议属实" not in client.get(detail("objection", objection)).content.decode()
    assert "没有追回记录" in client.get(detail("objection", objection)).content.decode()


def test_a_claim_the_case_does_not_concern_is_refused(client, users_by_role, objection, county):
    other = next(claim for claim in county["claims"] if claim.pk != objection.line.claim_id)
    client.force_login(users_by_role[Role.REVIEWER])
    response = client.post(recover("objection", objection), {**FORM, "claim": other.pk}, follow=True)
    assert "请选择本件涉及的一笔已兑付补偿申请" in response.content.decode()
    assert not Recovery.objects.exists()


def test_a_refusal_is_shown_and_nothing_written(client, users_by_role, objection):
    client.force_login(users_by_role[Role.REVIEWER])
    response = client.post(recover("objection", objection), {**FORM, "amount": "99999.00"}, follow=True)
    assert "超过补偿申请" in response.content.decode()
    assert not Recovery.objects.exists()


@pytest.mark.parametrize("role", [Role.CASHIER, Role.APPROVER, Role.AUDITOR, Role.TOWNSHIP_CLERK,
                                  Role.FACILITY_CLERK, Role.ADMINISTRATOR])
def test_other_roles_may_not_record(client, users_by_role, objection, role):
    client.force_login(users_by_role[role])
    assert client.post(recover("objection", objection), FORM).status_code == 403
    if role not in (Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK):
        assert "recovery-form" not in client.get(detail("objection", objection)).content.decode()
    assert not Recovery.objects.exists()


def test_anonymous_is_sent_to_login(client, objection):
    response = client.post(recover("objection", objection), FORM)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Recovery.objects.exists()
