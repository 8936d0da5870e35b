"""seed_demo: the demo county, deterministic by --seed (demo/county.py, enrollment/demo.py)."""
from collections import Counter
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Sum

from accounts.models import Role, User
from claims.models import Claim
from demo.county import DEMO_PASSWORD, DEMO_USERNAMES, demo_county_build, participation
from enrollment.demo import DemoConfig
from enrollment.models import Category, Enrollment, Household, Member, MemberMove, MemberStatus, Payer, Relation
from enrollment.rules import parse_resident_id
from facilities.models import Facility, FacilityStatus, Level
from places.models import Township, Village, VillagePopulation

YEAR = 2026


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return seed("--members", "500", "--seed", "7", "--year", str(YEAR))


def snapshot() -> dict:
    """Everything seed_demo wrote, without database ids or timestamps."""
    return {
        "ids": sorted(Member.objects.values_list("id_number", flat=True)),
        "members": sorted(Member.objects.values_list(
            "household__number", "name", "id_number", "sex", "birth_date", "relation", "category", "phone")),
        "households": sorted(Household.objects.values_list(
            "number", "village__code", "head__id_number", "address", "phone", "bank_name",
            "bank_account", "card_number")),
        "enrollments": sorted(Enrollment.objects.values_list(
            "member__id_number", "year", "contribution", "receipt_no", "paid_date", "payer",
            "recorded_by__username")),
        "places": sorted(VillagePopulation.objects.values_list(
            "village__township__code", "village__township__name", "village__code", "village__name",
            "year", "population")),
        "facilities": sorted(Facility.objects.values_list(
            "code", "name", "level", "township__code", "agreement_start", "agreement_end", "status",
            "suspended_from", "suspension_reason")),
        "users": sorted(User.objects.values_list(
            "username", "role", "full_name", "township__code", "facility__code", "is_staff", "is_superuser")),
    }


def test_same_seed_gives_identical_data_on_fresh_databases(transactional_db):
    # transactional: flush empties every table outside a test transaction (TRUNCATE on PostgreSQL)
    seed("--members", "500", "--seed", "7", "--year", str(YEAR))
    first = snapshot()
    call_command("flush", "--noinput", verbosity=0)
    assert not Member.objects.exists()

    seed("--members", "500", "--seed", "7", "--year", str(YEAR))

    second = snapshot()
    assert len(first["ids"]) == 500
    assert second["ids"] == first["ids"]
    assert second == first


def test_another_seed_gives_other_people():
    one = demo_county_build(DemoConfig(members=300, seed=7, year=YEAR, county_code="420102"))
    other = demo_county_build(DemoConfig(members=300, seed=8, year=YEAR, county_code="420102"))
    assert sorted(m.id_number for m in one.members()) != sorted(m.id_number for m in other.members())
    assert sum(1 for _ in one.members()) == sum(1 for _ in other.members()) == 300


def test_every_id_is_valid_unique_and_agrees_with_sex_and_birth_date(seeded):
    members = list(Member.objects.all())
    assert len(members) == 500
    assert len({m.id_number for m in members}) == 500
    for member in members:
        parsed = parse_resident_id(member.id_number, today=date(2100, 1, 1))
        assert parsed.region == settings.COUNTY_CODE
        assert parsed.sex == member.sex
        assert parsed.birth_date == member.birth_date
        assert member.birth_date < date(YEAR, 1, 1)


def test_places_townships_villages_and_populations(seeded):
    townships = list(Township.objects.all())
    villages = list(Village.objects.select_related("township"))
    assert len(townships) >= 3
    assert len(villages) >= 20
    assert {t.name for t in townships} >= {"城关镇", "河口乡", "石桥镇", "青山乡"}
    for township in townships:
        assert len(township.code) == 9 and township.code.startswith(settings.COUNTY_CODE)
    for village in villages:
        assert len(village.code) == 12 and village.code.isdigit()
        assert village.code[:9] == village.township.code
        assert village.name.endswith("村")
    assert Village.objects.get(code="420102100201").name == "东湖村"
    # a population for the year for every village with members, never below its member count
    for village in Village.objects.filter(households__isnull=False).distinct():
        population = village.populations.get(year=YEAR).population
        assert population >= Member.objects.filter(household__village=village).count()


def test_households_are_families(seeded):
    households = Household.objects.prefetch_related("members").select_related("head")
    sizes = Counter()
    for household in households:
        members = list(household.members.all())
        sizes[len(members)] += 1
        assert 2 <= len(members) <= 6
        assert household.card_number == "HZ" + household.number
        assert household.number.startswith(household.village.code)
        head = household.head
        assert head is not None and head.relation == Relation.HEAD
        assert [m.relation for m in members].count(Relation.HEAD) == 1
        assert household.phone == head.phone != ""
        assert household.bank_account.isdigit() and len(household.bank_account) == 19
        for member in members:
            assert 2 <= len(member.name) <= 3
            if member.relation in (Relation.SON, Relation.DAUGHTER, Relation.GRANDCHILD):
                assert member.name[0] == head.name[0]
                assert member.birth_date > head.birth_date
            if member.relation == Relation.SON:
                assert member.sex == "M"
            if member.relation == Relation.DAUGHTER:
                assert member.sex == "F"
            if member.relation == Relation.SPOUSE:
                assert member.sex != head.sex
            if member.relation == Relation.PARENT:
                assert member.birth_date < head.birth_date
    assert sum(size * count for size, count in sizes.items()) == 500
    assert len(sizes) >= 4  # sizes vary


def test_enrollments_contributions_and_subsidised_groups(seeded):
    enrollments = list(Enrollment.objects.select_related("member"))
    assert 0.93 <= len(enrollments) / 500 <= 0.995
    assert {e.contribution for e in enrollments} == {Decimal("380.00")}
    assert {e.year for e in enrollments} == {YEAR}
    assert {e.paid_date.month for e in enrollments} <= {1, 2, 3}
    assert min(e.paid_date for e in enrollments) >= date(YEAR, 1, 1)
    assert len({e.receipt_no for e in enrollments}) == len(enrollments)
    subsidised = [m for m in Member.objects.all() if m.category != Category.ORDINARY]
    assert 12 <= len(subsidised) <= 16  # about 3 % of 500
    for member in subsidised:
        enrollment = member.enrollments.get()  # civil affairs pays for every one of them
        assert enrollment.payer == Payer.CIVIL_AFFAIRS
        assert enrollment.receipt_no.startswith(f"MZ{YEAR}")
    assert all(e.payer == Payer.SELF for e in enrollments if e.member.category == Category.ORDINARY)
    # the demo township clerks recorded their townships' contributions
    clerk = User.objects.get(username="clerk")
    recorded = Enrollment.objects.filter(member__household__village__township=clerk.township)
    assert recorded.exists() and set(recorded.values_list("recorded_by", flat=True)) == {clerk.pk}


def test_participation_is_around_the_target_with_some_villages_below_it(seeded):
    population = VillagePopulation.objects.filter(year=YEAR).aggregate(total=Sum("population"))["total"]
    enrolled = Enrollment.objects.filter(year=YEAR).count()
    assert 0.93 <= enrolled / population <= 0.99
    rates = {}
    for row in VillagePopulation.objects.filter(year=YEAR).select_related("village"):
        count = Enrollment.objects.filter(member__household__village=row.village, year=YEAR).count()
        rates[row.village.name] = count / row.population
    assert any(rate < 0.95 for rate in rates.values())
    assert any(rate >= 0.95 for rate in rates.values())


def test_participation_of_the_full_county_build():
    county = demo_county_build(DemoConfig(members=20000, seed=2026, year=YEAR, county_code="420102"))
    figures = participation(county)
    enrolled = sum(e for e, _ in figures.values())
    population = sum(p for _, p in figures.values())
    assert 0.95 <= enrolled / population <= 0.98
    rates = {code: e / p for code, (e, p) in figures.items()}
    assert all(0.92 <= rate <= 0.995 for rate in rates.values())
    assert 3 <= sum(rate < 0.95 for rate in rates.values()) <= 10
    subsidised = sum(1 for m in county.members() if m.category != Category.ORDINARY)
    assert 580 <= subsidised <= 600


def test_facilities_of_every_level_one_suspended(seeded):
    facilities = list(Facility.objects.all())
    assert {f.level for f in facilities} == set(Level.values)
    townships = Township.objects.count()
    assert sum(f.level == Level.TOWNSHIP for f in facilities) == townships
    assert sum(f.level == Level.COUNTY for f in facilities) == 2
    suspended = [f for f in facilities if f.status == FacilityStatus.SUSPENDED]
    assert len(suspended) == 1
    assert suspended[0].level == Level.TOWNSHIP and suspended[0].suspension_reason
    assert suspended[0].suspended_from == date(YEAR, 3, 1)
    for facility in facilities:
        assert facility.covers(date(YEAR, 1, 1)) and facility.covers(date(YEAR, 12, 31))
        assert facility.bank_name and len(facility.bank_account) == 19  # where its statements are paid
    assert len({facility.bank_account for facility in facilities}) == len(facilities)
    assert Facility.history.count() == len(facilities)


def test_every_demo_user_exists_with_its_role_and_place(seeded):
    users = {u.username: u for u in User.objects.select_related("township", "facility")}
    assert sorted(users) == sorted(DEMO_USERNAMES)
    expected = {
        "clerk": Role.TOWNSHIP_CLERK, "clerk2": Role.TOWNSHIP_CLERK, "facility": Role.FACILITY_CLERK,
        "reviewer": Role.REVIEWER, "approver": Role.APPROVER, "cashier": Role.CASHIER,
        "fund": Role.FUND_OFFICER, "auditor": Role.AUDITOR, "admin": Role.ADMINISTRATOR,
    }
    for username, role in expected.items():
        assert users[username].role == role
        assert users[username].check_password(DEMO_PASSWORD)
    assert users["clerk"].township.name == "城关镇"
    assert users["clerk2"].township.name == "河口乡"
    assert users["facility"].facility.level == Level.COUNTY
    assert users["admin"].is_staff and users["admin"].is_superuser
    county_roles = [u for name, u in users.items() if name not in ("clerk", "clerk2", "facility")]
    assert all(u.township is None and u.facility is None for u in county_roles)


def test_history_rows_mark_the_demo_data(seeded):
    member = Member.objects.first()
    rows = list(member.history.all())
    assert len(rows) == 1 and rows[0].history_type == "+" and rows[0].history_change_reason == "演示数据"
    assert Household.history.count() == Household.objects.count()
    # one "created" row per member, and the demo's one move (test_the_demo_shows_members_lives)
    assert Member.history.filter(history_type="+").count() == 500
    assert list(Member.history.filter(history_type="~").values_list("history_change_reason", flat=True)) == [
        MemberMove.objects.get().member.history.first().history_change_reason]
    assert Enrollment.history.count() == Enrollment.objects.count()
    household = Household.objects.first()
    assert household.history.get().head_id == household.head_id


def test_if_empty_skips_a_second_run(seeded):
    before = snapshot()

    out = seed("--members", "300", "--seed", "9", "--if-empty")

    assert "跳过" in out
    assert snapshot() == before


def test_second_run_without_if_empty_is_refused_and_writes_nothing(seeded):
    before = snapshot()

    with pytest.raises(CommandError, match="已有乡镇数据"):
        seed("--members", "300", "--seed", "9")

    assert snapshot() == before


def test_defaults_to_the_year_that_has_claims_and_accepts_claims(db):
    from django.utils import timezone

    from enrollment.demo import demo_year

    out = seed("--members", "40", "--claims", "10", "--if-empty")

    assert "参合人员40人" in out and "--claims" in out
    year = demo_year(timezone.localdate())  # this year from April, last year before
    assert f"{year + 1}年度补偿方案草案2个，已按{year}年度的住院补偿测算2个" in out
    assert set(Enrollment.objects.values_list("year", flat=True)) == {year}
    assert set(VillagePopulation.objects.values_list("year", flat=True)) == {year}
    assert Member.objects.count() == 40


def test_zero_members_still_builds_places_facilities_and_users(db):
    seed("--members", "0", "--year", str(YEAR))
    assert Member.objects.count() == 0
    assert Village.objects.count() >= 20
    assert User.objects.count() == len(DEMO_USERNAMES)


def test_rows_added_after_the_seed_get_fresh_ids(seeded):
    from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

    household = HouseholdFactory(village=Village.objects.first())
    member = MemberFactory(household=household)
    enrollment = EnrollmentFactory(member=member, year=YEAR + 1)

    assert household.pk > Household.objects.exclude(pk=household.pk).order_by("-pk").first().pk
    assert member.pk > 500
    assert enrollment.pk > Enrollment.objects.exclude(pk=enrollment.pk).order_by("-pk").first().pk


@pytest.mark.parametrize("today,year", [
    (date(2027, 1, 1), 2026),   # New Year's Day: the whole of last year, not a year with no claims
    (date(2027, 3, 31), 2026),
    (date(2027, 4, 1), 2027),   # from April: the current year, three months of claims
    (date(2026, 11, 30), 2026),
])
def test_the_demo_shows_a_year_that_has_claims(today, year):
    from enrollment.demo import demo_year

    assert demo_year(today) == year


def test_the_demo_shows_members_lives(seeded):
    """One member died and one moved out of the county (neither paid for the year), one moved to
    another household of the village by the township's clerk, and a baby born on 20 December was
    paid for 23 days later (covered from birth)."""
    left = Member.objects.exclude(status=MemberStatus.ACTIVE).order_by("status")
    assert [(m.status, m.status_date, m.status_reason) for m in left] == [
        (MemberStatus.DIED, date(YEAR, 2, 10), "病故"), (MemberStatus.MOVED_OUT, date(YEAR, 3, 5), "户口迁往外县")]
    assert not Enrollment.objects.filter(member__in=left).exists()
    move = MemberMove.objects.select_related("member", "from_household", "to_household", "moved_by").get()
    assert move.member.household == move.to_household != move.from_household
    assert move.to_household.village_id == move.from_household.village_id
    assert (move.moved_on, move.reason, move.moved_by.role) == (date(YEAR, 3, 1), "分户", "township_clerk")
    baby = Member.objects.get(birth_date=date(YEAR - 1, 12, 20), enrollments__paid_date=date(YEAR, 1, 12))
    assert baby.enrollments.get().year == YEAR


def test_the_demo_shows_next_years_plan_drafted_two_ways(seeded):
    """Two drafts of next year's plan by the fund officer, each already tried on the year's claims."""
    from fund.models import PolicyDraft, SimulationRun

    drafts = list(PolicyDraft.objects.order_by("pk"))
    assert [d.document["year"] for d in drafts] == [YEAR + 1, YEAR + 1]
    assert {d.base_year for d in drafts} == {YEAR} and {d.created_by.username for d in drafts} == {"fund"}
    runs = [SimulationRun.objects.get(draft=d) for d in drafts]
    assert [r.status for r in runs] == [SimulationRun.Status.DONE] * 2 and all(r.of_draft_as_it_is() for r in runs)
    for run in runs:  # each draft pays more than the current plan on the same claims
        assert Decimal(run.result["draft"]["compensation"]) > Decimal(run.result["current"]["compensation"]) > 0
        assert run.result["claims"] == Claim.objects.filter(year=YEAR).exclude(
            status__in=["rejected", "returned"]).count()
