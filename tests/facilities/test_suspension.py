"""Suspending and reinstating a designated facility: the settlement API refuses claims admitted on
or after the suspension date (facility_suspended), settles those admitted before, settles again
after reinstatement; every change is in the history with who and why; the pages and their scoping."""
from datetime import date

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from claims.models import Claim
from core.errors import NcmsError
from facilities.models import Facility, FacilityStatus
from facilities.services import facility_agreement_change, facility_reinstate, facility_suspend
from tests.claims.conftest import line, member, policy  # noqa: F401  (fixtures)

CLAIMS = "/api/v1/claims/"
REASON = "分解住院，违规收费"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer(users_by_role):
    return users_by_role[Role.FUND_OFFICER]


@pytest.fixture
def api(users_by_role, policy):  # noqa: F811
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=users_by_role[Role.FACILITY_CLERK])
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def settle(api, member, admitted, discharged, invoice):  # noqa: F811
    data = line(member, admission_date=admitted, discharge_date=discharged, invoice_no=invoice)
    data.pop("facility")
    return api.post(CLAIMS, data, format="json")


# --- the rule, through the settlement API -----------------------------------------------------------


def test_suspended_facility_settles_no_claim_admitted_from_that_date(api, member, facility, officer):  # noqa: F811
    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=REASON)

    for admitted, invoice in (("2026-03-05", "INV-ON"), ("2026-03-06", "INV-AFTER")):
        response = settle(api, member, admitted, "2026-03-09", invoice)
        assert response.status_code == 422, response.content
        assert response.json()["error"] == "facility_suspended"
        assert "2026-03-05" in response.json()["message"] or admitted in response.json()["message"]
    assert Claim.objects.count() == 0


def test_refusal_says_why_with_the_reason_and_date(api, member, facility, officer):  # noqa: F811
    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=REASON)

    message = settle(api, member, "2026-03-06", "2026-03-09", "INV-1").json()["message"]

    assert REASON in message and "2026-03-05" in message


def test_claims_admitted_before_the_suspension_still_settle(api, member, facility, officer):  # noqa: F811
    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=REASON)

    response = settle(api, member, "2026-03-04", "2026-03-08", "INV-BEFORE")

    assert response.status_code == 201, response.content
    assert Claim.objects.get().invoice_no == "INV-BEFORE"


def test_reinstated_facility_settles_again_but_not_stays_admitted_while_suspended(api, member, facility, officer):  # noqa: F811
    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=REASON)
    assert settle(api, member, "2026-03-10", "2026-03-12", "INV-2").status_code == 422

    facility_reinstate(user=officer, facility=facility, on_date=date(2026, 3, 15), reason="整改完成，复查合格")

    facility.refresh_from_db()
    assert (facility.status, facility.suspended_from, facility.suspension_reason) == (FacilityStatus.ACTIVE, None, "")
    assert facility.past_suspensions == [{"from": "2026-03-05", "until": "2026-03-15", "reason": REASON}]
    # admitted on a suspended day (the first and the last): still refused, saying when and why
    for admitted, invoice in (("2026-03-05", "INV-2"), ("2026-03-14", "INV-3")):
        response = settle(api, member, admitted, "2026-03-16" if admitted == "2026-03-14" else "2026-03-06", invoice)
        assert response.status_code == 422, response.content
        body = response.json()
        assert body["error"] == "facility_suspended"
        assert "2026-03-05 至 2026-03-14" in body["message"] and REASON in body["message"]
    # admitted before the suspension or from the reinstatement day on: settles
    assert settle(api, member, "2026-03-01", "2026-03-03", "INV-4").status_code == 201
    assert settle(api, member, "2026-03-15", "2026-03-17", "INV-5").status_code == 201


def test_quote_claims_knows_the_ended_suspension(member, facility, officer, policy):  # noqa: F811
    import json
    from io import StringIO

    from django.core.management import call_command

    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=REASON)
    facility_reinstate(user=officer, facility=facility, on_date=date(2026, 3, 15), reason="整改完成")
    lines = [line(member, admission_date=admitted, discharge_date=discharged, invoice_no=invoice)
             for admitted, discharged, invoice in (("2026-03-10", "2026-03-12", "Q1"),
                                                   ("2026-03-20", "2026-03-22", "Q2"))]
    out = StringIO()
    call_command("quote_claims", "--year", "2026", stdin=StringIO("\n".join(json.dumps(x) for x in lines) + "\n"),
                 stdout=out)
    answers = [json.loads(text) for text in out.getvalue().splitlines()]
    assert [answer.get("error") for answer in answers] == ["facility_suspended", None]
    assert answers[1]["ok"] is True


# --- services -------------------------------------------------------------------------------------


def test_suspend_and_reinstate_leave_history_with_user_date_and_reason(facility, officer):
    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=f"  {REASON} ")
    facility_reinstate(user=officer, facility=facility, on_date=date(2026, 4, 1), reason="整改完成")

    records = list(facility.history.order_by("history_id"))
    assert [(r.status, r.suspended_from, r.suspension_reason) for r in records[-2:]] == [
        (FacilityStatus.SUSPENDED, date(2026, 3, 5), REASON), (FacilityStatus.ACTIVE, None, "")]
    assert [r.history_user for r in records[-2:]] == [officer, officer]
    assert [r.history_change_reason for r in records[-2:]] == [
        f"自 2026-03-05 起暂停：{REASON}", "自 2026-04-01 起恢复：整改完成"]


@pytest.mark.parametrize("call,code", [
    (lambda f, u: facility_suspend(user=u, facility=f, from_date=date(2026, 3, 5), reason="  "), "reason_required"),
    (lambda f, u: facility_suspend(user=u, facility=f, from_date=date(2026, 3, 5), reason="x" * 201),
     "reason_too_long"),
    (lambda f, u: facility_reinstate(user=u, facility=f, on_date=date(2026, 3, 5), reason="好了"), "not_suspended"),
    (lambda f, u: facility_agreement_change(user=u, facility=f, start=date(2026, 6, 1), end=date(2026, 5, 31),
                                            reason="续签"), "bad_dates"),
    (lambda f, u: facility_agreement_change(user=u, facility=f, start=date(2026, 1, 1), end=date(2026, 12, 31),
                                            reason="续签"), "unchanged"),
])
def test_refusals_write_nothing(facility, officer, call, code):
    before = facility.history.count()

    with pytest.raises(NcmsError) as refusal:
        call(facility, officer)

    assert refusal.value.code == code
    assert facility.history.count() == before
    assert Facility.objects.get(pk=facility.pk).status == FacilityStatus.ACTIVE


def test_suspending_twice_and_reinstating_before_the_suspension_are_refused(facility, officer):
    facility_suspend(user=officer, facility=facility, from_date=date(2026, 3, 5), reason=REASON)
    before = facility.history.count()

    with pytest.raises(NcmsError) as twice:
        facility_suspend(user=officer, facility=facility, from_date=date(2026, 4, 1), reason="again")
    with pytest.raises(NcmsError) as early:
        facility_reinstate(user=officer, facility=facility, on_date=date(2026, 3, 4), reason="早了")

    assert (twice.value.code, early.value.code) == ("already_suspended", "bad_dates")
    assert facility.history.count() == before
    assert Facility.objects.get(pk=facility.pk).suspended_from == date(2026, 3, 5)


def test_agreement_change_is_recorded(facility, officer):
    facility_agreement_change(user=officer, facility=facility, start=date(2026, 1, 1), end=date(2027, 6, 30),
                              reason="续签协议")

    facility.refresh_from_db()
    assert facility.agreement_end == date(2027, 6, 30)
    last = facility.history.latest("history_id")
    assert (last.history_user, last.history_change_reason) == (officer, "协议期改为 2026-01-01 至 2027-06-30：续签协议")


# --- pages ----------------------------------------------------------------------------------------


def url(facility, action):
    return f"/facilities/{facility.pk}/{action}/"


def test_fund_officer_suspends_and_reinstates_from_the_facility_page(client, facility, officer):
    client.force_login(officer)
    page = client.get(f"/facilities/{facility.pk}/").content.decode()
    assert 'id="suspend-form"' in page and 'id="reinstate-form"' not in page

    response = client.post(url(facility, "suspend"), {"from_date": "2026-03-05", "reason": REASON})

    assert response.status_code == 302 and response.url == f"/facilities/{facility.pk}/"
    facility.refresh_from_db()
    assert (facility.status, facility.suspended_from, facility.suspension_reason) == (
        FacilityStatus.SUSPENDED, date(2026, 3, 5), REASON)
    page = client.get(f"/facilities/{facility.pk}/").content.decode()
    assert 'id="reinstate-form"' in page and 'id="suspend-form"' not in page
    # the history table shows who, and why
    assert f"自 2026-03-05 起暂停：{REASON}" in page and officer.display_name in page

    response = client.post(url(facility, "reinstate"), {"on_date": "2026-03-20", "reason": "整改完成"})
    assert response.status_code == 302
    facility.refresh_from_db()
    assert facility.status == FacilityStatus.ACTIVE
    assert "自 2026-03-20 起恢复：整改完成" in client.get(f"/facilities/{facility.pk}/").content.decode()


def test_agreement_period_edit_from_the_page(client, facility, officer):
    client.force_login(officer)

    response = client.post(url(facility, "agreement"), {
        "agreement_start": "2026-01-01", "agreement_end": "2028-12-31", "reason": "续签三年"})

    assert response.status_code == 302
    facility.refresh_from_db()
    assert facility.agreement_end == date(2028, 12, 31)


def test_refused_form_shows_why_and_writes_nothing(client, facility, officer):
    client.force_login(officer)
    before = facility.history.count()

    response = client.post(url(facility, "suspend"), {"from_date": "2026-03-05", "reason": ""})
    reversed_period = client.post(url(facility, "agreement"), {
        "agreement_start": "2026-06-01", "agreement_end": "2026-05-01", "reason": "x"})

    assert response.status_code == 400 and reversed_period.status_code == 400
    assert "协议结束日期早于开始日期" in reversed_period.content.decode()
    assert facility.history.count() == before
    facility.refresh_from_db()
    assert (facility.status, facility.agreement_end) == (FacilityStatus.ACTIVE, date(2026, 12, 31))


@pytest.mark.parametrize("action,data", [
    ("suspend", {"from_date": "2026-03-05", "reason": REASON}),
    ("reinstate", {"on_date": "2026-03-05", "reason": "x"}),
    ("agreement", {"agreement_start": "2026-01-01", "agreement_end": "2027-12-31", "reason": "x"}),
])
def test_scoping_of_the_registry_changes(client, facility, users_by_role, action, data):
    anonymous = client.post(url(facility, action), data)
    assert anonymous.status_code == 302 and anonymous.url.startswith("/login/")
    for role in (Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK, Role.REVIEWER, Role.APPROVER, Role.CASHIER,
                 Role.AUDITOR):
        client.force_login(users_by_role[role])
        assert client.post(url(facility, action), data).status_code == 403, role
    client.force_login(users_by_role[Role.ADMINISTRATOR])
    assert client.post(f"/facilities/999999/{action}/", data).status_code == 404
    assert client.get(url(facility, action)).status_code == 405
    assert facility.history.count() == 1
    assert not client.get(f"/facilities/{facility.pk}/").content.decode().count("errorlist")


def test_forms_are_hidden_from_roles_that_cannot_change(client, facility, users_by_role):
    for role in (Role.AUDITOR, Role.FACILITY_CLERK):
        client.force_login(users_by_role[role])
        page = client.get(f"/facilities/{facility.pk}/").content.decode()
        assert 'id="suspend-form"' not in page and 'id="agreement-form"' not in page
