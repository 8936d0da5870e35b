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
