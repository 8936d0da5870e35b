"""Household pages: scoping of every view (login, role, township) and what each page does."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from enrollment import services
from enrollment.models import Category, Enrollment, Household, Member, Payer, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id
from policy.models import PolicyVersion
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

HEAD_ID = make_resident_id("420102", date(1968, 6, 6), 41, MALE)
NEW_ID = make_resident_id("420102", date(2001, 2, 3), 52, FEMALE)


@pytest.fixture
def household(clerk, village):
    return services.household_create(
        user=clerk, village=village, number="4201021002010001", address="东湖村1组", phone="13911112222",
        bank_name="农村信用社", bank_account="6228001",
        head={"name": "刘德厚", "id_number": HEAD_ID, "category": Category.ORDINARY},
    )


def _urls(household):
    member = household.head
    return {
        "household_search": (reverse("enrollment:household_search"), "view"),
        "household_detail": (reverse("enrollment:household_detail", args=[household.pk]), "view"),
        "household_card_pdf": (reverse("enrollment:household_card_pdf", args=[household.pk]), "view"),
        "household_create": (reverse("enrollment:household_create"), "change"),
        "household_edit": (reverse("enrollment:household_edit", args=[household.pk]), "change"),
        "member_add": (reverse("enrollment:member_add", args=[household.pk]), "change"),
        "member_edit": (reverse("enrollment:member_edit", args=[member.pk]), "change"),
        "enrollment_record": (reverse("enrollment:enrollment_record", args=[member.pk]), "change"),
        "household_pay": (reverse("enrollment:household_pay", args=[household.pk]), "change"),
    }


VIEWS = ["household_search", "household_detail", "household_card_pdf", "household_create",
         "household_edit", "member_add", "member_edit", "enrollment_record", "household_pay"]
OBJECT_VIEWS = [v for v in VIEWS if v not in ("household_search", "household_create")]
COUNTY_VIEWERS = [Role.REVIEWER, Role.APPROVER, Role.CASHIER, Role.FUND_OFFICER, Role.AUDITOR]


# --- scoping of every view ----------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
def test_anonymous_is_sent_to_login(client, household, view):
    url, _kind = _urls(household)[view]
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.parametrize("view", VIEWS)
def test_facility_clerk_is_forbidden(client, household, users_by_role, view):
    url, _kind = _urls(household)[view]
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("view", OBJECT_VIEWS)
def test_other_townships_clerk_gets_404(client, household, other_clerk, view):
    url, _kind = _urls(household)[view]
    client.force_login(other_clerk)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("view", VIEWS)
def test_own_clerk_gets_every_page(client, household, clerk, view):
    url, _kind = _urls(household)[view]
    client.force_login(clerk)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("role", COUNTY_VIEWERS)
@pytest.mark.parametrize("view", VIEWS)
def test_county_roles_read_but_do_not_change(client, household, users_by_role, role, view):
    url, kind = _urls(household)[view]
    client.force_login(users_by_role[role])
    assert client.get(url).status_code == (200 if kind == "view" else 403)


@pytest.mark.parametrize("view", ["household_edit", "member_add", "member_edit", "enrollment_record",
                                  "household_pay"])
def test_auditor_cannot_post_changes(client, household, users_by_role, view):
    url, _kind = _urls(household)[view]
    client.force_login(users_by_role[Role.AUDITOR])
    before = (Household.history.count(), Member.history.count(), Enrollment.objects.count())
    assert client.post(url, {"name": "改名", "address": "改"}).status_code == 403
    assert (Household.history.count(), Member.history.count(), Enrollment.objects.count()) == before


def test_other_clerk_does_not_find_the_household_in_search(client, household, other_clerk):
    client.force_login(other_clerk)
    response = client.get(reverse("enrollment:household_search"), {"q": "刘德厚"})
    assert response.status_code == 200
    assert "4201021002010001" not in response.content.decode()
    assert response.context["page"].paginator.count == 0


def test_other_clerk_cannot_post_into_another_township(client, household, other_clerk):
    client.force_login(other_clerk)
    url = reverse("enrollment:member_add", args=[household.pk])
    response = client.post(url, {"name": "外人", "id_number": NEW_ID, "relation": Relation.DAUGHTER,
                                  "category": Category.ORDINARY})
    assert response.status_code == 404
    assert Member.objects.count() == 1


# --- search -------------------------------------------------------------------------------


@pytest.fixture
def many_households(village):
    # born in 1990, so no ID of these shares the searched head's region-and-year prefix (1968)
    for n in range(25):
        MemberFactory(household=HouseholdFactory(village=village, number=f"S{n:04d}"), name=f"陈{n:02d}", sex=MALE,
                      id_number=make_resident_id("420102", date(1990, 1, 1) + timedelta(days=n), 11, MALE))


@pytest.mark.parametrize("q", ["刘德", HEAD_ID, HEAD_ID[:10], "4201021002010001", "HZ4201021002010001"])
def test_search_finds_by_name_id_or_number(client, clerk, household, many_households, q):
    client.force_login(clerk)
    response = client.get(reverse("enrollment:household_search"), {"q": q})
    assert [h.number for h in response.context["page"].object_list] == ["4201021002010001"]
    assert "刘德厚" in response.content.decode()


def test_search_lists_own_villages_only_and_paginates(client, clerk, household, many_households, other_village):
    HouseholdFactory(village=other_village, number="X0001")
    client.force_login(clerk)
    response = client.get(reverse("enrollment:household_search"))
    page = response.context["page"]
    assert page.paginator.count == 26
    assert len(page.object_list) == 20
    villages = list(response.context["form"].fields["village"].queryset)
    assert [v.name for v in villages] == ["东湖村"]
    second = client.get(reverse("enrollment:household_search"), {"q": "S", "page": 2})
    assert [h.number for h in second.context["page"].object_list] == ["S0020", "S0021", "S0022", "S0023", "S0024"]


def test_search_refuses_other_townships_village_filter(client, clerk, household, other_village):
    client.force_login(clerk)
    response = client.get(reverse("enrollment:household_search"), {"village": other_village.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["village"]


# --- detail -------------------------------------------------------------------------------


def test_detail_shows_members_enrollments_and_change_history(client, clerk, household):
    year = timezone.localdate().year
    wife = services.member_add(user=clerk, household=household, name="周桂兰", id_number=NEW_ID,
                               relation=Relation.SPOUSE, category=Category.DIBAO)
    services.household_update(user=clerk, household=household, address="东湖村7组")
    services.enrollment_record_contribution(user=clerk, member=wife, year=year, contribution="380.00",
                                            receipt_no="R-77", paid_date=date(year, 1, 5))
    EnrollmentFactory(member=household.head, year=year - 1, receipt_no="R-OLD", contribution=Decimal("350.00"))
    client.force_login(clerk)
    response = client.get(reverse("enrollment:household_detail", args=[household.pk]))
    html = response.content.decode()
    assert [m.name for m in response.context["members"]] == ["刘德厚", "周桂兰"]
    assert response.context["enrolled_count"] == 1
    assert [row["year"] for row in response.context["years"]] == [year, year - 1]
    assert response.context["years"][0]["total"] == Decimal("380.00")
    assert "R-77" in html and "R-OLD" in html and "民政代缴" in html
    history = response.context["history"]
    address_change = next(e for e in history if e.kind == "household" and e.action == "~"
                          and any(label == "住址" for label, _o, _n in e.changes))
    assert address_change.who == clerk.display_name
    assert ("住址", "东湖村1组", "东湖村7组") in address_change.changes
    assert any(e.kind == "member" and e.subject == "周桂兰" and e.action == "+" for e in history)
    assert any(e.kind == "enrollment" and e.subject == f"{year} 周桂兰" for e in history)
    assert "东湖村7组" in html and "变更记录" in html


# --- create / edit ------------------------------------------------------------------------


def test_clerk_creates_household_in_the_browser(client, clerk, village):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:household_create"), {
        "village": village.pk, "number": "4201021002010100", "address": "东湖村2组", "phone": "", "bank_name": "",
        "bank_account": "", "head_name": "孙大山", "head_id_number": HEAD_ID, "head_sex": "",
        "head_birth_date": "", "head_category": Category.WUBAO, "head_phone": "",
    })
    household = Household.objects.get(number="4201021002010100")
    assert response.status_code == 302
    assert response.url == reverse("enrollment:household_detail", args=[household.pk])
    assert household.card_number == "HZ4201021002010100"
    assert (household.head.name, household.head.category, household.head.sex) == ("孙大山", Category.WUBAO, MALE)


def test_create_shows_id_errors_in_clerk_words_and_writes_nothing(client, clerk, village):
    client.force_login(clerk)
    bad_id = HEAD_ID[:17] + ("0" if HEAD_ID[17] != "0" else "1")
    response = client.post(reverse("enrollment:household_create"), {
        "village": village.pk, "number": "4201021002010100", "head_name": "孙大山", "head_id_number": bad_id,
        "head_category": Category.ORDINARY,
    })
    assert response.status_code == 200
    assert "身份证号校验码错误" in response.context["form"].errors["head_id_number"][0]
    assert Household.objects.count() == 0


def test_create_refuses_other_townships_village(client, clerk, other_village):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:household_create"), {
        "village": other_village.pk, "number": "H0100", "head_name": "孙大山", "head_id_number": HEAD_ID,
        "head_category": Category.ORDINARY,
    })
    assert response.status_code == 200
    assert "village" in response.context["form"].errors
    assert Household.objects.count() == 0


def test_create_shows_duplicate_number_on_the_field(client, clerk, household, village):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:household_create"), {
        "village": village.pk, "number": "4201021002010001", "head_name": "孙大山", "head_id_number": NEW_ID,
        "head_category": Category.ORDINARY,
    })
    assert response.context["form"].errors["number"] == ["户号4201021002010001已存在，户号在全县不能重复"]
    assert Household.objects.count() == 1


def test_clerk_edits_household(client, clerk, household, village):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:household_edit", args=[household.pk]), {
        "village": village.pk, "address": "东湖村9组", "phone": "13800001111", "bank_name": "邮储银行",
        "bank_account": "6210",
    })
    assert response.status_code == 302
    household.refresh_from_db()
    assert (household.address, household.bank_name, household.bank_account) == ("东湖村9组", "邮储银行", "6210")
    assert household.history.first().history_user == clerk


# --- members ------------------------------------------------------------------------------


def test_clerk_adds_member(client, clerk, household):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:member_add", args=[household.pk]), {
        "name": "刘小雨", "id_number": NEW_ID.lower(), "sex": "", "birth_date": "",
        "relation": Relation.DAUGHTER, "category": Category.ORDINARY, "phone": "",
    })
    assert response.status_code == 302
    member = household.members.get(name="刘小雨")
    assert (member.sex, member.birth_date, member.relation) == (FEMALE, date(2001, 2, 3), Relation.DAUGHTER)


def test_member_add_shows_sex_mismatch(client, clerk, household):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:member_add", args=[household.pk]), {
        "name": "刘小雨", "id_number": NEW_ID, "sex": MALE, "relation": Relation.DAUGHTER,
        "category": Category.ORDINARY,
    })
    assert response.context["form"].errors["sex"] == ["性别与身份证号不符：身份证号显示为女性"]
    assert household.members.count() == 1


def test_member_add_shows_duplicate_id(client, clerk, household):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:member_add", args=[household.pk]), {
        "name": "刘德厚", "id_number": HEAD_ID, "relation": Relation.SON, "category": Category.ORDINARY,
    })
    assert "同一人在全县只能登记一次" in response.context["form"].errors["id_number"][0]
    assert household.members.count() == 1


def test_clerk_edits_member(client, clerk, household):
    client.force_login(clerk)
    head = household.head
    response = client.post(reverse("enrollment:member_edit", args=[head.pk]), {
        "name": "刘德厚", "id_number": HEAD_ID, "sex": MALE, "birth_date": "1968-06-06",
        "relation": Relation.HEAD, "category": Category.POOR, "phone": "13700000000",
    })
    assert response.status_code == 302
    head.refresh_from_db()
    assert (head.category, head.phone) == (Category.POOR, "13700000000")


# --- contributions ------------------------------------------------------------------------


def test_record_form_offers_the_policy_amount_and_today(client, clerk, household, policies):
    client.force_login(clerk)
    response = client.get(reverse("enrollment:enrollment_record", args=[household.head.pk]))
    form = response.context["form"]
    assert form.initial["contribution"] == Decimal("380.00")
    assert form.initial["paid_date"] == timezone.localdate()
    PolicyVersion.objects.filter(year=timezone.localdate().year).delete()
    response = client.get(reverse("enrollment:enrollment_record", args=[household.head.pk]))
    assert response.context["amount"] is None
    assert "请先导入" in response.content.decode()


def test_clerk_records_contribution_for_this_year(client, clerk, household):
    year = timezone.localdate().year
    client.force_login(clerk)
    response = client.post(reverse("enrollment:enrollment_record", args=[household.head.pk]), {
        "contribution": "380.00", "receipt_no": "R-9", "paid_date": f"{year}-01-20", "payer": "",
    })
    assert response.status_code == 302
    enrollment = Enrollment.objects.get()
    assert (enrollment.year, enrollment.contribution, enrollment.payer, enrollment.recorded_by) == (
        year, Decimal("380.00"), Payer.SELF, clerk)


def test_record_refuses_three_decimals_and_second_enrollment(client, clerk, household):
    year = timezone.localdate().year
    client.force_login(clerk)
    url = reverse("enrollment:enrollment_record", args=[household.head.pk])
    response = client.post(url, {"contribution": "380.001", "receipt_no": "R-9", "paid_date": f"{year}-01-20"})
    assert response.context["form"].errors["contribution"]
    assert Enrollment.objects.count() == 0
    EnrollmentFactory(member=household.head, year=year, receipt_no="R-1")
    response = client.post(url, {"contribution": "380.00", "receipt_no": "R-2", "paid_date": f"{year}-01-20"})
    assert response.status_code == 200
    assert "同一人每年只能参合一次" in response.context["form"].non_field_errors()[0]
    assert Enrollment.objects.count() == 1
    assert "已经登记" in client.get(url).content.decode()


# --- issue 14: the desks a clerk works at -------------------------------------------------


def test_record_form_says_the_standard_amount_and_refuses_another_naming_it(client, clerk, household):
    year = timezone.localdate().year
    client.force_login(clerk)
    url = reverse("enrollment:enrollment_record", args=[household.head.pk])
    response = client.get(url)
    field = response.context["form"]["contribution"]
    assert field.value() == Decimal("380.00")
    assert "标准金额 380.00 元" in str(field.help_text)
    assert "标准金额 380.00 元" in response.content.decode()
    response = client.post(url, {"contribution": "300", "receipt_no": "R-9", "paid_date": f"{year}-01-20"})
    assert response.status_code == 200
    [message] = response.context["form"].errors["contribution"]
    assert "380.00 元" in message and "300.00 元" in message
    response = client.post(url, {"contribution": "", "receipt_no": "R-9", "paid_date": f"{year}-01-20"})
    assert "380.00" in response.context["form"].errors["contribution"][0]
    assert Enrollment.objects.count() == 0


@pytest.mark.parametrize("number", ["12345", "H0100", "420102100201", "4201021002010000", "4201022002010001",
                                    "42010210020100001"])
def test_create_refuses_a_household_number_not_built_from_the_village_code(client, clerk, village, number):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:household_create"), {
        "village": village.pk, "number": number, "head_name": "孙大山", "head_id_number": HEAD_ID,
        "head_category": Category.ORDINARY,
    })
    assert response.status_code == 200
    assert response.context["form"].errors["number"] == [
        "户号应为所在村的村代码420102100201加4位序号，共16位数字，例如4201021002010001"]
    assert Household.objects.count() == 0


def test_create_takes_village_code_and_serial(client, clerk, village):
    client.force_login(clerk)
    response = client.post(reverse("enrollment:household_create"), {
        "village": village.pk, "number": "4201021002010101", "head_name": "孙大山", "head_id_number": HEAD_ID,
        "head_category": Category.ORDINARY,
    })
    assert response.status_code == 302
    assert Household.objects.get().card_number == "HZ4201021002010101"


def test_member_add_starts_without_a_relation_when_the_household_has_a_head(client, clerk, household):
    client.force_login(clerk)
    url = reverse("enrollment:member_add", args=[household.pk])
    form = client.get(url).context["form"]
    assert form["relation"].value() == ""
    assert '<option value="" selected>请选择</option>' in str(form["relation"])
    response = client.post(url, {"name": "刘小雨", "id_number": NEW_ID, "category": Category.ORDINARY})
    assert response.context["form"].errors["relation"] == ["请选择与户主的关系"]
    headless = HouseholdFactory(village=household.village)
    assert client.get(reverse("enrollment:member_add", args=[headless.pk])).context["form"]["relation"].value() \
        == Relation.HEAD
