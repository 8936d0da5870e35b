"""The fund report dashboard: scoping of every view, the table, drill-down, charts, downloads."""
import json
import re
import subprocess

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from fund.models import FundReport
from fund.report import monthly_report
from tests.conftest import PASSWORD
from tests.fund.test_report import county  # noqa: F401  (the hand-built county fixture)

DASHBOARD = reverse("fund_report:dashboard")
ALLOWED = {Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


VIEWS = [
    ("get", DASHBOARD + "?year=2026&month=3"),
    ("get", reverse("fund_report:download", args=["xlsx"]) + "?year=2026&month=3"),
    ("get", reverse("fund_report:download", args=["pdf"]) + "?year=2026&month=3"),
    ("get", reverse("fund_report:download", args=["json"]) + "?year=2026&month=3"),
    ("post", reverse("fund_report:store")),
]


@pytest.mark.parametrize("method, url", VIEWS)
def test_anonymous_is_sent_to_login(client, db, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/login" in response["Location"]
    assert FundReport.objects.count() == 0


@pytest.mark.parametrize("method, url", VIEWS)
def test_roles_without_the_capability_get_403(client, users_by_role, method, url):
    for role, user in users_by_role.items():
        # a township clerk reads their own township's report (test_township_report.py), never stores
        if role in ALLOWED or (role == Role.TOWNSHIP_CLERK and method == "get"):
            continue
        client.logout()
        response = getattr(login(client, user), method)(url, {"year": 2026, "month": 3} if method == "post" else None)
        assert response.status_code == 403, role
    assert FundReport.objects.count() == 0


def test_stored_report_scoping(client, users_by_role, county):  # noqa: F811
    from fund.report import fund_report_store

    stored = fund_report_store(year=2026, month=3)
    url = reverse("fund_report:stored", args=[stored.pk])
    assert client.get(url).status_code == 302
    assert login(client, users_by_role[Role.TOWNSHIP_CLERK]).get(url).status_code == 403
    client.logout()
    response = login(client, users_by_role[Role.AUDITOR]).get(url)
    assert response.status_code == 200
    assert json.loads(response.content) == monthly_report(year=2026, month=3)
    assert client.get(reverse("fund_report:stored", args=[stored.pk + 99])).status_code == 404


def test_auditor_may_read_but_not_store(client, users_by_role, county):  # noqa: F811
    login(client, users_by_role[Role.AUDITOR])
    assert client.get(DASHBOARD).status_code == 200
    assert client.post(reverse("fund_report:store"), {"year": 2026, "month": 3}).status_code == 403
    assert FundReport.objects.count() == 0


def test_dashboard_shows_table_warnings_and_charts(client, users_by_role, county):  # noqa: F811
    response = login(client, users_by_role[Role.FUND_OFFICER]).get(DASHBOARD, {"year": 2026, "month": 3})
    assert response.status_code == 200
    page = response.content.decode()
    assert "城关镇" in page and "河口乡" in page and "空白乡" in page
    assert "1,160.01" in page and "39.86%" in page and "2,910.49" in page
    assert 'data-kind="overspending"' in page and 'data-kind="low_participation"' in page
    for chart in ("chart-compensation", "chart-usage", "chart-participation"):
        assert f'id="{chart}"><svg' in page
    # Nothing is loaded from another host (a bare "cdn" substring test would trip on a random token).
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert not [url for url in loaded if url.startswith(("http:", "https:", "//"))]


def test_charts_are_drawn_once_for_the_same_figures(client, users_by_role, county, monkeypatch):  # noqa: F811
    """The charts are cached under the figures they show: the same figures are not drawn again,
    and a payout that changes the figures draws them afresh."""
    from django.core.cache import cache

    from fund import report_output

    cache.clear()
    drawn = []
    real = report_output.chart_participation
    monkeypatch.setattr(report_output, "chart_participation", lambda **kw: drawn.append(1) or real(**kw))
    login(client, users_by_role[Role.FUND_OFFICER])
    pages = [client.get(DASHBOARD, {"year": 2026, "month": 3}).content.decode() for _ in range(3)]
    assert len(drawn) == 1
    assert pages[0].split('id="chart-participation">')[1][:2000] == pages[2].split('id="chart-participation">')[1][:2000]
    from tests.fund.test_report import at, paid

    claim = paid(county_member(), county_facility(), at(2026, 3, 25), "10.00", "10.00", "5.00")
    assert claim.pk
    client.get(DASHBOARD, {"year": 2026, "month": 3})
    assert len(drawn) == 2
    cache.clear()


def county_member():
    from enrollment.models import Member

    return Member.objects.order_by("pk").first()


def county_facility():
    from facilities.models import Facility

    return Facility.objects.order_by("pk").first()


def test_drilldown_lists_the_townships_villages(client, users_by_role, county):  # noqa: F811
    login(client, users_by_role[Role.FUND_OFFICER])
    response = client.get(DASHBOARD, {"year": 2026, "month": 3, "township": "420102100"})
    page = response.content.decode()
    assert 'id="villages"' in page and "东湖村" in page and "西山村" not in page
    assert client.get(DASHBOARD, {"year": 2026, "month": 3, "township": "999999999"}).status_code == 404


def test_downloads(client, users_by_role, county, tmp_path):  # noqa: F811
    login(client, users_by_role[Role.ADMINISTRATOR])
    xlsx = client.get(reverse("fund_report:download", args=["xlsx"]), {"year": 2026, "month": 3})
    assert xlsx.status_code == 200 and 'filename="fund-report-2026-03.xlsx"' in xlsx["Content-Disposition"]
    target = tmp_path / "r.xlsx"
    target.write_bytes(xlsx.content)
    assert load_workbook(target).worksheets[0]["A2"].value == "420102100"
    pdf = client.get(reverse("fund_report:download", args=["pdf"]), {"year": 2026, "month": 3})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True).stdout
    assert "基金" in text and "河口乡" in text
    data = client.get(reverse("fund_report:download", args=["json"]), {"year": 2026, "month": 3})
    assert json.loads(data.content) == monthly_report(year=2026, month=3)
    assert client.get(reverse("fund_report:download", args=["csv"])).status_code == 404


def test_fund_officer_stores_new_versions(client, users_by_role, county):  # noqa: F811
    officer = users_by_role[Role.FUND_OFFICER]
    login(client, officer)
    for _ in range(2):
        response = client.post(reverse("fund_report:store"), {"year": 2026, "month": 3})
        assert response.status_code == 302
    assert list(FundReport.objects.values_list("version", "created_by")) == [(2, officer.pk), (1, officer.pk)]
    page = client.get(DASHBOARD, {"year": 2026, "month": 3}).content.decode()
    assert "第 2 版" in page and "第 1 版" in page
    assert client.get(reverse("fund_report:store")).status_code == 405


def test_the_report_page_warns_of_a_village_above_its_population(client, users_by_role, township, village):
    """A village whose participants outnumber its agricultural population is a warning on the
    report's page (not in the contract's JSON, whose warning kinds stay as they are)."""
    from tests.enrollment.test_participation import populate

    populate(village, population=2, enrolled=3)
    response = login(client, users_by_role[Role.FUND_OFFICER]).get(DASHBOARD, {"year": 2026, "month": 12})
    page = response.content.decode()
    assert 'data-kind="over_population"' in page
    assert "东湖村参合人数 3 超过农业人口 2（参合率 150.00%），农业人口可能有误" in page
    data = client.get(reverse("fund_report:download", args=["json"]), {"year": 2026, "month": 12})
    assert data.status_code == 200 and "over_population" not in data.content.decode()
