"""A villager on a phone (390×844): finds their village's notice, opens the PDF, files an
objection and checks its status with the tracking code."""
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
