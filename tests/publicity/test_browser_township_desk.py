"""Browser journey at the township desk: the township clerk opens the objections from the home
page, sees only the one about the township's village, answers it, and finds it investigating with
the answer shown; then reads which months the township's notices are posted."""
import pytest

from publicity import services
from publicity.models import CaseStatus, Objection
from tests.conftest import login_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_township_clerk_answers_an_objection_and_reads_the_notice_months(page, live_server, clerk, county, clock):
    clock("2026-05-10 10:00")
    notices = {notice.village_id: notice for notice in services.notices_publish(year=2026, month=3)}
    own = services.objection_file(line=notices[county["villages"][0].pk].lines.first(),
                                  text="此人当月并未住院，请核实", phone="")
    other = services.objection_file(line=notices[county["villages"][1].pk].lines.first(),
                                    text="另一个乡镇的异议内容", phone="")
    login_in_browser(page, live_server, clerk.username)

    page.click("a:has-text('公示异议与举报')")
    page.wait_for_selector("table.table")
    listing = page.inner_text("main")
    assert own.tracking_code in listing and other.tracking_code not in listing
    page.click(f"a:has-text('{own.tracking_code}')")
    page.wait_for_selector("#answer-form")
    page.fill("#answer", "经村委会核实，本人三月确在县医院住院，公示无误")
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector("#case-answer")
    assert "已答复，待县合管办办结" in page.inner_text("main")
    assert "经村委会核实" in page.inner_text("#case-answer")
    objection = Objection.objects.get(pk=own.pk)
    assert (objection.status, objection.answered_by_id) == (CaseStatus.INVESTIGATING, clerk.pk)

    page.goto(f"{live_server.url}/publicity/notices/?year=2026&month=3")
    months = page.inner_text("#notice-months")
    assert "3月" in months
    assert "东湖村" in page.inner_text("#month-notices") and "西山村" not in page.inner_text("main")
