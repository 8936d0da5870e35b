"""A member's life on the register: died or moved out of the county (date, reason), moved to
another household (the move kept, history kept), a newborn added and enrolled. Bad input gets a
clear message and nothing written; every page is scoped (login, role, township)."""
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from core.errors import NcmsError
from enrollment import services
from enrollment.models import Category, Enrollment, Household, Member, MemberMove, MemberStatus, Payer, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id
from ledger.models import LedgerLine
from tests.factories import HouseholdFactory, VillageFactory

HEAD_ID = make_resident_id("420102", date(1968, 6, 6), 41, MALE)
SON_ID = make_resident_id("420102", date(1995, 2, 3), 52, MALE)
HEAD2_ID = make_resident_id("420102", date(1970, 1, 9), 63, FEMALE)


@pytest.fixture
def household(clerk, village):
    return services.household_create(user=clerk, village=village, number="4201021002010001",
                                     head={"name": "刘德厚", "id_number": HEAD_ID, "category": Category.DIBAO})


@pytest.fixture
def son(clerk, household):
    return services.member_add(user=clerk, household=household, name="刘小军", id_number=SON_ID,
                               relation=Relation.SON)


@pytest.fixture
def other_household(clerk, village):
    return services.household_create(user=clerk, village=VillageFactory(township=village.township, code="420102100203"),
                                     number="4201021002030001",
                                     head={"name": "陈桂兰", "id_number": HEAD2_ID})


def counts():
    return (Member.objects.count(), Member.history.count(), Enrollment.objects.count(), MemberMove.objects.count(),
            LedgerLine.objects.count(), list(Member.objects.order_by("pk").values_list("status", "household_id")))


# --- died, moved out of the county ----------------------------------------------------------


def test_a_death_is_recorded_with_date_reason_and_who(clerk, son):
    day = timezone.localdate() - timedelta(days=3)
    services.member_leave(user=clerk, member=son, status=MemberStatus.DIED, on=day, reason="病故")
    son.refresh_from_db()
    assert (son.status, son.status_date, son.status_reason) == (MemberStatus.DIED, day, "病故")
    record = son.history.first()
    assert (record.history_user, record.history_change_reason) == (clerk, "死亡：病故")


@pytest.mark.parametrize("on, code, words", [
    (lambda: timezone.localdate() + timedelta(days=1), "date_in_future", "晚于今天"),
    (lambda: date(1995, 2, 2), "date_before_birth", "早于出生日期1995-02-03"),
])
def test_a_death_date_in_the_future_or_before_birth_writes_nothing(clerk, son, on, code, words):
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.member_leave(user=clerk, member=son, status=MemberStatus.DIED, on=on(), reason="病故")
    assert refused.value.code == code and words in refused.value.message
    assert refused.value.message.startswith("死亡日期")
    assert counts() == before


def test_a_member_who_left_is_not_enrolled_again(clerk, household, son):
    services.member_leave(user=clerk, member=son, status=MemberStatus.MOVED_OUT, on=date(2025, 8, 1),
                          reason="户口迁往外县")
    year = timezone.localdate().year
    assert [m.pk for m in services.members_to_enroll(household, year)] == [household.head_id]
    with pytest.raises(NcmsError) as refused:
        services.enrollment_record_contribution(user=clerk, member=son, year=year, contribution="380.00",
                                                receipt_no="R-9", paid_date=timezone.localdate())
    assert refused.value.code == "member_not_on_roll"
    assert refused.value.message == "刘小军已于2025-08-01迁出本县，不能再登记缴费"
    with pytest.raises(NcmsError) as twice:
        services.member_leave(user=clerk, member=son, status=MemberStatus.DIED, on=date(2025, 9, 1), reason="x")
    assert twice.value.code == "member_not_on_roll"


def test_another_townships_clerk_cannot_record_a_death(other_clerk, son):
    with pytest.raises(NcmsError) as refused:
        services.member_leave(user=other_clerk, member=son, status=MemberStatus.DIED, on=date(2025, 1, 1),
                              reason="病故")
    assert refused.value.code == "member_out_of_scope"


# --- moving household ------------------------------------------------------------------------


def test_a_move_keeps_the_member_their_enrollments_and_the_history(clerk, household, son, other_household):
    year = timezone.localdate().year
    enrollment = services.enrollment_record_contribution(user=clerk, member=son, year=year, contribution="380.00",
                                                         receipt_no="R-1", paid_date=date(year, 1, 2))
    day = timezone.localdate()
    move = services.member_move(user=clerk, member=son, to_household_number=" 4201021002030001 ",
                                relation=Relation.OTHER, on=day, reason="分户")
    son.refresh_from_db()
    assert (son.household, son.relation) == (other_household, Relation.OTHER)
    assert (move.from_household, move.to_household, move.moved_on, move.reason, move.moved_by) == (
        household, other_household, day, "分户", clerk)
    assert Enrollment.objects.get(pk=enrollment.pk).member == son
    # history: the earlier rows stay in the old household, the move is stamped with who and why
    assert son.history.filter(household_id=household.pk).count() == 1
    assert son.history.first().history_change_reason == "迁户 4201021002010001 → 4201021002030001：分户"
    assert son.history.first().history_user == clerk
    # the next roster follows: the member is listed in the new household
    assert sorted(other_household.members.values_list("name", flat=True)) == sorted(["陈桂兰", "刘小军"])


@pytest.mark.parametrize("number, code, words", [
    ("9999999999", "household_not_in_county", "户号9999999999不在本县：迁出本县的，请登记“迁出本县”"),
    ("4201021002010001", "same_household", "刘小军已经在户号4201021002010001"),
])
def test_a_move_outside_the_county_or_to_the_same_household_writes_nothing(clerk, son, number, code, words):
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.member_move(user=clerk, member=son, to_household_number=number, relation=Relation.SON,
                             on=timezone.localdate(), reason="迁")
    assert (refused.value.code, refused.value.message) == (code, words)
    assert counts() == before


def test_a_move_to_another_township_is_the_county_offices(clerk, son, other_village, users_by_role):
    target = HouseholdFactory(village=other_village, number="4201023001010001")
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.member_move(user=clerk, member=son, to_household_number=target.number, relation=Relation.SON,
                             on=timezone.localdate(), reason="婚迁")
    assert refused.value.code == "household_out_of_scope"
    assert "请由县合管办办理" in refused.value.message
    assert counts() == before
    admin = users_by_role[Role.ADMINISTRATOR]
    services.member_move(user=admin, member=son, to_household_number=target.number, relation=Relation.SON,
                         on=timezone.localdate(), reason="婚迁")
    assert Member.objects.get(pk=son.pk).household == target


def test_the_head_and_a_future_move_are_refused(clerk, household, son, other_household):
    with pytest.raises(NcmsError) as head:
        services.member_move(user=clerk, member=household.head, to_household_number=other_household.number,
                             relation=Relation.OTHER, on=timezone.localdate(), reason="分户")
    assert head.value.code == "head_moves"
    with pytest.raises(NcmsError) as future:
        services.member_move(user=clerk, member=son, to_household_number=other_household.number,
                             relation=Relation.OTHER, on=timezone.localdate() + timedelta(days=1), reason="分户")
    assert future.value.code == "date_in_future"
    assert MemberMove.objects.count() == 0


# --- newborn ---------------------------------------------------------------------------------


def test_a_newborn_is_enrolled_with_the_parents_rules(clerk, household, clock):
    clock("2026-06-15 10:00")
    baby_id = make_resident_id("420102", date(2026, 3, 20), 11, FEMALE)
    enrollment = services.newborn_add(user=clerk, household=household, name="刘小花", id_number=baby_id,
                                      birth_date=date(2026, 3, 20), relation=Relation.DAUGHTER,
                                      receipt_no="NB-1", paid_date=date(2026, 6, 18 - 3))
    baby = enrollment.member
    # the head is 低保: civil affairs pays, the year's policy amount
    assert (baby.category, enrollment.payer, enrollment.contribution, enrollment.year) == (
        Category.DIBAO, Payer.CIVIL_AFFAIRS, services.year_contribution(2026), 2026)
    assert (baby.household, baby.sex, baby.status) == (household, FEMALE, MemberStatus.ACTIVE)
    assert baby.history.get().history_change_reason == "新生儿入户"
    assert services.covered_from_birth(enrollment) is True  # paid 87 days after birth
    assert LedgerLine.objects.exists()  # booked as individual income


def test_a_newborn_whose_id_gives_another_birth_date_writes_nothing(clerk, household, clock):
    clock("2026-06-15 10:00")
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.newborn_add(user=clerk, household=household, name="刘小花",
                             id_number=make_resident_id("420102", date(2026, 3, 20), 11, FEMALE),
                             birth_date=date(2026, 3, 21), relation=Relation.DAUGHTER, receipt_no="NB-1",
                             paid_date=date(2026, 6, 1))
    assert refused.value.code == "birth_date_mismatch"
    assert refused.value.message == "出生日期与身份证号不符：身份证号显示为2026-03-20"
    assert counts() == before


def test_a_newborn_paid_before_birth_writes_nothing(clerk, household, clock):
    clock("2026-06-15 10:00")
    before = counts()
    with pytest.raises(NcmsError) as refused:
        services.newborn_add(user=clerk, household=household, name="刘小花",
                             id_number=make_resident_id("420102", date(2026, 3, 20), 11, FEMALE),
                             birth_date=date(2026, 3, 20), relation=Relation.DAUGHTER, receipt_no="NB-1",
                             paid_date=date(2026, 3, 1))
    assert refused.value.code == "bad_paid_date"
    assert counts() == before


# --- pages -----------------------------------------------------------------------------------


def _urls(household, son):
    return [reverse("enrollment:member_leave", args=[son.pk]), reverse("enrollment:member_move", args=[son.pk]),
            reverse("enrollment:newborn_add", args=[household.pk])]


def test_anonymous_is_sent_to_login(client, household, son):
    for url in _urls(household, son):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url


@pytest.mark.parametrize("role", [Role.FACILITY_CLERK, Role.REVIEWER, Role.FUND_OFFICER, Role.AUDITOR])
def test_other_roles_are_forbidden(client, household, son, users_by_role, role):
    client.force_login(users_by_role[role])
    for url in _urls(household, son):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url


def test_another_townships_clerk_gets_404(client, household, son, other_clerk):
    client.force_login(other_clerk)
    before = counts()
    for url in _urls(household, son):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"status": "died", "on": "2025-01-01", "reason": "x"}).status_code == 404, url
    assert counts() == before


def test_the_clerk_records_a_death_and_the_household_page_shows_it(client, clerk, household, son):
    client.force_login(clerk)
    url = reverse("enrollment:member_leave", args=[son.pk])
    assert client.get(url).status_code == 200
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    page = client.post(url, {"status": "died", "on": future, "reason": "病故"}).content.decode()
    assert "死亡日期" in page and "晚于今天" in page
    assert Member.objects.get(pk=son.pk).status == MemberStatus.ACTIVE
    response = client.post(url, {"status": "died", "on": "2024-11-03", "reason": "病故"})
    assert response.status_code == 302
    page = client.get(reverse("enrollment:household_detail", args=[household.pk])).content.decode()
    assert "死亡" in page and "2024-11-03" in page and "病故" in page
    # died before the year: the year's count is of the one member left
    assert f"{timezone.localdate().year}年度已参合 0 / 1 人" in page


def test_the_clerk_moves_a_member_and_both_households_show_the_move(client, clerk, household, son, other_household):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:member_move", args=[son.pk]), {
        "to_household_number": other_household.number, "relation": "other", "on": timezone.localdate().isoformat(),
        "reason": "分户"})
    assert response.status_code == 302
    for place in (household, other_household):
        page = client.get(reverse("enrollment:household_detail", args=[place.pk])).content.decode()
        assert "成员迁户记录" in page and "分户" in page and "4201021002030001" in page
    page = client.post(reverse("enrollment:member_move", args=[household.head.pk]), {
        "to_household_number": "nope", "relation": "other", "on": timezone.localdate().isoformat(),
        "reason": "分户"}).content.decode()
    assert "户号nope不在本县" in page


def test_the_clerk_adds_a_newborn(client, clerk, household):
    client.force_login(clerk)
    url = reverse("enrollment:newborn_add", args=[household.pk])
    assert client.get(url).status_code == 200
    born = timezone.localdate() - timedelta(days=1)
    baby_id = make_resident_id("420102", born, 11, MALE)
    wrong = client.post(url, {"name": "刘小宝", "id_number": baby_id, "birth_date": (born - timedelta(days=1)).isoformat(),
                              "relation": "son", "receipt_no": "NB-1", "paid_date": timezone.localdate().isoformat()})
    assert "出生日期与身份证号不符" in wrong.content.decode()
    assert not Member.objects.filter(id_number=baby_id).exists()
    response = client.post(url, {"name": "刘小宝", "id_number": baby_id, "birth_date": born.isoformat(),
                                 "relation": "son", "receipt_no": "NB-1", "paid_date": timezone.localdate().isoformat()})
    assert response.status_code == 302
    baby = Member.objects.get(id_number=baby_id)
    assert baby.enrollments.get().year == born.year
    page = client.get(reverse("enrollment:household_detail", args=[household.pk]), follow=True).content.decode()
    assert "刘小宝" in page


def test_household_pay_is_not_offered_for_members_who_left(clerk, household, son):
    year = timezone.localdate().year
    services.enrollment_record_contribution(user=clerk, member=household.head, year=year, contribution="380.00",
                                            receipt_no="R-1", paid_date=date(year, 1, 2))
    services.member_leave(user=clerk, member=son, status=MemberStatus.DIED, on=date(2024, 3, 1), reason="病故")
    assert services.members_to_enroll(Household.objects.get(pk=household.pk), year) == []


def test_a_baby_born_in_late_december_is_enrolled_for_the_new_year(clerk, household, clock):
    clock("2026-01-20 10:00")
    baby_id = make_resident_id("420102", date(2025, 12, 28), 13, MALE)
    enrollment = services.newborn_add(user=clerk, household=household, name="刘元旦", id_number=baby_id,
                                      birth_date=date(2025, 12, 28), relation=Relation.SON,
                                      receipt_no="NB-2", paid_date=date(2026, 1, 15))
    assert enrollment.year == 2026
    assert services.covered_from_birth(enrollment) is True
    with pytest.raises(NcmsError) as future:
        services.newborn_add(user=clerk, household=household, name="刘未来",
                             id_number=make_resident_id("420102", date(2026, 1, 2), 15, MALE),
                             birth_date=date(2026, 1, 2), relation=Relation.SON, receipt_no="NB-3",
                             paid_date=date(2026, 1, 21))
    assert future.value.code == "bad_paid_date"


def test_the_household_search_counts_the_members_on_the_roll(client, clerk, household, son):
    from enrollment.selectors import household_search

    assert household_search(user=clerk).get(pk=household.pk).member_count == 2
    services.member_leave(user=clerk, member=son, status=MemberStatus.MOVED_OUT, on=date(2025, 8, 1), reason="外迁")
    assert household_search(user=clerk).get(pk=household.pk).member_count == 1
