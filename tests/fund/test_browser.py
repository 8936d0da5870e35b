"""Browser journey: the cashier opens the payout queue, selects two approved claims, pays them
as one batch (a double click pays once) and downloads the batch's bank payment file."""
import pytest

from claims.models import Claim
from ledger.models import LedgerTransaction
from tests.conftest import login_in_browser
from tests.fund.conftest import approved_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cashier_pays_a_batch(page, live_server, funded, cashier, village):
    first, second = approved_claim(village, "810.00"), approved_claim(village, "1200.00")
    login_in_browser(page, live_server, cashier.username)
    page.click("text=补偿兑付")
    page.check(f"#claim-{first.pk} input[type=checkbox]")
    page.check(f"#claim-{second.pk} input[type=checkbox]")
    page.dblclick("#pay-selected")
    page.wait_for_selector("text=已兑付 2 件，合计 2,010.00 元")
    assert page.inner_text("#expenditure-2026") == "2,990.00"
    with page.expect_download() as download:
        page.click("#last-batch-file")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert set(Claim.objects.values_list("status", flat=True)) == {"paid"}
    assert LedgerTransaction.objects.filter(kind="payout").count() == 2
