"""The monthly fund report as a township clerk reads it: their township's row (exactly as in the
county's report), its villages, its charts and the warnings naming it, on the page and in every
download; nothing of the county's row, of the fund, or of another township; no stored versions."""
import io
import json
import subprocess
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from fund.models import FundReport
from fund.report import monthly_compensation, monthly_report
from tests.fund.test_report import county, rows_of  # noqa: F401  (the hand-built county fixture)

DASHBOARD = reverse("fund_report:dashboard")
MARCH = {"year": 2026, "month": 3}
# what the clerk of 城关镇 never reads: the other townships and villages, the county's row (its
# compensation 1,160.01, the fund raised 3,000.50) and 河口乡's compensation (160.00)
ELSEWHERE = ["河口乡", "西山村", "空白乡", "空村", "1,160.01", "1160.01", "3,000.50", "3000.50", "160.00"]


def download(client, fmt):
    return client.get(reverse("fund_report:download", args=[fmt]), MARCH)


@pytest.fixture
def hekou_clerk(make_user, other_township):
    return make_user(Role.TOWNSHIP_CLERK, township=other_township, username="hekou-clerk")


@pytest.fixture(autouse=True)
def _fresh_charts():
    cache.clear()
    yield
    cache.clear()


def test_the_clerk_reads_their_townships_row_villages_and_charts(client, clerk, county):  # noqa: F811
    client.force_login(clerk)
    response = client.get(DASHBOARD, MARCH)
    assert response.status_code == 200
    page = response.content.decode()
    assert [row["code"] for row in response.context["table"]["rows"]] == ["420102100"]
    row = page.split('<tr class="township">')[1].split("</tr>")[0]
    assert "城关镇" in row and "1,000.01" in row and "300.01" in row and "100.00%" in row
    villages = page.split('id="villages"')[1].split("</table>")[0]
    assert "东湖村" in villages and "1,000.01" in villages and "66.67%" in villages
    assert 'id="chart-compensation"><svg' in page and 'id="chart-participation"><svg' in page
    assert 'id="chart-usage"' not in page  # the fund's usage is the county's
    assert 'id="stored"' not in page and "fund_report/store" not in page
    for text in ELSEWHERE:
        assert text not in page, text
    assert 'data-kind="overspending"' not in page and 'tr class="county"' not in page


def test_the_clerk_sees_the_warnings_naming_their_township_only(client, hekou_clerk, county):  # noqa: F811
    """河口乡's participation is 75%: its clerk reads that warning, not the county's overspending."""
    client.force_login(hekou_clerk)
    page = client.get(DASHBOARD, MARCH).content.decode()
    assert 'data-kind="low_participation"' in page and "河口乡参合率 75.00% 低于 95%。" in page
    assert 'data-kind="overspending"' not in page and "城关镇" not in page and "东湖村" not in page
    assert "西山村" in page.split('id="villages"')[1]


def test_another_townships_villages_are_not_found(client, clerk, county):  # noqa: F811
    client.force_login(clerk)
    assert client.get(DASHBOARD, {**MARCH, "township": "420102200"}).status_code == 404
    assert client.get(DASHBOARD, {**MARCH, "township": "420102100"}).status_code == 200


def test_json_is_the_townships_row_and_villages(client, clerk, county):  # noqa: F811
    client.force_login(clerk)
    response = download(client, "json")
    assert response.status_code == 200
    assert 'filename="fund-report-2026-03-420102100.json"' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert list(data) == ["year", "month", "township", "rows", "villages", "warnings"]
    assert (data["year"], data["month"], data["township"]) == (2026, 3, "420102100")
    assert data["rows"] == [rows_of(monthly_report(**MARCH))["420102100"]]
    assert data["warnings"] == []
    assert data["villages"] == [{
        "village": "420102100201", "name": "东湖村", "population": "3", "participants": "3",
        "participation_rate": "1.0000", "admissions": "2", "admissions_ytd": "3",
        "total_cost": "500.02", "total_cost_ytd": "1500.02", "reimbursable_cost": "450.00",
        "reimbursable_cost_ytd": "1350.00", "compensation": "300.01", "compensation_ytd": "1000.01",
        "avg_cost_per_admission": "500.01", "compensation_ratio": "0.6667", "beneficiary_rate": "0.6667",
    }]
    text = response.content.decode()
    for marker in ELSEWHERE + ["county"]:
        assert marker not in text, marker


def test_xlsx_holds_the_townships_row_and_villages_only(client, clerk, county):  # noqa: F811
    client.force_login(clerk)
    response = download(client, "xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    report, villages = workbook.worksheets[0], workbook.worksheets[1]
    assert [row[0] for row in report.iter_rows(min_row=2, values_only=True)] == ["420102100"]
    assert [row[:2] for row in villages.iter_rows(min_row=2, values_only=True)] == [("420102100201", "东湖村")]
    values = [str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
              for cell in row if cell is not None]
    for marker in ["河口乡", "西山村", "空白乡", "全县", "1160.01", "3000.50"]:
        assert not [value for value in values if marker in value], marker
    assert Decimal(str(report["L2"].value)) == Decimal("300.01")  # this month's compensation


def test_pdf_holds_the_townships_row_and_villages_only(client, clerk, county, tmp_path):  # noqa: F811
    client.force_login(clerk)
    response = download(client, "pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "城关镇" in text and "东湖村" in text and "1,000.01" in text
    for marker in ELSEWHERE:
        assert marker not in text, marker


def test_the_county_keeps_its_whole_report(client, users_by_role, county):  # noqa: F811
    client.force_login(users_by_role[Role.AUDITOR])
    assert json.loads(download(client, "json").content) == monthly_report(**MARCH)
    page = client.get(DASHBOARD, MARCH).content.decode()
    assert 'id="chart-usage"><svg' in page and 'id="stored"' in page and "河口乡" in page


def test_the_clerk_neither_stores_nor_reads_stored_versions(client, clerk, county):  # noqa: F811
    from fund.report import fund_report_store

    stored = fund_report_store(**MARCH)
    client.force_login(clerk)
    assert client.post(reverse("fund_report:store"), MARCH).status_code == 403
    assert client.get(reverse("fund_report:stored", args=[stored.pk])).status_code == 403
    assert FundReport.objects.count() == 1


def test_monthly_compensation_of_one_township(county, township, other_township):  # noqa: F811
    assert monthly_compensation(year=2026, month=3, township=township) == [
        (1, Decimal("700.00")), (2, Decimal("0.00")), (3, Decimal("300.01"))]
    assert monthly_compensation(year=2026, month=3, township=other_township) == [
        (1, Decimal("0.00")), (2, Decimal("160.00")), (3, Decimal("0.00"))]


def test_a_facility_clerk_and_anonymous_do_not_read_it(client, users_by_role, county):  # noqa: F811
    assert client.get(DASHBOARD).status_code == 302
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    assert client.get(DASHBOARD).status_code == 403
    assert download(client, "json").status_code == 403
