"""Correcting a returned claim (退回修改): the clerk changes the stay's facts, the bill and adds
scans on a page prefilled from the claim, sees the live quote of the correction, and resubmits it
valued again; only returned claims, only the clerk's township."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from claims import services, settlement
from claims.models import Claim, ClaimStatus
from tests.claims.conftest import TODAY
from tests.claims.test_views import PNG, login, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


@pytest.fixture
def returned(policy, facility, member, admin_user, users_by_role):
    claim = submit(member, admin_user)
    return services.claim_return(user=users_by_role[Role.REVIEWER], claim=claim, note="住院天数与出院小结不符，床位费有误")


def correction(claim, **changes) -> dict:
    data = {
        "admission_date": claim.admission_date.isoformat(), "discharge_date": "2026-02-05",
        "invoice_no": claim.invoice_no, "diagnosis_code": "j18.9", "diagnosis_text": "肺炎", "delivery": "",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "2", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "40",
        "lines-0-category": "drugs", "lines-0-amount": "1000.00", "lines-0-in_catalog": "on",
        "lines-1-category": "", "lines-1-amount": "",  # the line outside the catalogue dropped
        "lines-2-category": "beds", "lines-2-amount": "200.00", "lines-2-in_catalog": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_detail_page_offers_the_correction_and_the_page_is_prefilled(client, clerk, returned):
    detail = login(client, clerk).get(reverse("claims:claim_detail", args=[returned.pk])).content.decode()
    assert reverse("claims:claim_correct", args=[returned.pk]) in detail and "不修改，重新提交" in detail
    page = client.get(reverse("claims:claim_correct", args=[returned.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "住院天数与出院小结不符，床位费有误" in html  # the reviewer's reason
    assert f'value="{returned.invoice_no}"' in html and 'value="2026-02-02"' in html and 'value="2026-02-03"' in html
    lines = page.context["lines"]
    assert [(form.initial["category"], str(form.initial["amount"]), form.initial["in_catalog"])
            for form in lines.initial_forms] == [("drugs", "1000.00", True), ("materials", "100.00", False)]
    assert returned.member.name in html and returned.facility.name in html


def test_the_live_quote_values_the_correction_without_the_claim_itself(client, clerk, returned):
    login(client, clerk)
    response = client.post(reverse("claims:claim_correct_quote", args=[returned.pk]), correction(returned))
    assert response.status_code == 200
    quote = response.context["quote"]
    # the claim's own invoice and stay are not counted against it (no duplicate_invoice, no overlap)
    assert quote["ok"], quote
    assert (str(quote["total"]), str(quote["outside"])) == ("1200.00", "0.00")
    assert Claim.objects.get().total_cost == returned.total_cost  # nothing written


def test_a_corrected_claim_is_resubmitted_valued_again_with_its_new_bill_and_scans(client, clerk, returned):
    login(client, clerk)
    before = returned.compensation
    scan = SimpleUploadedFile("discharge.png", PNG, content_type="image/png")
    response = client.post(reverse("claims:claim_correct", args=[returned.pk]),
                           {**correction(returned), "scans": scan}, follow=True)
    claim = Claim.objects.get()
    assert claim.status == ClaimStatus.SUBMITTED
    assert (str(claim.total_cost), str(claim.non_reimbursable_cost), claim.discharge_date.isoformat()) == (
        "1200.00", "0.00", "2026-02-05")
    assert claim.compensation != before
    assert sorted((line.category, str(line.amount)) for line in claim.cost_lines.all()) == [
        ("beds", "200.00"), ("drugs", "1000.00")]
    assert [document.original_name for document in claim.documents.all()] == ["discharge.png"]
    assert list(claim.events.values_list("action", "user")) == [
        ("submit", claim.submitted_by_id), ("return", claim.events.get(action="return").user_id),
        ("resubmit", clerk.pk)]
    assert f"补偿申请 {claim.invoice_no} 已修改并重新提交" in response.content.decode()


def test_a_refused_correction_writes_nothing_and_says_why(client, clerk, returned):
    login(client, clerk)
    response = client.post(reverse("claims:claim_correct", args=[returned.pk]),
                           correction(returned, discharge_date="2026-02-01"))
    assert response.status_code == 200
    assert "出院日期早于入院日期" in response.content.decode()
    claim = Claim.objects.get()
    assert (claim.status, claim.total_cost, claim.cost_lines.count()) == (
        ClaimStatus.RETURNED, returned.total_cost, 2)
    # the bill must still add up to at least one line
    response = client.post(reverse("claims:claim_correct", args=[returned.pk]), correction(
        returned, **{"lines-0-category": "", "lines-0-amount": "", "lines-2-category": "", "lines-2-amount": ""}))
    assert "请至少填写一条费用明细" in response.content.decode()
    assert Claim.objects.get().status == ClaimStatus.RETURNED


def test_only_a_returned_claim_is_corrected(client, clerk, policy, facility, member, admin_user):
    claim = submit(member, admin_user)
    login(client, clerk)
    response = client.get(reverse("claims:claim_correct", args=[claim.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("claims:claim_detail", args=[claim.pk])
    assert "只有退回修改的申请才能修改" in response.content.decode()
    response = client.post(reverse("claims:claim_correct", args=[claim.pk]), correction(claim))
    assert response.status_code == 302
    assert Claim.objects.get().events.count() == 1
    quote = client.post(reverse("claims:claim_correct_quote", args=[claim.pk]), correction(claim))
    assert not quote.context["quote"]["ok"]


def test_the_member_and_facility_stay_the_claims(client, clerk, returned, other_member):
    login(client, clerk)
    client.post(reverse("claims:claim_correct", args=[returned.pk]),
                {**correction(returned), "member": str(other_member.pk), "facility": "999"})
    claim = Claim.objects.get()
    assert (claim.member_id, claim.facility_id, claim.status) == (
        returned.member_id, returned.facility_id, ClaimStatus.SUBMITTED)


@pytest.mark.parametrize("name,method", [("claims:claim_correct", "get"), ("claims:claim_correct", "post"),
                                         ("claims:claim_correct_quote", "post")])
def test_scoping_of_the_correction(client, users_by_role, other_clerk, facility_clerk, returned, name, method):
    url = reverse(name, args=[returned.pk])
    anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    for role in Role:
        if role == Role.TOWNSHIP_CLERK:
            continue
        response = getattr(login(client, users_by_role[role]), method)(url, correction(returned))
        assert response.status_code == 403, role
    response = getattr(login(client, other_clerk), method)(url, correction(returned))
    assert response.status_code == 404
    assert Claim.objects.get().status == ClaimStatus.RETURNED
