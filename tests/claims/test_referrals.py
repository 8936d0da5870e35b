"""Referral records (转诊单): issuing and cancelling them, the claims that rest on them (settlement,
quote_claims lines, the web desks), and their pages' scoping."""
import json
import subprocess
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from claims import settlement
from claims.models import Claim, Referral
from claims.services import claim_quote, claim_settle, claim_submit, referral_cancel, referral_issue
from core.errors import NcmsError
from facilities.models import Level
from tests.claims.conftest import TODAY, facts, line
from tests.claims.test_views import entry_data
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(clock, monkeypatch):
    clock("2026-03-20 10:00")
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


@pytest.fixture
def municipal(township):
    """A municipal hospital: a level the example policy reduces for the unreferred."""
    return FacilityFactory(code="F003", name="市中心医院", level=Level.MUNICIPAL, township=township)


@pytest.fixture
def municipal_clerk(make_user, municipal):
    return make_user(Role.FACILITY_CLERK, facility=municipal, username="mclerk")


def issue(user, member, from_facility, to_facility, **changes):
    data = {"number": "ZZ-0001", "id_number": member.id_number, "from_facility": from_facility,
            "to_facility": to_facility, "day": date(2026, 2, 28), "reason": "病情需要上级医院诊治"}
    data.update(changes)
    return referral_issue(user=user, **data)


# --- issuing ------------------------------------------------------------------------------------


def test_a_facility_issues_a_referral_from_itself(facility, municipal, member, facility_clerk):
    referral = issue(facility_clerk, member, facility, municipal)
    referral.refresh_from_db()
    assert (referral.member, referral.township, referral.from_facility, referral.to_facility) == (
        member, member.household.village.township, facility, municipal)
    assert (referral.issued_by, referral.emergency, referral.cancelled_at) == (facility_clerk, False, None)
    assert referral.history.get().history_user == facility_clerk


def test_the_township_office_issues_for_its_members(facility, municipal, member, clerk):
    assert issue(clerk, member, facility, municipal).issued_by == clerk


@pytest.mark.parametrize(("changes", "code", "words"), [
    ({"to": "county", "from": "municipal"}, "bad_referral", "级别更低"),
    ({"to": "township"}, "bad_referral", "同一家医疗机构"),
    ({"id_number": "420102199901019999"}, "unknown_member", "找不到身份证号"),
    ({"admission_date": date(2026, 2, 27)}, "bad_referral", "非急诊转诊应在入院前办理"),
    ({"emergency": True, "admission_date": date(2026, 2, 17)}, "bad_referral", "10 天内补办"),
    ({"emergency": True}, "bad_referral", "请填写入院日期"),
    ({"day": date(2026, 3, 21)}, "bad_referral", "晚于今天"),
    ({"reason": " "}, "bad_input", "转诊原因"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(
        changes, code, words, policy, facility, county_facility, municipal, member, clerk):
    places = {"township": facility, "county": county_facility, "municipal": municipal}
    from_facility = places[changes.pop("from", "township")]
    to_facility = places[changes.pop("to", "municipal")]
    with pytest.raises(NcmsError) as refusal:
        issue(clerk, member, from_facility, to_facility, **changes)
    assert refusal.value.code == code and words in refusal.value.message
    assert Referral.objects.count() == 0


def test_a_referral_dated_after_the_discharge_is_refused(policy, facility, municipal, member, clerk):
    # the stay at the municipal hospital, 2026-03-01 to 03-08, is already claimed
    claim_submit(user=clerk, facts=facts(member, facility="F003", invoice_no="M-1"), channel="township")
    with pytest.raises(NcmsError) as refusal:
        issue(clerk, member, facility, municipal, emergency=True, admission_date=date(2026, 3, 1),
              day=date(2026, 3, 9))
    assert "晚于该次住院的出院日期 2026-03-08" in refusal.value.message
    assert Referral.objects.count() == 0
    # within the stay it is accepted
    assert issue(clerk, member, facility, municipal, emergency=True, admission_date=date(2026, 3, 1),
                 day=date(2026, 3, 8)).emergency is True


def test_scope_of_the_issuer(facility, county_facility, municipal, member, other_member, other_clerk,
                             facility_clerk, users_by_role):
    with pytest.raises(NcmsError) as refusal:
        issue(other_clerk, member, facility, municipal)
    assert refusal.value.code == "out_of_scope"
    with pytest.raises(NcmsError) as refusal:
        issue(facility_clerk, member, county_facility, municipal)
    assert refusal.value.code == "out_of_scope"
    with pytest.raises(NcmsError) as refusal:
        issue(users_by_role[Role.CASHIER], member, facility, municipal)
    assert refusal.value.code == "forbidden"
    assert Referral.objects.count() == 0


def test_a_number_is_used_once(facility, municipal, member, clerk):
    issue(clerk, member, facility, municipal)
    with pytest.raises(NcmsError) as refusal:
        issue(clerk, member, facility, municipal)
    assert refusal.value.code == "duplicate_referral"
    assert Referral.objects.count() == 1


# --- cancelling ---------------------------------------------------------------------------------


def test_a_referral_is_cancelled_with_a_reason_never_deleted(policy, facility, municipal, member, clerk):
    referral = issue(clerk, member, facility, municipal)
    with pytest.raises(NcmsError):
        referral_cancel(user=clerk, referral=referral, reason="")
    referral_cancel(user=clerk, referral=referral, reason="开错了医院")
    referral.refresh_from_db()
    assert (referral.cancelled_by, referral.cancel_reason) == (clerk, "开错了医院")
    assert referral.history.count() == 2
    with pytest.raises(NcmsError) as refusal:
        referral_cancel(user=clerk, referral=referral, reason="再次")
    assert refusal.value.code == "already_cancelled"


def test_a_referral_a_claim_rests_on_is_not_cancelled(policy, facility, municipal, member, clerk):
    referral = issue(clerk, member, facility, municipal)
    claim_submit(user=clerk, facts=facts(member, facility="F003", referral_no="ZZ-0001"), channel="township")
    with pytest.raises(NcmsError) as refusal:
        referral_cancel(user=clerk, referral=referral, reason="开错了")
    assert refusal.value.code == "referral_used"
    referral.refresh_from_db()
    assert referral.cancelled_at is None


# --- claims resting on a referral -------------------------------------------------------------


def test_a_claim_naming_a_covering_referral_counts_as_referred(policy, facility, municipal, member,
                                                               municipal_clerk):
    referral = issue(None, member, facility, municipal)
    unreferred = claim_quote(facts=facts(member, facility="F003", total_cost="20000.00"))
    referred = claim_quote(facts=facts(member, facility="F003", total_cost="20000.00", referred=True))
    claim, _ = claim_settle(user=municipal_clerk, facts=facts(member, facility="F003", total_cost="20000.00",
                                                              referral_no="ZZ-0001"))
    claim.refresh_from_db()
    assert (claim.referred, claim.referral) == (True, referral)
    assert claim.compensation == referred.compensation > unreferred.compensation


def test_without_a_referral_no_the_flag_stays_as_given(policy, facility, municipal, member, municipal_clerk):
    claim, _ = claim_settle(user=municipal_clerk, facts=facts(member, facility="F003", referred=True))
    assert (claim.referred, claim.referral) == (True, None)


@pytest.mark.parametrize(("referral", "claim", "words"), [
    ({}, {"referral_no": "NONE-1"}, "找不到转诊单号为 NONE-1"),
    ({"member": "other"}, {}, "不是该参合人员的转诊单"),
    ({"to": "county"}, {}, "转入的不是本次住院的医疗机构"),
    ({"day": date(2026, 3, 2)}, {}, "非急诊转诊应在入院前办理"),
    ({"day": date(2026, 3, 12), "emergency": True, "admission_date": date(2026, 3, 5)},
     {"discharge_date": "2026-03-15"}, "超过入院（2026-03-01）后 10 天"),
    ({"day": date(2026, 3, 9), "emergency": True, "admission_date": date(2026, 3, 1)}, {}, "晚于出院日期 2026-03-08"),
    ({"cancel": True}, {}, "已作废"),
])
def test_a_referral_that_does_not_cover_the_stay_is_refused(
        referral, claim, words, policy, facility, county_facility, municipal, member, other_member,
        municipal_clerk):
    who = other_member if referral.pop("member", None) == "other" else member
    to_facility = county_facility if referral.pop("to", None) == "county" else municipal
    cancel = referral.pop("cancel", False)
    record = issue(None, who, facility, to_facility, **referral)
    if cancel:
        referral_cancel(user=None, referral=record, reason="作废")
    claim.setdefault("referral_no", "ZZ-0001")
    with pytest.raises(NcmsError) as refusal:
        claim_settle(user=municipal_clerk, facts=facts(member, facility="F003", **claim))
    assert refusal.value.code == "bad_referral" and words in refusal.value.message
    assert Claim.objects.count() == 0


def test_an_emergency_referral_filed_within_ten_days_covers_the_stay(policy, facility, municipal, member,
                                                                    municipal_clerk):
    issue(None, member, facility, municipal, emergency=True, admission_date=date(2026, 3, 1), day=date(2026, 3, 8))
    claim, _ = claim_settle(user=municipal_clerk, facts=facts(member, facility="F003", referral_no="ZZ-0001"))
    assert claim.referred is True


def test_a_settlement_with_a_referral_takes_one_more_statement(policy, facility, municipal, member,
                                                                municipal_clerk, django_assert_max_num_queries):
    issue(None, member, facility, municipal)
    claim_settle(user=municipal_clerk, facts=facts(member, facility="F003", invoice_no="WARM-1",
                                                   admission_date="2026-01-02", discharge_date="2026-01-05"))
    clerk = type(municipal_clerk).objects.select_related("facility").get(pk=municipal_clerk.pk)
    # the settlement's 9 (tests/claims/test_services.py), the referral record, + 2 for the savepoint pair
    with django_assert_max_num_queries(9 + 1 + 2):
        claim, _ = claim_settle(user=clerk, facts=facts(member, facility="F003", referral_no="ZZ-0001"))
    assert claim.referral_id is not None


def test_the_settlement_api_takes_a_referral_no(policy, facility, municipal, member, municipal_clerk, client):
    issue(None, member, facility, municipal)
    client.force_login(municipal_clerk)
    body = {key: value for key, value in line(member, facility="F003").items() if key not in ("ref", "facility")}
    refused = client.post("/api/v1/claims/", {**body, "referral_no": "NONE"}, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["error"] == "bad_referral"
    response = client.post("/api/v1/claims/", {**body, "referral_no": " ZZ-0001 "}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["referred"] is True and response.json()["referral_no"] == "ZZ-0001"
    # read back, the list and the claim name it too (the claim's referral selected with it)
    claim_id = response.json()["id"]
    assert client.get(f"/api/v1/claims/{claim_id}/").json()["referral_no"] == "ZZ-0001"
    assert [c["referral_no"] for c in client.get("/api/v1/claims/").json()["results"]] == ["ZZ-0001"]
    from claims.api import claim_data
    from claims.serializers import ClaimSerializer

    claim = Claim.objects.select_related("member", "facility", "policy", "referral").get(pk=claim_id)
    assert claim_data(claim) == json.loads(json.dumps(ClaimSerializer(claim).data))


def test_quote_claims_lines_check_a_referral_no(policy, facility, municipal, member):
    issue(None, member, facility, municipal)
    lines = [line(member, ref=ref, facility="F003", invoice_no=ref, total_cost="20000.00",
                  admission_date=f"2026-03-{day:02d}", discharge_date=f"2026-03-{day + 1:02d}", **changes)
             for ref, day, changes in [("a", 1, {}), ("b", 3, {"referred": True}), ("c", 5, {"referral_no": "NONE"}),
                                       ("d", 7, {"referral_no": "ZZ-0001"})]]
    out = StringIO()
    call_command("quote_claims", "--year", "2026", stdin=StringIO("\n".join(map(json.dumps, lines)) + "\n"),
                 stdout=out)
    results = {result["ref"]: result for result in map(json.loads, out.getvalue().splitlines())}
    assert (results["c"]["ok"], results["c"]["error"]) == (False, "bad_referral")
    assert results["d"]["ok"] is True
    # without a record the flag is as given; with one the line counts as referred
    assert Decimal(results["b"]["compensation"]) > Decimal(results["a"]["compensation"]) > 0
    assert results["d"]["compensation"] == results["b"]["compensation"]


# --- the web desks ------------------------------------------------------------------------------


def test_the_township_desk_finds_the_covering_referral(policy, facility, municipal, member, clerk, client,
                                                       tmp_path):
    referral = issue(clerk, member, facility, municipal)
    client.force_login(clerk)
    response = client.post(reverse("claims:claim_create"), entry_data(member, municipal, scans=None))
    claim = Claim.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (claim.referred, claim.referral) == (True, referral)
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "转诊单 ZZ-0001" in page
    # and on the settlement slip
    slip = tmp_path / "slip.pdf"
    slip.write_bytes(client.get(reverse("claims:claim_slip_pdf", args=[claim.pk])).content)
    text = subprocess.run(["pdftotext", "-layout", str(slip), "-"], capture_output=True, check=True, text=True).stdout
    assert "转诊单 ZZ-0001" in text


def test_the_desk_refuses_a_referral_no_that_does_not_cover(policy, facility, municipal, member, clerk, client):
    issue(clerk, member, facility, municipal, day=date(2026, 3, 5))
    client.force_login(clerk)
    response = client.post(reverse("claims:claim_create"),
                           entry_data(member, municipal, referral_no="ZZ-0001", scans=None))
    assert response.status_code == 200
    assert "非急诊转诊应在入院前办理" in response.content.decode()
    assert Claim.objects.count() == 0
    # without a number nothing covers the stay: not referred
    quote = client.post(reverse("claims:claim_quote_preview"), entry_data(member, municipal)).content.decode()
    assert "没有覆盖本次入院的转诊单" in quote


# --- the pages ----------------------------------------------------------------------------------


def test_pages_are_scoped(facility, municipal, member, other_member, clerk, other_clerk, users_by_role, client):
    own = issue(None, member, facility, municipal)
    other = issue(None, other_member, facility, municipal, number="ZZ-0002")
    detail = reverse("claims:referral_detail", args=[own.pk])
    assert client.get(detail).status_code == 302  # anonymous: to the login page
    client.force_login(users_by_role[Role.CASHIER])
    assert client.get(reverse("claims:referral_list")).status_code == 403
    assert client.get(detail).status_code == 403
    client.force_login(clerk)
    listing = client.get(reverse("claims:referral_list")).content.decode()
    assert "ZZ-0001" in listing and "ZZ-0002" not in listing
    assert client.get(detail).status_code == 200
    assert client.get(reverse("claims:referral_detail", args=[other.pk])).status_code == 404
    response = client.post(reverse("claims:referral_cancel", args=[other.pk]), {"reason": "x"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.cancelled_at is None


def test_the_issue_page_writes_or_says_why_not(facility, county_facility, municipal, member, facility_clerk, client):
    client.force_login(facility_clerk)
    form = client.get(reverse("claims:referral_create")).context["form"]
    assert list(form.fields["from_facility"].queryset) == [facility]
    data = {"number": "ZZ-0009", "id_number": member.id_number, "from_facility": facility.pk,
            "to_facility": facility.pk, "date": "2026-03-01", "reason": "病情需要"}
    refused = client.post(reverse("claims:referral_create"), data)
    assert refused.status_code == 200 and "同一家医疗机构" in refused.content.decode()
    assert Referral.objects.count() == 0
    done = client.post(reverse("claims:referral_create"), {**data, "to_facility": county_facility.pk})
    referral = Referral.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("claims:referral_detail", args=[referral.pk])
    cancelled = client.post(reverse("claims:referral_cancel", args=[referral.pk]), {"reason": "开错了"})
    assert cancelled.status_code == 302
    referral.refresh_from_db()
    assert referral.cancel_reason == "开错了"
