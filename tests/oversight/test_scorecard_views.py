"""Scorecard, its XLSX export and the county ranking: scoping of every view and what they show;
flag badges and the flagged filter in the reviewers' queue."""
import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from facilities.models import Level
from oversight.flags import claim_flags_store
from oversight.models import ClaimFlag
from tests.factories import ClaimFactory, FacilityFactory, MemberFactory

pytestmark = pytest.mark.django_db
Q = {"year": "2026", "month": "3"}


def scorecard(facility):
    return f"/facilities/{facility.pk}/scorecard/"


def xlsx(facility):
    return f"/facilities/{facility.pk}/scorecard.xlsx"


RANKING = "/facilities/ranking/"


@pytest.fixture
def county(township):
    return FacilityFactory(code="F101", name="县人民医院", level=Level.COUNTY, township=township)


@pytest.fixture
def claims(facility, county):
    """F001: a stay and a readmission 5 days later (March 2026); F101: one stay."""
    member = MemberFactory(household__village__township=facility.township)
    first = ClaimFactory(member=member, facility=facility, invoice_no="F001-1", admission_date=date(2026, 3, 1),
                         discharge_date=date(2026, 3, 5))
    second = ClaimFactory(member=member, facility=facility, invoice_no="F001-2", admission_date=date(2026, 3, 10),
                          discharge_date=date(2026, 3, 14), total_cost=Decimal("2100.00"),
                          non_reimbursable_cost=Decimal("100.00"), reimbursable_cost=Decimal("2000.00"))
    other = ClaimFactory(facility=county, invoice_no="F101-1", admission_date=date(2026, 3, 2),
                         discharge_date=date(2026, 3, 6))
    claim_flags_store(year=2026, month=3)
    return {"first": first, "second": second, "other": other}


def test_anonymous_is_sent_to_login(client, facility):
    for url in (scorecard(facility), xlsx(facility), RANKING):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_township_clerk_sees_the_scorecards_of_facilities_in_their_township(client, facility, county, claims,
                                                                          users_by_role, other_township):
    """F001 and F101 lie in 城关镇: the clerk of 城关镇 reads both scorecards and a ranking of those
    two only; a facility of 河口乡 is not found."""
    elsewhere = FacilityFactory(code="F102", name="河口乡卫生院", township=other_township)
    ClaimFactory(facility=elsewhere, invoice_no="F102-1", admission_date=date(2026, 3, 2),
                 discharge_date=date(2026, 3, 6))
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])
    for url in (scorecard(facility), xlsx(facility), scorecard(county), xlsx(county)):
        assert client.get(url, Q).status_code == 200, url
    assert client.get(scorecard(elsewhere), Q).status_code == 404
    assert client.get(xlsx(elsewhere), Q).status_code == 404
    response = client.get(RANKING, Q)
    assert response.status_code == 200
    assert sorted(facility.code for facility, _figures in response.context["ranked"]) == ["F001", "F101"]
    assert "河口乡卫生院" not in response.content.decode() and 'id="ranking-scope"' in response.content.decode()


def test_township_clerk_sees_flags_of_their_patients_and_only_a_count_of_the_others(
        client, facility, users_by_role, other_township):
    """A facility in 城关镇 treats a patient of 河口乡 too: the clerk of 城关镇 sees their own
    patient's flag by name, the other's only as a count."""
    from tests.factories import HouseholdFactory, VillageFactory

    own = MemberFactory(household__village__township=facility.township, name="城关病人")
    visitor = MemberFactory(household=HouseholdFactory(village=VillageFactory(township=other_township)),
                            name="河口病人")
    for member, prefix in ((own, "OWN"), (visitor, "VIS")):
        ClaimFactory(member=member, facility=facility, invoice_no=f"{prefix}-1", admission_date=date(2026, 3, 1),
                     discharge_date=date(2026, 3, 5))
        ClaimFactory(member=member, facility=facility, invoice_no=f"{prefix}-2", admission_date=date(2026, 3, 10),
                     discharge_date=date(2026, 3, 14))
    claim_flags_store(year=2026, month=3)
    assert ClaimFlag.objects.filter(claim__invoice_no__startswith="VIS").exists()
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])
    html = client.get(scorecard(facility), Q).content.decode()
    assert "城关病人" in html and "OWN-2" in html
    assert "河口病人" not in html and "VIS-" not in html
    hidden = ClaimFlag.objects.filter(claim__invoice_no__startswith="VIS").count()
    assert f"另有 {hidden} 个疑点属于其他乡镇参合人员的住院" in html
    client.force_login(users_by_role[Role.AUDITOR])
    html = client.get(scorecard(facility), Q).content.decode()
    assert "河口病人" in html and 'id="other-flags"' not in html


def test_facility_clerk_sees_only_their_own_scorecard_and_no_ranking(client, facility, county, claims,
                                                                     users_by_role):
    client.force_login(users_by_role[Role.FACILITY_CLERK])  # clerk of F001
    assert client.get(scorecard(facility), Q).status_code == 200
    assert client.get(xlsx(facility), Q).status_code == 200
    assert client.get(scorecard(county), Q).status_code == 404
    assert client.get(xlsx(county), Q).status_code == 404
    assert client.get(RANKING).status_code == 403


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FUND_OFFICER, Role.AUDITOR])
def test_county_roles_see_every_scorecard_and_the_ranking(client, facility, county, claims, users_by_role, role):
    client.force_login(users_by_role[role])
    assert client.get(scorecard(county), Q).status_code == 200
    assert client.get(RANKING, Q).status_code == 200


def test_scorecard_shows_twelve_months_charts_and_flagged_claims(client, facility, claims, users_by_role):
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.get(scorecard(facility), Q)
    rows = response.context["rows"]
    assert [r.label for r in rows][0] == "2025-04" and rows[-1].label == "2026-03"
    march = rows[-1]
    assert (march.admissions, march.avg_cost, march.readmissions, march.avg_los) == (2, Decimal("1600.00"), 1, Decimal("4.0"))
    html = response.content.decode()
    assert html.count("<svg") == 2
    assert f'href="/claims/{claims["second"].pk}/"' in html and "15日内再住院" in html
    assert f'href="/claims/{claims["first"].pk}/"' not in html


def test_scorecard_xlsx_has_the_table(client, facility, claims, users_by_role):
    client.force_login(users_by_role[Role.AUDITOR])
    response = client.get(xlsx(facility), Q)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 15  # a header, 12 months, a blank line and the referral rate
    assert sheet["A1"].value == "月份" and sheet["B1"].value == "住院人次"
    assert [c.value for c in sheet[13]][:3] == ["2026-03", 2, Decimal("1600.00")] or \
        [c.value for c in sheet[13]][:3] == ["2026-03", 2, 1600]
    page = client.get(f"/facilities/{facility.pk}/scorecard/", Q).context
    referral, required = page["referral"], page["referral_required"]
    last = [c.value for c in sheet[15] if c.value is not None]
    if referral is not None:  # the same figures as the page
        assert last[0] == "近12个月转诊率" and last[3] == referral.claims and last[5] == referral.referred
    else:
        assert last == ["近12个月转诊率", "—", "近12个月没有要求转诊的住院。" if required else "本机构级别住院不要求转诊。"]
    with translation.override("en"):
        english = load_workbook(io.BytesIO(client.get(xlsx(facility), Q, HTTP_ACCEPT_LANGUAGE="en").content)).active
    assert english["A1"].value == "Month" and english["A15"].value != "近12个月转诊率"


def test_ranking_orders_by_the_chosen_indicator(client, facility, county, claims, users_by_role):
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.get(RANKING, {**Q, "by": "avg_cost"})
    assert [f.code for f, _ in response.context["ranked"]] == ["F001", "F101"]
    response = client.get(RANKING, {**Q, "by": "readmissions"})
    assert [f.code for f, _ in response.context["ranked"]] == ["F001", "F101"]
    response = client.get(RANKING, {**Q, "by": "admissions"})
    assert [f.code for f, _ in response.context["ranked"]] == ["F001", "F101"]
    response = client.get(RANKING, {**Q, "by": "nonsense"})
    assert response.context["by"] == "avg_cost"
    assert response.context["review"] == []


def test_ranking_lists_facilities_for_suspension_review(client, facility, township, users_by_role):
    cheap = FacilityFactory(code="F002", township=township)
    for month in (1, 2, 3):
        ClaimFactory(facility=facility, admission_date=date(2026, month, 1), discharge_date=date(2026, month, 3),
                     total_cost=Decimal("3000.00"), reimbursable_cost=Decimal("2900.00"))
        ClaimFactory(facility=cheap, admission_date=date(2026, month, 1), discharge_date=date(2026, month, 3))
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.get(RANKING, Q)
    assert [(item["facility"].code, item["warnings"]) for item in response.context["review"]] == [("F001", 3)]
    assert "暂停定点审查名单" in response.content.decode()


# --- the reviewers' queue -----------------------------------------------------------------------


def test_queue_flagged_filter_and_badges(client, facility, claims, users_by_role):
    client.force_login(users_by_role[Role.REVIEWER])
    response = client.get("/claims/", {"flagged": "on", "status": ""})
    shown = [c.invoice_no for c in response.context["page"].object_list]
    assert shown == ["F001-2"]
    html = response.content.decode()
    assert "flag-readmission_15d" in html
    detail = client.get(f"/claims/{claims['second'].pk}/").content.decode()
    assert 'id="claim-flags"' in detail and "距上次出院 5 天再次入院" in detail
    assert 'id="claim-flags"' not in client.get(f"/claims/{claims['first'].pk}/").content.decode()


def test_queue_flagged_filter_is_scoped(client, facility, county, claims, make_user):
    ClaimFlag.objects.create(claim=claims["other"], kind="cost_outlier", detail="x", computed_at=timezone.now())
    county_clerk = make_user(Role.FACILITY_CLERK, facility=county, username="fc-county")
    client.force_login(county_clerk)
    response = client.get("/claims/", {"flagged": "on", "status": ""})
    assert [c.invoice_no for c in response.context["page"].object_list] == ["F101-1"]


def test_scorecard_and_ranking_show_ratios_as_percentages(client, facility, county, claims, users_by_role):
    """0.0625 of the cost outside the catalogue reads 6.25%, never a bare decimal; the footnote that
    explained decimals is gone; the cost per admission shows its thousands separator."""
    client.force_login(users_by_role[Role.FUND_OFFICER])
    for url in (scorecard(facility), RANKING):
        html = client.get(url, Q).content.decode()
        assert "6.25%" in html and "0.0625" not in html, url
        assert "1,600.00" in html, url
        assert "0.1250 即" not in html


@pytest.mark.parametrize("now,expected", [("2026-04-01 00:30", (2026, 3)), ("2027-01-01 00:10", (2026, 12)),
                                          ("2026-03-31 23:50", (2026, 2))])
def test_ranking_defaults_to_the_last_complete_month(client, users_by_role, clock, now, expected):
    clock(now)  # the county's local date, whatever the UTC date is
    client.force_login(users_by_role[Role.FUND_OFFICER])
    response = client.get(RANKING)
    assert (response.context["year"], response.context["month"]) == expected
    assert (client.get(RANKING, Q).context["month"]) == 3  # an explicit month is kept
