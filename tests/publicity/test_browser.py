"""A villager on a phone (390×844): finds their village's notice, opens the PDF, files an
objection and checks its status with the tracking code; reads the year's policy, prints its leaflet
and uses the calculator."""
import subprocess

import pytest
from django.core.cache import cache

from publicity import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the user says yes to each confirmation
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_villager_journey_on_a_phone(county, live_server, phone):
    cache.clear()
    services.notices_publish(year=2026, month=3)
    page = phone
    page.goto(f"{live_server.url}/public/")
    page.get_by_role("link", name="城关镇").click()
    page.get_by_role("link", name="东湖村").click()
    page.get_by_role("link", name="2026年3月").click()
    assert "王*国" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    pdf_url = page.get_by_role("link", name="下载公示 PDF（张贴用）").get_attribute("href")
    response = page.request.get(f"{live_server.url}{pdf_url}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"

    page.get_by_role("link", name="提出异议").nth(1).click()
    page.fill("textarea[name=text]", "王某某三月份并没有住院")
    page.check("input[name=anonymous]")
    page.get_by_role("button", name="提交异议").click()
    code = page.locator("#tracking-code").inner_text().strip()
    assert len(code) == 10

    page.goto(f"{live_server.url}/public/status/")
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="查询").click()
    assert "已受理" in page.locator(".result").inner_text()
    assert code in page.locator(".result").inner_text()


def test_villager_reads_the_policy_prints_the_leaflet_and_calculates_on_a_phone(db, live_server, phone, tmp_path):
    from policy.services import policy_load
    from tests.claims.conftest import policy_document

    cache.clear()
    policy_load(data=policy_document())
    page = phone
    page.goto(f"{live_server.url}/public/")
    page.get_by_role("link", name="报销政策").first.click()
    page.wait_for_url("**/public/policy/")
    assert page.locator("h1").inner_text() == "2026年新农合住院报销政策"
    assert "县级医院\n400.00 元" in page.locator("#levels").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    href = page.get_by_role("link", name="打印宣传单（PDF）").get_attribute("href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    leaflet = tmp_path / "leaflet.pdf"
    leaflet.write_bytes(response.body())
    info = subprocess.run(["pdfinfo", str(leaflet)], capture_output=True, check=True, text=True).stdout
    assert "Pages:           1" in info

    page.get_by_role("link", name="算一算能报多少").click()
    page.select_option("select[name=level]", label="县外市级医院")
    page.fill("input[name=total]", "5000")
    page.fill("input[name=self_paid]", "0")
    page.get_by_role("button", name="计算").click()
    # municipal, not referred: (5000 − 1000) × (60% − 10 points)
    assert page.locator("#calc-compensation").inner_text() == "2,000.00"
    assert "未办理转诊" in page.locator("#calc-steps").inner_text()

    page.check("input[name=referred]")
    page.select_option("select[name=group]", label="五保")
    page.get_by_role("button", name="计算").click()
    # referred 五保: no deductible, 60% + 10 points of 5000
    assert page.locator("#calc-compensation").inner_text() == "3,500.00"
    assert page.locator("#calc-patient-pays").inner_text() == "1,500.00"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.fill("input[name=total]", "100")
    page.fill("input[name=self_paid]", "200")
    page.get_by_role("button", name="计算").click()
    assert "超过了住院总费用" in page.locator("#calc-errors").inner_text()
    assert page.locator("#calc-result").count() == 0
    page.screenshot(path=str(tmp_path / "policy.png"), full_page=True)
