"""A stay admitted after the member's recorded death is refused with `member_deceased` wherever a
claim is checked — quote_claims, the facility API (quote and settle), the township office's entry;
a stay admitted on the day of death is valued. import_claims: tests/fund/test_import_claims.py."""
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from claims import settlement
from claims.eligibility import MemberInfo, check_claim
from claims.models import Claim
from claims.services import claim_settle
from core.errors import NcmsError
from enrollment.models import MemberStatus
from tests.claims.conftest import facts, line
from tests.claims.test_api import body, client_for
from tests.claims.test_coverage import fresh_throttle, nothing_written, quote  # noqa: F401 (fixture)
from tests.claims.test_views import entry_data
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

MESSAGE = "参合人员 王故 已于 2026-05-10 死亡，此后入院的住院费用不能报销"


@pytest.fixture
def deceased(village):
    """Enrolled for 2026, died on 2026-05-10."""
    person = MemberFactory(household=HouseholdFactory(village=village), name="王故", status=MemberStatus.DIED,
                           status_date=date(2026, 5, 10), status_reason="病故")
    EnrollmentFactory(member=person, year=2026, paid_date=date(2025, 12, 1))
    return person


def test_the_check_refuses_an_admission_after_the_death(policy, facility):
    from claims.lookups import facility_info

    member = MemberInfo(id=1, category="ordinary", name="王故", birth_date=date(1950, 1, 1),
                        died_on=date(2026, 5, 10))
    common = {"year": None, "policy": policy.policy(), "facility": facility_info(facility), "member": member,
              "paid_date": date(2025, 12, 1), "stays": [], "invoice_taken": False, "today": date(2026, 7, 1)}
    check_claim(facts=_facts(admission=date(2026, 5, 10), discharge=date(2026, 5, 12)), **common)  # the day itself
    with pytest.raises(NcmsError) as refused:
        check_claim(facts=_facts(admission=date(2026, 5, 11), discharge=date(2026, 5, 12)), **common)
    assert (refused.value.code, refused.value.message) == ("member_deceased", MESSAGE)


def _facts(*, admission, discharge):
    from claims.eligibility import ClaimFacts

    return ClaimFacts(id_number="X", facility="F001", admission_date=admission, discharge_date=discharge,
                      total_cost=Decimal("1100.00"), non_reimbursable_cost=Decimal("100.00"))


def test_quote_claims_refuses_a_stay_after_the_death(policy, facility, deceased):
    rows = quote([
        line(deceased, ref="before", invoice_no="A", admission_date="2026-05-01", discharge_date="2026-05-10"),
        line(deceased, ref="after", invoice_no="B", admission_date="2026-05-11", discharge_date="2026-05-12"),
    ])
    assert (rows[0]["ok"], rows[0]["compensation"]) == (True, "810.00")
    assert rows[1] == {"ref": "after", "ok": False, "error": "member_deceased", "message": MESSAGE}


@pytest.mark.parametrize("url", ["/api/v1/quote/", "/api/v1/claims/"])
def test_the_api_refuses_a_stay_after_the_death(policy, facility_clerk, deceased, url, fresh_throttle):  # noqa: F811
    response = client_for(facility_clerk).post(
        url, body(deceased, admission_date="2026-05-11", discharge_date="2026-05-12"), format="json")
    assert response.status_code == 422, response.content
    assert response.json() == {"error": "member_deceased", "message": MESSAGE}
    assert nothing_written()


def test_the_api_settles_a_stay_admitted_on_the_day_of_death(policy, facility_clerk, deceased,
                                                             fresh_throttle):  # noqa: F811
    response = client_for(facility_clerk).post(
        "/api/v1/claims/", body(deceased, admission_date="2026-05-10", discharge_date="2026-05-10"), format="json")
    assert response.status_code == 201, response.content


def test_a_settlement_reads_the_death_in_the_members_statement(policy, facility, deceased, facility_clerk,
                                                               django_assert_max_num_queries):
    claim_settle(user=facility_clerk, facts=facts(deceased, invoice_no="WARM-1", admission_date="2026-04-02",
                                                  discharge_date="2026-04-05"))  # policy parsed, cap row made
    clerk = type(facility_clerk).objects.select_related("facility").get(pk=facility_clerk.pk)
    # as tests/claims/test_services.py: the status comes with the member's statement
    with django_assert_max_num_queries(9 + 2):
        claim, created = claim_settle(user=clerk, facts=facts(deceased, admission_date="2026-05-01",
                                                              discharge_date="2026-05-03"))
    assert created is True
    with pytest.raises(NcmsError) as refused:
        claim_settle(user=clerk, facts=facts(deceased, invoice_no="LATE-1", admission_date="2026-05-11",
                                             discharge_date="2026-05-12"))
    assert refused.value.code == "member_deceased"


def test_township_entry_refuses_a_stay_after_the_death(client, clerk, policy, facility, deceased, monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: date(2026, 6, 1))
    client.force_login(clerk)
    data = entry_data(deceased, facility, admission_date="2026-05-11", discharge_date="2026-05-15")
    response = client.post(reverse("claims:claim_create"), data)
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert Claim.objects.count() == 0
