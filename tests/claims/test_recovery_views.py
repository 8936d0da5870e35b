"""Recoveries (追回) on the web: the claim page lists them and shows the corrected figure, a
reviewer or fund officer records one (nobody else may), the slip and the public lookup show the
corrected compensation."""
import re
import subprocess
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Role
from claims.models import ClaimEvent, Recovery
from claims.services import claim_recover
from tests.factories import ClaimFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _today(clock):
    clock("2026-06-15 10:00")


def paid_claim(village, facility, **extra):
    member = MemberFactory(household=HouseholdFactory(village=village), name="王小明")
    extra.setdefault("status", "paid")
    extra.setdefault("paid_at", datetime(2026, 4, 1, 10, tzinfo=SHANGHAI))
    return ClaimFactory(member=member, facility=facility, **extra)


def recover_url(claim):
    return reverse("claims:claim_recover", args=[claim.pk])


FORM = {"amount": "100.00", "on": "2026-06-10", "reason": "重复收费"}


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FUND_OFFICER])
def test_reviewer_and_fund_officer_record_a_recovery(client, users_by_role, village, facility, role):
    claim = paid_claim(village, facility)
    client.force_login(users_by_role[role])
    response = client.post(recover_url(claim), FORM, follow=True)
    assert response.status_code == 200
    recovery = Recovery.objects.get()
    assert (recovery.claim, recovery.amount, recovery.source, recovery.source_id, recovery.created_by) == (
        claim, Decimal("100.00"), "review", None, users_by_role[role])
    assert ClaimEvent.objects.filter(claim=claim, action="recover").exists()
    page = response.content.decode()
    assert "已登记追回 100.00 元" in page
    assert re.search(r'id="claim-recovered">100.00<', page) and re.search(r'id="claim-net">710.00<', page)
    assert "补偿 810.00 元，已追回 100.00 元，实际补偿 710.00 元" in page
    assert "重复收费" in page and "2026-06-10" in page and users_by_role[role].display_name in page


@pytest.mark.parametrize("role", [Role.CASHIER, Role.APPROVER, Role.AUDITOR, Role.TOWNSHIP_CLERK,
                                  Role.FACILITY_CLERK, Role.ADMINISTRATOR])
def test_other_roles_may_not_record_a_recovery(client, users_by_role, village, facility, role):
    claim = paid_claim(village, facility)
    client.force_login(users_by_role[role])
    assert client.post(recover_url(claim), FORM).status_code == 403
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "recovery-form" not in page
    assert not Recovery.objects.exists()


def test_anonymous_is_sent_to_login(client, village, facility):
    claim = paid_claim(village, facility)
    response = client.post(recover_url(claim), FORM)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Recovery.objects.exists()


@pytest.mark.parametrize(("data", "words"), [
    ({**FORM, "amount": "810.01"}, "超过补偿申请"),
    ({**FORM, "amount": "abc"}, "请输入金额"),
    ({**FORM, "amount": "0"}, "追回金额必须大于 0"),
    ({**FORM, "reason": ""}, "请填写追回原因"),
    ({**FORM, "on": "2026-06-16"}, "晚于今天"),
    ({**FORM, "on": "2026-03-01"}, "早于兑付日期"),
])
def test_a_refusal_is_shown_in_chinese_and_nothing_is_written(client, users_by_role, village, facility, data, words):
    claim = paid_claim(village, facility)
    client.force_login(users_by_role[Role.REVIEWER])
    response = client.post(recover_url(claim), data, follow=True)
    assert words in response.content.decode()
    assert not Recovery.objects.exists() and not ClaimEvent.objects.filter(action="recover").exists()


def test_an_unpaid_claim_has_no_form_and_is_refused(client, users_by_role, village, facility):
    claim = paid_claim(village, facility, status="approved", paid_at=None)
    client.force_login(users_by_role[Role.FUND_OFFICER])
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "recovery-form" not in page
    response = client.post(recover_url(claim), FORM, follow=True)
    assert "只有已兑付的申请才能追回" in response.content.decode()
    assert not Recovery.objects.exists()


def test_the_form_offers_todays_date_and_the_page_lists_recoveries_to_every_reader(
        client, users_by_role, village, facility):
    claim = paid_claim(village, facility)
    client.force_login(users_by_role[Role.REVIEWER])
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert 'value="2026-06-15"' in page and "recovery-form" in page and "claim-net" not in page
    claim_recover(user=users_by_role[Role.REVIEWER], claim=claim, amount="60.00", reason="超标准收费")
    for role in (Role.AUDITOR, Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK):
        client.force_login(users_by_role[role])
        page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
        assert "超标准收费" in page and re.search(r'id="claim-net">750.00<', page), role


def test_a_recovery_of_another_townships_claim_is_scoped_like_the_claim(
        client, users_by_role, other_village, village, facility, make_user, other_township):
    claim = paid_claim(other_village, facility)
    claim_recover(user=users_by_role[Role.REVIEWER], claim=claim, amount="10.00", reason="重复收费")
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])
    assert client.get(reverse("claims:claim_detail", args=[claim.pk])).status_code == 404


def test_the_slip_shows_the_recovery_and_the_actual_compensation(client, users_by_role, village, facility, tmp_path):
    claim = paid_claim(village, facility)
    client.force_login(users_by_role[Role.AUDITOR])
    path = tmp_path / "slip.pdf"
    path.write_bytes(client.get(reverse("claims:claim_slip_pdf", args=[claim.pk])).content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert "实际补偿" not in text
    claim_recover(user=users_by_role[Role.REVIEWER], claim=claim, amount="110.00", reason="重复收费")
    path.write_bytes(client.get(reverse("claims:claim_slip_pdf", args=[claim.pk])).content)
    text = re.sub(r"[ \t]+", " ", subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                                                 check=True).stdout.decode())
    assert "追回 110.00 元" in text and "实际补偿 700.00 元" in text


def test_the_public_lookup_shows_the_corrected_compensation(client, users_by_role, village, facility):
    cache.clear()
    claim = paid_claim(village, facility)
    other = ClaimFactory(member=claim.member, facility=facility, status="approved", invoice_no="INV-X",
                         admission_date=claim.admission_date.replace(month=5), discharge_date=claim.admission_date.replace(month=5, day=3))
    claim_recover(user=users_by_role[Role.REVIEWER], claim=claim, amount="110.00", reason="重复收费")
    response = client.post(reverse("publicity:claim_lookup"), {"id_number": claim.member.id_number, "name": "王小明"})
    page = response.content.decode()
    assert "700.00 元" in page and "已追回 110.00 元" in page
    assert page.count("已追回") == 1 and f"{other.compensation} 元" in page
    assert "王小明" not in page
    cache.clear()
