"""Browser (Chromium): the payout queue selects all on the page, shows the selection's count and
total, asks before paying (saying both), and a cancelled question pays nothing."""
import pytest

from claims.models import Claim
from tests.conftest import login_in_browser
from tests.fund.conftest import approved_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_select_all_totals_and_asks_before_paying(browser, live_server, funded, cashier, village):
    approved_claim(village, "810.00"), approved_claim(village, "1200.50")
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    login_in_browser(page, live_server, cashier.username)
    page.goto(f"{live_server.url}/fund/payouts/")
    page.check("#select-all")
    assert page.inner_text("#selection-count") == "2"
    assert page.inner_text("#selection-total") == "2,010.50"
    page.once("dialog", lambda dialog: answer(dialog, False))
    page.click("#pay-selected")
    page.wait_for_timeout(300)
    assert "2 件" in questions[-1] and "2,010.50" in questions[-1]
    assert set(Claim.objects.values_list("status", flat=True)) == {"approved"}
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.click("#pay-selected")
    page.wait_for_selector("text=已兑付 2 件")
    assert set(Claim.objects.values_list("status", flat=True)) == {"paid"}
    # the batch's bank file is still offered after a reload
    page.reload()
    assert page.locator("#recent-batches a.batch-file").count() == 1
    context.close()
