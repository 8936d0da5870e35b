"""Household, member and contribution services: validation, scoping, history."""
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role
from core.errors import NcmsError
from enrollment import services
from enrollment.models import Category, Enrollment, Household, Member, Payer, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

HEAD_ID = make_resident_id("420102", date(1970, 3, 15), 11, MALE)
WIFE_ID = make_resident_id("420102", date(1972, 8, 1), 22, FEMALE)
SON_ID = make_resident_id("420102", date(1998, 12, 31), 33, MALE)


def head(**overrides):
    values = {"name": "王建国", "id_number": HEAD_ID, "category": Category.ORDINARY, "phone": "13900000001"}
    values.update(overrides)
    return values


def create(user, village, **overrides):
    kwargs = {"user": user, "village": village, "number": "4201021002010001", "address": "东湖村3组",
              "phone": "13900000001", "bank_name": "农村信用社", "bank_account": "6228000000000000001",
              "head": head()}
    kwargs.update(overrides)
    return services.household_create(**kwargs)


def counts():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Household.history.count(), Member.history.count(), Enrollment.history.count())


# --- household_create ---------------------------------------------------------------------


def test_household_create_registers_household_and_head(clerk, village):
    household = create(clerk, village)

    household.refresh_from_db()
    assert household.number == "4201021002010001"
    assert household.card_number == "HZ4201021002010001"
    assert household.village == village
    assert household.bank_account == "6228000000000000001"
    member = household.head
    assert member.household == household
    assert member.name == "王建国"
    assert member.relation == Relation.HEAD
    assert member.id_number == HEAD_ID
    assert member.sex == MALE  # filled from the ID
    assert member.birth_date == date(1970, 3, 15)
    assert list(household.history.values_list("history_type", "history_user")) == [
        ("~", clerk.pk), ("+", clerk.pk)
    ]
    assert list(Member.history.values_list("history_type", "history_user")) == [("+", clerk.pk)]


def test_household_create_accepts_lower_case_x(clerk, village):
    id_with_x = next(
        make_resident_id("420102", date(1980, 1, d), s, MALE)
        for d in range(1, 29) for s in range(100)
        if make_resident_id("420102", date(1980, 1, d), s, MALE).endswith("X")
    )
    household = create(clerk, village, head=head(id_number=id_with_x.lower()))
    assert household.head.id_number == id_with_x


@pytest.mark.parametrize("bad_head, code, words", [
    ({"id_number": HEAD_ID[:17] + ("0" if HEAD_ID[17] != "0" else "1")}, "bad_id_number", "校验码错误"),
    ({"id_number": "420102197002301234"}, "bad_id_number", "出生日期不存在"),
    ({"id_number": "4.20102E+17"}, "bad_id_number", "科学计数法"),
    ({"sex": FEMALE}, "sex_mismatch", "性别与身份证号不符"),
    ({"birth_date": date(1970, 3, 16)}, "birth_date_mismatch", "出生日期与身份证号不符：身份证号显示为1970-03-15"),
    ({"name": "  "}, "missing_name", "请填写姓名"),
])
def test_household_create_refuses_bad_head(clerk, village, bad_head, code, words):
    before = counts()
    with pytest.raises(NcmsError) as exc:
        create(clerk, village, head=head(**bad_head))
    assert exc.value.code == code
    assert words in exc.value.message
    assert counts() == before


def test_household_create_refuses_duplicate_number_and_duplicate_id(clerk, village):
    create(clerk, village)
    before = counts()
    with pytest.raises(NcmsError) as exc:
        create(clerk, village, head=head(id_number=WIFE_ID, name="李秀英"))
    assert exc.value.code == "duplicate_household_number"
    with pytest.raises(NcmsError) as exc:
        create(clerk, village, number="4201021002010002")
    assert exc.value.code == "duplicate_id_number"
    assert "已登记在户号4201021002010001（王建国）" in exc.value.message
    assert counts() == before


def test_household_create_refuses_other_townships_village(clerk, other_village):
    before = counts()
    with pytest.raises(NcmsError) as exc:
        create(clerk, other_village)
    assert exc.value.code == "village_out_of_scope"
    assert counts() == before


def test_household_create_refuses_read_only_roles(users_by_role, village):
    with pytest.raises(NcmsError) as exc:
        create(users_by_role[Role.AUDITOR], village)
    assert exc.value.code == "forbidden"
    assert Household.objects.count() == 0


# --- household_update ---------------------------------------------------------------------


def test_household_update_changes_fields_and_records_history(clerk, village):
    household = create(clerk, village)
    services.household_update(user=clerk, household=household, address="东湖村5组", phone="13900000009",
                              bank_name="农村信用社", bank_account="6228000000000000001")
    household.refresh_from_db()
    assert household.address == "东湖村5组"
    assert household.phone == "13900000009"
    latest = household.history.first()
    assert latest.history_user == clerk
    assert latest.address == "东湖村5组"
    assert household.history.count() == 3


def test_household_update_refuses_other_township(clerk, other_clerk, village, other_village):
    household = create(clerk, village)
    with pytest.raises(NcmsError) as exc:
        services.household_update(user=other_clerk, household=household, address="改")
    assert exc.value.code == "household_out_of_scope"
    with pytest.raises(NcmsError) as exc:
        services.household_update(user=clerk, household=household, village=other_village)
    assert exc.value.code == "village_out_of_scope"
    household.refresh_from_db()
    assert (household.address, household.village) == ("东湖村3组", village)


# --- members ------------------------------------------------------------------------------


def test_member_add_fills_sex_and_birth_date_from_id(clerk, village):
    household = create(clerk, village)
    member = services.member_add(user=clerk, household=household, name="李秀英", id_number=WIFE_ID,
                                 relation=Relation.SPOUSE, category=Category.DIBAO)
    member.refresh_from_db()
    assert (member.sex, member.birth_date, member.category) == (FEMALE, date(1972, 8, 1), Category.DIBAO)
    assert member.history.get().history_user == clerk


def test_member_add_refuses_second_head_and_duplicates(clerk, village):
    household = create(clerk, village)
    before = counts()
    with pytest.raises(NcmsError) as exc:
        services.member_add(user=clerk, household=household, name="李秀英", id_number=WIFE_ID,
                            relation=Relation.HEAD)
    assert exc.value.code == "second_head"
    with pytest.raises(NcmsError) as exc:
        services.member_add(user=clerk, household=household, name="王建国", id_number=HEAD_ID,
                            relation=Relation.SON)
    assert exc.value.code == "duplicate_id_number"
    assert counts() == before


def test_member_add_refuses_other_township(clerk, other_clerk, village):
    household = create(clerk, village)
    before = counts()
    with pytest.raises(NcmsError) as exc:
        services.member_add(user=other_clerk, household=household, name="李秀英", id_number=WIFE_ID,
                            relation=Relation.SPOUSE)
    assert exc.value.code == "household_out_of_scope"
    assert counts() == before


def test_member_update_corrects_id_and_keeps_history(clerk, village):
    household = create(clerk, village)
    son = services.member_add(user=clerk, household=household, name="王小明", id_number=WIFE_ID,
                              relation=Relation.SON, sex=FEMALE)
    services.member_update(user=clerk, member=son, name="王小明", id_number=SON_ID, relation=Relation.SON,
                           category=Category.ORDINARY)
    son.refresh_from_db()
    assert (son.id_number, son.sex, son.birth_date) == (SON_ID, MALE, date(1998, 12, 31))
    old, new = son.history.order_by("history_date")
    assert (old.id_number, new.id_number) == (WIFE_ID, SON_ID)
    assert new.history_user == clerk


def test_member_update_refuses_taking_anothers_id(clerk, village):
    household = create(clerk, village)
    wife = services.member_add(user=clerk, household=household, name="李秀英", id_number=WIFE_ID,
                               relation=Relation.SPOUSE)
    with pytest.raises(NcmsError) as exc:
        services.member_update(user=clerk, member=wife, name="李秀英", id_number=HEAD_ID,
                               relation=Relation.SPOUSE)
    assert exc.value.code == "duplicate_id_number"
    wife.refresh_from_db()
    assert wife.id_number == WIFE_ID
    assert wife.history.count() == 1


# --- contributions ------------------------------------------------------------------------


def test_record_contribution_for_ordinary_member_defaults_to_self(clerk, village):
    household = create(clerk, village)
    enrollment = services.enrollment_record_contribution(
        user=clerk, member=household.head, year=2026, contribution="380.00", receipt_no="R2026-0001",
        paid_date=date(2026, 1, 10),
    )
    enrollment.refresh_from_db()
    assert enrollment.contribution == Decimal("380.00")
    assert enrollment.payer == Payer.SELF
    assert enrollment.recorded_by == clerk
    assert enrollment.history.get().history_user == clerk


@pytest.mark.parametrize("category", [Category.WUBAO, Category.DIBAO, Category.POOR])
def test_record_contribution_for_subsidised_groups_defaults_to_civil_affairs(clerk, village, category):
    member = MemberFactory(household=HouseholdFactory(village=village), category=category)
    enrollment = services.enrollment_record_contribution(
        user=clerk, member=member, year=2026, contribution=Decimal("380.00"), receipt_no="MZ-1",
        paid_date=date(2026, 2, 1),
    )
    assert enrollment.payer == Payer.CIVIL_AFFAIRS


def test_record_contribution_keeps_an_explicit_payer(clerk, village):
    member = MemberFactory(household=HouseholdFactory(village=village), category=Category.DIBAO)
    enrollment = services.enrollment_record_contribution(
        user=clerk, member=member, year=2026, contribution="380", receipt_no="R1",
        paid_date=date(2026, 2, 1), payer=Payer.SELF,
    )
    assert (enrollment.payer, enrollment.contribution) == (Payer.SELF, Decimal("380.00"))


def test_record_contribution_refuses_second_enrollment_of_the_year(clerk, village):
    member = MemberFactory(household=HouseholdFactory(village=village), name="赵六")
    EnrollmentFactory(member=member, year=2026, receipt_no="R-first")
    before = counts()
    with pytest.raises(NcmsError) as exc:
        services.enrollment_record_contribution(
            user=clerk, member=member, year=2026, contribution="380.00", receipt_no="R-second",
            paid_date=date(2026, 3, 1),
        )
    assert exc.value.code == "already_enrolled"
    assert exc.value.message == "赵六已经登记了2026年度的缴费（收据号R-first），同一人每年只能参合一次"
    assert counts() == before
    # another year is fine
    services.enrollment_record_contribution(user=clerk, member=member, year=2027, contribution="380.00",
                                            receipt_no="R-2027", paid_date=date(2026, 12, 1))
    assert Enrollment.objects.filter(member=member).count() == 2


def test_record_contribution_refuses_member_of_other_township(clerk, other_village):
    member = MemberFactory(household=HouseholdFactory(village=other_village))
    with pytest.raises(NcmsError) as exc:
        services.enrollment_record_contribution(
            user=clerk, member=member, year=2026, contribution="380.00", receipt_no="R1",
            paid_date=date(2026, 1, 1),
        )
    assert exc.value.code == "member_out_of_scope"
    assert Enrollment.objects.count() == 0


@pytest.mark.parametrize("amount, receipt, code", [
    ("-1.00", "R1", "bad_contribution"),
    ("380.005", "R1", "bad_contribution"),
    ("abc", "R1", "bad_contribution"),
    ("380.00", "  ", "bad_receipt_no"),
])
def test_record_contribution_refuses_bad_amount_or_missing_receipt(clerk, village, amount, receipt, code):
    member = MemberFactory(household=HouseholdFactory(village=village))
    with pytest.raises(NcmsError) as exc:
        services.enrollment_record_contribution(user=clerk, member=member, year=2026, contribution=amount,
                                                receipt_no=receipt, paid_date=date(2026, 1, 1))
    assert exc.value.code == code
    assert Enrollment.objects.count() == 0
    assert Enrollment.history.count() == 0
