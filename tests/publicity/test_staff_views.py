"""The county's queue of objections and reports: scoping and handling."""
import pytest
from django.urls import reverse

from accounts.models import Role
from publicity import services
from publicity.models import CaseStatus, Objection


@pytest.fixture
def objection(county):
    line = services.notices_publish(year=2026, month=3)[0].lines.first()
    return services.objection_file(line=line, text="此人当月并未住院", phone="13800001111")


def test_anonymous_is_sent_to_login(client, objection):
    for url in (reverse("publicity_staff:case_list"),
                reverse("publicity_staff:case_detail", args=["objection", objection.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("role", [Role.FACILITY_CLERK])
def test_facility_clerks_get_403(client, users_by_role, objection, role):
    client.force_login(users_by_role[role])
    assert client.get(reverse("publicity_staff:case_list")).status_code == 403
    assert client.get(reverse("publicity_staff:case_detail", args=["objection", objection.pk])).status_code == 403


def test_auditor_reads_but_may_not_act(client, users_by_role, objection):
    client.force_login(users_by_role[Role.AUDITOR])
    html = client.get(reverse("publicity_staff:case_list")).content.decode()
    assert objection.tracking_code in html
    detail = client.get(reverse("publicity_staff:case_detail", args=["objection", objection.pk])).content.decode()
    assert "13800001111" in detail and 'value="resolve"' not in detail
    response = client.post(reverse("publicity_staff:case_action", args=["objection", objection.pk]),
                           {"action": "investigate"})
    assert response.status_code == 403
    assert Objection.objects.get().status == CaseStatus.RECEIVED


def test_unknown_kind_or_case_is_404(client, users_by_role, objection):
    client.force_login(users_by_role[Role.REVIEWER])
    assert client.get(reverse("publicity_staff:case_detail", args=["nothing", objection.pk])).status_code == 404
    assert client.get(reverse("publicity_staff:case_detail", args=["report", objection.pk])).status_code == 404


def test_fund_officer_works_a_case_to_a_written_resolution(client, users_by_role, objection):
    officer = users_by_role[Role.FUND_OFFICER]
    client.force_login(officer)
    action = reverse("publicity_staff:case_action", args=["objection", objection.pk])
    client.post(action, {"action": "investigate"})
    assert Objection.objects.get().status == CaseStatus.INVESTIGATING
    refused = client.post(action, {"action": "resolve", "resolution": ""}, follow=True)
    assert "请写明办理结果" in refused.content.decode()
    assert Objection.objects.get().status == CaseStatus.INVESTIGATING
    client.post(action, {"action": "resolve", "resolution": "经核实，住院属实，公示无误。"})
    objection.refresh_from_db()
    assert (objection.status, objection.resolved_by, objection.resolution) == (
        CaseStatus.RESOLVED, officer, "经核实，住院属实，公示无误。")
    detail = client.get(reverse("publicity_staff:case_detail", args=["objection", objection.pk])).content.decode()
    assert detail.count(officer.display_name) >= 2  # resolved by, and in the history
    # the villager sees the resolution by the tracking code
    client.logout()
    status = client.get(reverse("publicity:case_status"), {"code": objection.tracking_code}).content.decode()
    assert "已办结" in status and "经核实，住院属实，公示无误。" in status


def test_list_filters_by_status_and_kind(client, users_by_role, objection, county):
    report = services.report_file(text="挂床住院很多天", facility=county["facility"])
    client.force_login(users_by_role[Role.ADMINISTRATOR])
    url = reverse("publicity_staff:case_list")
    assert objection.tracking_code in client.get(url, {"status": "received"}).content.decode()
    assert objection.tracking_code not in client.get(url, {"status": "resolved"}).content.decode()
    reports = client.get(url, {"kind": "report"}).content.decode()
    assert report.tracking_code in reports and objection.tracking_code not in reports


def test_home_tile_for_handlers(client, users_by_role):
    client.force_login(users_by_role[Role.REVIEWER])
    assert reverse("publicity_staff:case_list") in client.get("/").content.decode()
