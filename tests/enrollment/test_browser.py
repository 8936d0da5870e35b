"""Browser journey (Chromium): a township clerk finds a household, adds a member, records the
contribution and downloads the co-op card PDF."""
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from enrollment import services
from enrollment.models import Category, Enrollment, Member, Payer, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id
from tests.conftest import login_in_browser

NEW_MEMBER_ID = make_resident_id("420102", date(2010, 7, 19), 64, FEMALE)


@pytest.mark.browser
def test_clerk_finds_household_adds_member_records_contribution_and_prints_card(
    transactional_db, live_server, page, clerk, village, tmp_path
):
    household = services.household_create(
        user=clerk, village=village, number="4201021002010042", address="东湖村6组",
        head={"name": "黄志强", "id_number": make_resident_id("420102", date(1975, 5, 5), 17, MALE),
              "category": Category.ORDINARY},
    )
    year = timezone.localdate().year

    login_in_browser(page, live_server, clerk.username)

    # find the household by the head's name
    page.click("nav.mainnav >> text=家庭户")
    page.fill("input[name=q]", "黄志")
    page.click("form.searchbar button[type=submit]")
    page.click("table.results >> text=4201021002010042")
    page.wait_for_url(f"{live_server.url}/enrollment/households/{household.pk}/")
    assert page.locator("h1").inner_text() == "家庭户 4201021002010042"

    # add a member: sex and birth date come from the ID number
    page.click("text=添加成员")
    page.fill("input[name=name]", "黄小燕")
    page.fill("input[name=id_number]", NEW_MEMBER_ID)
    page.select_option("select[name=relation]", Relation.DAUGHTER)
    page.click("form button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/enrollment/households/{household.pk}/")
    row = page.locator("table.members tr", has_text="黄小燕")
    assert "女" in row.inner_text() and "2010-07-19" in row.inner_text() and "未缴费" in row.inner_text()

    # record her contribution for this year: the amount is offered, the receipt typed
    row.locator("text=登记缴费").click()
    assert page.input_value("input[name=contribution]") == "380.00"
    page.fill("input[name=receipt_no]", f"R{year}-000042")
    page.click("form button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/enrollment/households/{household.pk}/")
    assert "已缴费" in page.locator("table.members tr", has_text="黄小燕").inner_text()
    member = Member.objects.get(name="黄小燕")
    enrollment = Enrollment.objects.get(member=member)
    assert (enrollment.year, enrollment.contribution, enrollment.receipt_no, enrollment.payer) == (
        year, Decimal("380.00"), f"R{year}-000042", Payer.SELF)
    assert "变更记录" in page.content()

    # download the co-op card: the new member is on it
    with page.expect_download() as download_info:
        page.click("text=打印合作医疗证")
    download = download_info.value
    assert download.suggested_filename == "card-HZ4201021002010042.pdf"
    pdf_path = tmp_path / "card.pdf"
    download.save_as(pdf_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "黄小燕" in text
    assert "黄志强" in text
    assert "HZ4201021002010042" in text
