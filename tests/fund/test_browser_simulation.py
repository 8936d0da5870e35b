"""Browser (Chromium): a draft's progress bar follows its run without a reload (the run's progress
as the worker publishes it in the cache), and the page reloads itself once the run has finished,
to show the result, or once the run is gone (cancelled), to show no run."""
import re
import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from fund.drafts import progress_write, simulation_execute
from fund.models import PolicyDraft, SimulationRun
from tests.claims.conftest import policy_document
from tests.conftest import login_in_browser
from tests.fund.test_simulate_command import county_claims  # noqa: F401  the hand-valued county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queued(page, live_server, users_by_role, county_claims):  # noqa: F811
    """The fund officer on the page of a draft whose run is queued: the row alone, sent to no
    worker, so the test moves it on itself."""
    draft = PolicyDraft.objects.create(name="上调封顶线", base_year=2026,
                                       document=policy_document(annual_cap="16000.00"))
    run = SimulationRun.objects.create(draft=draft, task_id=str(uuid.uuid4()))
    login_in_browser(page, live_server, users_by_role[Role.FUND_OFFICER].username)
    page.goto(live_server.url + reverse("fund:simulation_draft", args=[draft.pk]))
    box = page.locator("#simulation-progress")
    expect(box).to_be_visible()
    expect(box.locator(".progress")).to_have_attribute("aria-valuenow", "0")
    page.evaluate("window.notReloaded = true")  # gone once the page reloads
    return run, box


def test_the_bar_follows_the_run_then_the_page_shows_its_result(page, queued):
    run, box = queued
    progress_write(run.pk, 40)  # what the worker publishes as it goes
    bar = box.locator(".progress")
    expect(bar).to_have_attribute("aria-valuenow", "40")
    expect(bar.locator("span")).to_have_attribute("style", re.compile(r"width:\s*40%"))
    expect(box.locator(".progress-percent")).to_have_text("40")
    assert page.evaluate("window.notReloaded") is True

    simulation_execute(run.pk)  # the worker values the draft and writes the result
    expect(page.locator("#simulation-result")).to_be_visible()
    expect(page.locator("#simulation-progress")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is None
    expect(page.locator("#simulation-result")).to_contain_text("19,500.00")


def test_a_cancelled_run_reloads_the_page_without_the_bar(page, queued):
    run, _box = queued
    SimulationRun.objects.filter(pk=run.pk).delete()  # cancelled elsewhere: the progress URL is 404
    expect(page.locator("#simulation-progress")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is None
    expect(page.locator("#simulation-result")).to_have_count(0)
    expect(page.get_by_role("button", name="开始测算")).to_be_visible()


def test_a_draft_typed_field_by_field_with_rows_added(page, live_server, users_by_role):
    """The fund officer starts from the year's policy, gives the township level a second and a
    third band (the third row added with its button), adds a single disease the same way, and
    saves: the draft holds what was typed, ratios as the file writes them."""
    from policy.services import policy_load

    policy_load(data=policy_document())
    login_in_browser(page, live_server, users_by_role[Role.FUND_OFFICER].username)
    page.goto(live_server.url + reverse("fund:simulation_new") + "?year=2026")
    page.fill("input[name=name]", "乡镇分段")
    township = page.locator("#level-township")
    township.locator("input[name=levels__township__bands_1__up_to]").fill("1000.00")
    township.locator("input[name=levels__township__bands_2__up_to]").fill("5000.00")
    township.locator("input[name=levels__township__bands_2__ratio]").fill("85")
    township.get_by_role("button", name="增加一段").click()
    row = township.locator("tbody tr").nth(2)
    expect(row.locator("td.row-number")).to_have_text("3")
    row.locator("input[name=levels__township__bands_3__ratio]").fill("80")
    page.get_by_role("button", name="增加一个病种").click()
    page.fill("input[name=single_disease_4__code]", "O82")
    page.fill("input[name=single_disease_4__name]", "剖宫产术")
    page.select_option("select[name=single_disease_4__level]", "county")
    page.fill("input[name=single_disease_4__payment]", "3000.00")
    page.get_by_role("button", name="保存草案").click()

    expect(page.locator("#policy-changes")).to_be_visible()  # on the saved draft's page
    draft = PolicyDraft.objects.get()
    assert draft.document["levels"]["township"]["bands"] == [
        {"up_to": "1000.00", "ratio": "0.90"}, {"up_to": "5000.00", "ratio": "0.85"}, {"up_to": None, "ratio": "0.80"}]
    assert draft.document["single_disease"][-1] == {"code": "O82", "name": "剖宫产术", "level": "county",
                                                    "payment": "3000.00"}
    expect(page.locator("#policy-changes")).to_contain_text("乡镇级 · 第3段 · 补偿比例（%）")
