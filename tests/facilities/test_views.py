"""Facility registry pages: list with filters, a facility's page with its history; scoping."""
from datetime import date

import pytest

from accounts.models import Role
from facilities.models import FacilityStatus, Level
from tests.factories import FacilityFactory

LIST = "/facilities/"


def detail(facility):
    return f"/facilities/{facility.pk}/"


@pytest.fixture
def registry(facility, township, other_township):
    return {
        "F001": facility,
        "F101": FacilityFactory(code="F101", name="县人民医院", level=Level.COUNTY, township=township),
        "F102": FacilityFactory(code="F102", name="河口乡卫生院", township=other_township,
                                status=FacilityStatus.SUSPENDED, suspended_from=date(2026, 3, 1),
                                suspension_reason="违规收费"),
        "F301": FacilityFactory(code="F301", name="省人民医院", level=Level.PROVINCIAL, township=None),
    }


def codes(response):
    return [f.code for f in response.context["facilities"]]


def test_anonymous_is_sent_to_login(client, facility):
    for url in (LIST, detail(facility)):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.CASHIER, Role.FUND_OFFICER, Role.AUDITOR,
                                  Role.ADMINISTRATOR])
def test_county_roles_see_the_whole_registry(client, registry, users_by_role, role):
    client.force_login(users_by_role[role])
    response = client.get(LIST)
    assert response.status_code == 200
    assert codes(response) == ["F001", "F101", "F102", "F301"]
    assert client.get(detail(registry["F102"])).status_code == 200


@pytest.mark.parametrize("query,expected", [
    ({"level": "county"}, ["F101"]),
    ({"status": "suspended"}, ["F102"]),
    ({"township": "420102100"}, ["F001", "F101"]),
    ({"level": "township", "township": "420102200"}, ["F102"]),
    ({"level": "nonsense"}, ["F001", "F101", "F102", "F301"]),
])
def test_list_filters(client, registry, users_by_role, query, expected):
    client.force_login(users_by_role[Role.AUDITOR])
    assert codes(client.get(LIST, query)) == expected


def test_list_shows_level_status_and_agreement(client, registry, users_by_role):
    client.force_login(users_by_role[Role.AUDITOR])
    html = client.get(LIST).content.decode()
    assert "县人民医院" in html and "县级医院" in html and "暂停" in html and "2026-01-01 — 2026-12-31" in html


def test_township_clerk_sees_the_facilities_located_in_their_township(client, registry, clerk):
    """The township office supervises the facilities on its ground: the list holds them only,
    whatever the filter; another township's facility, or one in no township, is not found."""
    client.force_login(clerk)  # clerk of 城关镇 (420102100): F001 and F101 are located there
    response = client.get(LIST)
    assert response.status_code == 200
    assert codes(response) == ["F001", "F101"]
    assert [t.code for t in response.context["townships"]] == ["420102100"]
    assert codes(client.get(LIST, {"township": "420102200"})) == []
    html = response.content.decode()
    assert "河口乡卫生院" not in html and "省人民医院" not in html
    page = client.get(detail(registry["F101"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "县人民医院" in html
    for form in ("suspend-form", "reinstate-form", "agreement-form", "inspection-form"):
        assert f'id="{form}"' not in html
    assert client.get(detail(registry["F102"])).status_code == 404
    assert client.get(detail(registry["F301"])).status_code == 404


def test_township_clerk_changes_nothing_in_the_registry(client, registry, clerk):
    client.force_login(clerk)
    facility = registry["F001"]
    assert client.post(f"{detail(facility)}suspend/", {"from_date": "2026-06-01", "reason": "违规"}).status_code == 403
    assert client.post(f"{detail(facility)}agreement/", {"agreement_start": "2026-01-01",
                                                         "agreement_end": "2028-12-31", "reason": "续签"}
                       ).status_code == 403
    facility.refresh_from_db()
    assert facility.status == FacilityStatus.ACTIVE and facility.agreement_end == date(2026, 12, 31)


def test_facility_clerk_sees_only_their_own_facility(client, registry, users_by_role):
    client.force_login(users_by_role[Role.FACILITY_CLERK])  # clerk of F001
    assert client.get(LIST).status_code == 403
    assert client.get(detail(registry["F001"])).status_code == 200
    assert client.get(detail(registry["F101"])).status_code == 404


def test_detail_shows_agreement_status_and_history_of_changes(client, registry, users_by_role):
    admin = users_by_role[Role.ADMINISTRATOR]
    facility = registry["F102"]
    facility.agreement_end = date(2027, 12, 31)
    facility.status = FacilityStatus.ACTIVE
    facility._history_user = admin
    facility.save()

    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.get(detail(facility))
    html = response.content.decode()
    assert "F102 河口乡卫生院" in html and "2026-01-01 — 2027-12-31" in html
    newest, created = response.context["history"]
    assert (newest.who, newest.kind) == (admin.display_name, "修改")
    assert sorted(newest.changes) == [("协议结束日期", "2026-12-31", "2027-12-31"), ("状态", "暂停", "正常")]
    assert (created.kind, created.changes) == ("新建", [])
    assert "协议结束日期：2026-12-31 → 2027-12-31" in html


def test_unknown_facility_is_404(client, registry, users_by_role):
    client.force_login(users_by_role[Role.AUDITOR])
    assert client.get("/facilities/999999/").status_code == 404
