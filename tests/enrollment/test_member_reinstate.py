"""撤销死亡/迁出登记: a death or move-out recorded by mistake is undone with a reason, the member on
the roll again (history: who, when, why). Refused with nothing written for a member on the roll,
without a reason, out of scope or for a role that may not change enrollment. Afterwards the member
is enrolled again and a stay admitted after the former date of death is no longer refused."""
from datetime import date

import pytest
from django.urls import reverse

from accounts.models import Role
from claims.services import claim_settle
from core.errors import NcmsError
from enrollment import services
from enrollment.models import Enrollment, Member, MemberStatus
from tests.claims.conftest import facility_clerk, facts  # noqa: F401 (fixture)
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def household(village):
    return HouseholdFactory(village=village)


@pytest.fixture
def head(household):
    person = MemberFactory(household=household, name="王户主")
    household.head = person
    household.save(update_fields=["head"])
    return person


@pytest.fixture
def deceased(clerk, head, household, clock):
    """Enrolled for 2026 (paid 2025-12-01), recorded as died on 2026-05-10 — by mistake."""
    clock("2026-07-01 10:00")
    person = MemberFactory(household=household, name="王故", relation="son")
    EnrollmentFactory(member=person, year=2026, paid_date=date(2025, 12, 1))
    services.member_leave(user=clerk, member=person, status=MemberStatus.DIED, on=date(2026, 5, 10), reason="病故")
    return Member.objects.get(pk=person.pk)


def counts():
    return (Member.history.count(), Enrollment.objects.count(),
            list(Member.objects.order_by("pk").values_list("status", "status_date", "status_reason")))


# --- the service -----------------------------------------------------------------------------


def test_a_death_is_undone_with_who_and_why(clerk, deceased):
    member = services.member_reinstate(user=clerk, member=deceased, reason=" 误登记为死亡 ")
    stored = Member.objects.get(pk=deceased.pk)
    assert (stored.status, stored.status_date, stored.status_reason) == (MemberStatus.ACTIVE, None, "")
    assert member.on_roll
    undone, recorded = stored.history.all()[:2]
    assert (undone.history_user, undone.history_change_reason) == (clerk, "撤销死亡登记：误登记为死亡")
    assert undone.history_date is not None
    # the earlier row still shows what was recorded
    assert (recorded.status, recorded.status_date, recorded.history_change_reason) == (
        MemberStatus.DIED, date(2026, 5, 10), "死亡：病故")


def test_a_move_out_is_undone(clerk, head, household, clock):
    clock("2026-07-01 10:00")
    person = MemberFactory(household=household, name="王外迁", relation="son")
    services.member_leave(user=clerk, member=person, status=MemberStatus.MOVED_OUT, on=date(2026, 3, 1),
                          reason="户口迁往外县")
    services.member_reinstate(user=clerk, member=person, reason="户口并未迁出")
    stored = Member.objects.get(pk=person.pk)
    assert stored.status == MemberStatus.ACTIVE
    assert stored.history.first().history_change_reason == "撤销迁出登记：户口并未迁出"


def test_a_member_on_the_roll_is_refused_with_nothing_written(clerk, head):
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.member_reinstate(user=clerk, member=head, reason="误登记")
    assert (refused.value.code, refused.value.message) == ("member_on_roll", "王户主在册，没有死亡或迁出登记可撤销")
    assert counts() == before


@pytest.mark.parametrize("reason, message", [
    ("", "请填写撤销原因"), ("   ", "请填写撤销原因"), (None, "请填写撤销原因"), ("误" * 201, "撤销原因最多200个字"),
])
def test_a_reason_is_required(clerk, deceased, reason, message):
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.member_reinstate(user=clerk, member=deceased, reason=reason)
    assert (refused.value.code, refused.value.message) == ("missing_reason", message)
    assert counts() == before


def test_another_township_and_other_roles_are_refused(other_clerk, users_by_role, deceased):
    before = counts()
    with pytest.raises(NcmsError) as out_of_scope:
        services.member_reinstate(user=other_clerk, member=deceased, reason="误登记")
    assert out_of_scope.value.code == "member_out_of_scope"
    for role in (Role.AUDITOR, Role.FACILITY_CLERK, Role.FUND_OFFICER):
        with pytest.raises(NcmsError) as forbidden:
            services.member_reinstate(user=users_by_role[role], member=deceased, reason="误登记")
        assert forbidden.value.code == "forbidden"
    assert counts() == before


# --- afterwards: enrolled again, claims no longer refused ------------------------------------


def test_the_member_is_enrolled_again(clerk, household, head, clock):
    clock("2026-07-01 10:00")
    person = MemberFactory(household=household, name="王迁回", relation="son")
    services.member_leave(user=clerk, member=person, status=MemberStatus.MOVED_OUT, on=date(2025, 8, 1),
                          reason="外迁")
    assert person.pk not in [m.pk for m in services.members_to_enroll(household, 2026)]
    services.member_reinstate(user=clerk, member=person, reason="误登记")
    assert person.pk in [m.pk for m in services.members_to_enroll(household, 2026)]
    enrollment = services.enrollment_record_contribution(user=clerk, member=Member.objects.get(pk=person.pk),
                                                         year=2026, contribution="380.00", receipt_no="R-RE-1",
                                                         paid_date=date(2026, 7, 1))
    assert (enrollment.member_id, enrollment.year) == (person.pk, 2026)


def test_a_stay_after_the_former_death_date_is_no_longer_refused(clerk, deceased, facility_clerk):  # noqa: F811
    late = facts(deceased, invoice_no="LATE-1", admission_date="2026-05-11", discharge_date="2026-05-12")
    with pytest.raises(NcmsError) as refused:
        claim_settle(user=facility_clerk, facts=late)
    assert refused.value.code == "member_deceased"
    services.member_reinstate(user=clerk, member=deceased, reason="误登记为死亡")
    claim, created = claim_settle(user=facility_clerk, facts=late)
    assert created is True and claim.member_id == deceased.pk


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_the_status_and_the_post_reinstates(client, clerk, household, deceased):
    client.force_login(clerk)
    detail = reverse("enrollment:household_detail", args=[household.pk])
    url = reverse("enrollment:member_reinstate", args=[deceased.pk])
    page = client.get(detail).content.decode()
    assert url in page and "撤销登记" in page
    assert reverse("enrollment:member_leave", args=[deceased.pk]) not in page
    page = client.get(url).content.decode()
    assert "撤销 王故 的死亡/迁出登记" in page
    assert "死亡" in page and "2026-05-10" in page and "病故" in page
    # no reason: the form again, nothing written
    assert "撤销原因" in client.post(url, {"reason": " "}).content.decode()
    assert Member.objects.get(pk=deceased.pk).status == MemberStatus.DIED
    response = client.post(url, {"reason": "误登记为死亡"}, follow=True)
    assert response.redirect_chain == [(detail, 302)]
    page = response.content.decode()
    assert "已撤销 王故 的死亡登记，该成员重新在册" in page
    assert reverse("enrollment:member_leave", args=[deceased.pk]) in page and url not in page
    assert Member.objects.get(pk=deceased.pk).status == MemberStatus.ACTIVE
    # twice: refused on the form
    page = client.post(url, {"reason": "误登记为死亡"}).content.decode()
    assert "王故在册，没有死亡或迁出登记可撤销" in page


def test_the_link_is_only_for_users_who_may_change(client, users_by_role, household, deceased):
    client.force_login(users_by_role[Role.AUDITOR])
    page = client.get(reverse("enrollment:household_detail", args=[household.pk])).content.decode()
    assert "2026-05-10" in page
    assert reverse("enrollment:member_reinstate", args=[deceased.pk]) not in page


def test_another_townships_clerk_gets_404(client, other_clerk, deceased):
    client.force_login(other_clerk)
    url = reverse("enrollment:member_reinstate", args=[deceased.pk])
    before = counts()
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "误登记"}).status_code == 404
    assert counts() == before


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.FACILITY_CLERK])
def test_other_roles_are_forbidden(client, users_by_role, deceased, role):
    client.force_login(users_by_role[role])
    url = reverse("enrollment:member_reinstate", args=[deceased.pk])
    before = counts()
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "误登记"}).status_code == 403
    assert counts() == before


def test_anonymous_is_sent_to_login(client, deceased):
    response = client.get(reverse("enrollment:member_reinstate", args=[deceased.pk]))
    assert response.status_code == 302 and response.url.startswith("/login/")
