"""Participation (参合率): exact figures per village, township and county, worst first, scoped."""
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from accounts.models import Role
from enrollment.selectors import participation_report
from tests.factories import (
    EnrollmentFactory,
    HouseholdFactory,
    MemberFactory,
    VillageFactory,
    VillagePopulationFactory,
)

URL = "/enrollment/participation/"
EXPORT = "/enrollment/participation.xlsx"


def populate(village, *, population, enrolled, not_enrolled=0, year=2026):
    VillagePopulationFactory(village=village, year=year, population=population)
    household = HouseholdFactory(village=village)
    for _ in range(enrolled):
        EnrollmentFactory(member=MemberFactory(household=household), year=year)
    for _ in range(not_enrolled):
        MemberFactory(household=household)


@pytest.fixture
def county(township, other_township, village, other_village):
    """城关镇: 东湖村 19 of 20, 西湖村 5 of 10; 河口乡: 西山村 3 of 4 (2026)."""
    west_lake = VillageFactory(township=township, code="420102100202", name="西湖村")
    populate(village, population=20, enrolled=19, not_enrolled=1)
    populate(west_lake, population=10, enrolled=5, not_enrolled=2)
    populate(other_village, population=4, enrolled=3)
    # another year's enrollment counts only in that year
    member = MemberFactory(household=HouseholdFactory(village=other_village))
    EnrollmentFactory(member=member, year=2025)
    VillagePopulationFactory(village=other_village, year=2025, population=2)
    return {"east": village, "west": west_lake, "hill": other_village}


def figures(rows):
    return [(r.level, r.township_name, r.village_name, r.population, r.participants, r.rate, r.needed, r.gap,
             r.below_target) for r in rows]


def test_county_roles_get_every_village_township_and_the_county_worst_first(county, users_by_role):
    report = participation_report(user=users_by_role[Role.FUND_OFFICER], year=2026)

    assert figures([report.county]) == [("county", "示范县", "", 34, 27, Decimal("0.7941"), 33, 6, True)]
    assert figures(report.townships) == [
        ("township", "河口乡", "", 4, 3, Decimal("0.7500"), 4, 1, True),
        ("township", "城关镇", "", 30, 24, Decimal("0.8000"), 29, 5, True),
    ]
    assert figures(report.villages) == [
        ("village", "城关镇", "西湖村", 10, 5, Decimal("0.5000"), 10, 5, True),
        ("village", "河口乡", "西山村", 4, 3, Decimal("0.7500"), 4, 1, True),
        ("village", "城关镇", "东湖村", 20, 19, Decimal("0.9500"), 19, 0, False),  # meets the target
    ]
    assert report.villages[-1].rate_percent == Decimal("95.00")


def test_18_of_20_is_below_target(township, village, users_by_role):
    populate(village, population=20, enrolled=18)
    (row,) = participation_report(user=users_by_role[Role.AUDITOR], year=2026).villages
    assert (row.rate, row.below_target, row.gap) == (Decimal("0.9000"), True, 1)


def test_another_year_has_its_own_figures(county, users_by_role):
    report = participation_report(user=users_by_role[Role.AUDITOR], year=2025)
    assert figures(report.villages) == [("village", "河口乡", "西山村", 2, 1, Decimal("0.5000"), 2, 1, True)]


def test_township_clerk_gets_only_their_township(county, clerk):
    report = participation_report(user=clerk, year=2026)
    assert report.county is None
    assert [r.township_name for r in report.townships] == ["城关镇"]
    assert [r.village_name for r in report.villages] == ["西湖村", "东湖村"]


def test_facility_clerk_gets_nothing(county, users_by_role):
    report = participation_report(user=users_by_role[Role.FACILITY_CLERK], year=2026)
    assert (report.county, report.townships, report.villages) == (None, [], [])


# --- pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, EXPORT])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("url", [URL, EXPORT])
def test_facility_clerk_is_refused(client, users_by_role, url):
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    assert client.get(url).status_code == 403


def test_page_shows_worst_first_with_the_target(client, county, users_by_role):
    client.force_login(users_by_role[Role.ADMINISTRATOR])
    response = client.get(URL, {"year": 2026})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("西湖村") < html.index("西山村") < html.index("东湖村")
    assert "50.00%" in html and "95.00%" in html and "79.41%" in html
    assert 'style="left:95.00%"' in html  # the target line of the bars


def test_page_defaults_to_the_newest_year(client, county, users_by_role):
    client.force_login(users_by_role[Role.AUDITOR])
    response = client.get(URL)
    assert response.context["year"] == 2026
    assert response.context["years"] == [2026, 2025]


def test_clerk_page_shows_only_their_township(client, county, clerk):
    client.force_login(clerk)
    html = client.get(URL, {"year": 2026}).content.decode()
    assert "东湖村" in html and "西湖村" in html
    assert "西山村" not in html and "河口乡" not in html and "示范县" not in html.split("<main")[1]


@pytest.mark.parametrize("url", [URL, EXPORT])
def test_clerk_asking_for_another_township_gets_404(client, county, clerk, url):
    client.force_login(clerk)
    assert client.get(url, {"year": 2026, "township": "420102200"}).status_code == 404


def test_county_user_narrows_to_one_township(client, county, users_by_role):
    client.force_login(users_by_role[Role.AUDITOR])
    report = client.get(URL, {"year": 2026, "township": "420102200"}).context["report"]
    assert report.county is None
    assert [r.village_name for r in report.villages] == ["西山村"]


def read_xlsx(response):
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


def test_export_has_chinese_headers_and_exact_numbers(client, county, users_by_role):
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.get(EXPORT, {"year": 2026})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="participation-2026.xlsx"' in response["Content-Disposition"]
    rows, sheet = read_xlsx(response)
    assert rows[0] == ["级别", "乡镇代码", "乡镇", "村代码", "村", "农业人口", "参合人数", "参合率", "目标人数",
                       "距目标还差", "是否达标"]
    body = [row[:7] + [Decimal(str(row[7]))] + row[8:] for row in rows[1:]]
    assert body == [
        ["全县", None, "示范县", None, None, 34, 27, Decimal("0.7941"), 33, 6, "否"],
        ["乡镇", "420102200", "河口乡", None, None, 4, 3, Decimal("0.75"), 4, 1, "否"],
        ["乡镇", "420102100", "城关镇", None, None, 30, 24, Decimal("0.8"), 29, 5, "否"],
        ["村", "420102100", "城关镇", "420102100202", "西湖村", 10, 5, Decimal("0.5"), 10, 5, "否"],
        ["村", "420102200", "河口乡", "420102200201", "西山村", 4, 3, Decimal("0.75"), 4, 1, "否"],
        ["村", "420102100", "城关镇", "420102100201", "东湖村", 20, 19, Decimal("0.95"), 19, 0, "是"],
    ]
    assert sheet["H2"].number_format == "0.00%"


def test_clerk_export_holds_only_their_township(client, county, clerk):
    client.force_login(clerk)
    rows, _sheet = read_xlsx(client.get(EXPORT, {"year": 2026}))
    assert [row[2] for row in rows[1:]] == ["城关镇", "城关镇", "城关镇"]
    assert [row[4] for row in rows[1:]] == [None, "西湖村", "东湖村"]


def test_a_village_above_its_population_is_a_warning_on_the_page(client, township, village, users_by_role):
    """3 participants of a population of 2 (150%): the population is probably wrong."""
    populate(village, population=2, enrolled=3)
    (row,) = participation_report(user=users_by_role[Role.AUDITOR], year=2026).villages
    assert row.above_population and row.rate_percent == Decimal("150.00")
    client.force_login(users_by_role[Role.AUDITOR])
    html = client.get(URL, {"year": 2026}).content.decode()
    warning = html[html.index('id="over-population"'):]
    assert "东湖村参合人数 3 超过农业人口 2（参合率 150.00%），农业人口可能有误" in warning
    assert "over-population" in html[html.index('id="villages"'):]


def test_no_warning_at_or_below_the_population(client, township, village, users_by_role):
    populate(village, population=3, enrolled=3)
    client.force_login(users_by_role[Role.AUDITOR])
    assert 'id="over-population"' not in client.get(URL, {"year": 2026}).content.decode()


def test_the_members_on_the_roll_leave_out_who_died_or_moved_out_before_the_year(db, admin_user, village):
    """The rate's denominator is the agricultural population the county enters; the page also
    counts the members on the register for the year: one who died or moved out before 1 January
    is not among them, one who died during the year still is."""
    from datetime import date

    from enrollment.models import MemberStatus

    populate(village, population=10, enrolled=3, not_enrolled=1)
    household = HouseholdFactory(village=village)
    MemberFactory(household=household, status=MemberStatus.DIED, status_date=date(2025, 12, 31), status_reason="病故")
    MemberFactory(household=household, status=MemberStatus.MOVED_OUT, status_date=date(2025, 6, 1),
                  status_reason="迁往外县")
    MemberFactory(household=household, status=MemberStatus.DIED, status_date=date(2026, 1, 1), status_reason="病故")
    report = participation_report(user=admin_user, year=2026)
    (row,) = report.villages
    assert (row.population, row.participants, row.on_roll) == (10, 3, 5)
    assert report.county.on_roll == 5
    VillagePopulationFactory(village=village, year=2025, population=10)
    assert participation_report(user=admin_user, year=2025).villages[0].on_roll == 7
