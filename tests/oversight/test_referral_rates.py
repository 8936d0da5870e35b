"""Referral rates (转诊率) per facility and per township, and where the oversight pages show them."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Role
from claims.models import Referral
from facilities.models import Level
from oversight.referral_rates import referral_rates
from tests.factories import ClaimFactory, FacilityFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def municipal(township):
    return FacilityFactory(code="F301", name="市中心医院", level=Level.MUNICIPAL, township=township)


@pytest.fixture
def stays(facility, municipal, township, other_township):
    """At the municipal hospital (a level the example policy reduces): three of the township's
    members, one resting on a referral record, one with the flag only, one unreferred, and a
    rejected referred one that counts for nothing; one of the other township, unreferred. At the
    township health centre (not reduced): an unreferred stay that counts for nothing."""
    def member(place):
        return MemberFactory(household__village__township=place)

    with_record = member(township)
    record = Referral.objects.create(
        number="ZZ-1", member=with_record, township=township, from_facility=facility, to_facility=municipal,
        date=date(2026, 2, 20), reason="病情需要", issued_at=datetime(2026, 2, 20, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    ClaimFactory(member=with_record, facility=municipal, referred=True, referral=record)
    ClaimFactory(member=member(township), facility=municipal, referred=True)
    ClaimFactory(member=member(township), facility=municipal)
    ClaimFactory(member=member(township), facility=municipal, referred=True, status="rejected")
    ClaimFactory(member=member(other_township), facility=municipal)
    ClaimFactory(member=member(township), facility=facility)


def test_the_rate_counts_the_reduced_levels_only(stays, facility, municipal, township, other_township):
    rates = referral_rates(first=date(2026, 1, 1), last=date(2026, 3, 31))
    hospital = rates.facilities[municipal.pk]
    assert (hospital.claims, hospital.referred, str(hospital.rate)) == (4, 2, "0.5000")
    assert facility.pk not in rates.facilities
    own, other = rates.townships[township.pk], rates.townships[other_township.pk]
    assert (own.claims, own.referred, str(own.rate)) == (3, 2, "0.6667")
    assert (other.claims, other.referred, str(other.rate)) == (1, 0, "0.0000")
    # outside the period nothing counts
    assert referral_rates(first=date(2026, 4, 1), last=date(2026, 4, 30)).facilities == {}


def test_the_scorecard_and_the_ranking_show_the_rates(stays, facility, municipal, users_by_role, client):
    client.force_login(users_by_role[Role.FUND_OFFICER])
    query = {"year": "2026", "month": "3"}
    page = client.get(f"/facilities/{municipal.pk}/scorecard/", query).content.decode()
    assert "近12个月转诊率 50.00%" in page
    assert "本机构级别住院不要求转诊" in client.get(f"/facilities/{facility.pk}/scorecard/", query).content.decode()
    ranking = client.get("/facilities/ranking/", query).content.decode()
    section = ranking[ranking.index('id="referral-rates"'):]
    assert "市中心医院" in section and "50.00%" in section and "66.67%" in section and "0.00%" in section


def test_a_facility_clerk_sees_their_own_rate(stays, municipal, make_user, client):
    client.force_login(make_user(Role.FACILITY_CLERK, facility=municipal, username="m-clerk"))
    page = client.get(f"/facilities/{municipal.pk}/scorecard/", {"year": "2026", "month": "3"}).content.decode()
    assert "近12个月转诊率 50.00%" in page
