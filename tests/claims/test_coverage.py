"""When cover starts (the policy's `coverage`): a stay admitted before the member's cover starts is
refused with `not_yet_covered` wherever a claim is checked — quote_claims, the facility API
(quote and settle), the township office's entry — and the policy page says the rule in words.
import_claims: tests/fund/test_import_claims.py."""
import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from claims import settlement
from claims.eligibility import MemberInfo, check_cover
from claims.models import Claim, ClaimEvent, CostLine, MemberYearCap
from claims.services import claim_settle
from core.errors import NcmsError
from enrollment.rules import FEMALE, make_resident_id
from policy.rules import parse_policy
from policy.services import policy_load
from tests.claims.conftest import TODAY, facts, line, policy_document
from tests.claims.test_api import body, client_for
from tests.claims.test_views import entry_data
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

COVERAGE = {"collection_end": "2025-12-31", "waiting_days": 90}


def nothing_written():
    return (Claim.objects.count(), ClaimEvent.objects.count(), CostLine.objects.count(),
            MemberYearCap.objects.count()) == (0, 0, 0, 0)


@pytest.fixture
def covered_policy(db):
    """The example policy with the contract's `coverage`: paid after 2025-12-31, wait 90 days."""
    return policy_load(data=policy_document(coverage=COVERAGE))


def enrolled(village, paid: date, *, name="陈晚缴", born: date | None = None, sequence: int = 11):
    changes = {}
    if born is not None:
        changes["id_number"] = make_resident_id("420102", born, sequence, FEMALE)
        changes["sex"] = FEMALE
    person = MemberFactory(household=HouseholdFactory(village=village), name=name, **changes)
    EnrollmentFactory(member=person, year=2026, paid_date=paid)
    return person


@pytest.fixture
def late(village):
    """Paid on 2026-03-01, after the collection end: covered for stays admitted from 2026-05-30."""
    return enrolled(village, date(2026, 3, 1))


LATE_MESSAGE = ("陈晚缴 于 2026-03-01 缴纳 2026 年度参合费用，晚于缴费截止日 2025-12-31，待遇等待期 90 天，"
                "自 2026-05-30 起享受待遇；本次入院日期 {admission} 在此之前，不能报销")


# --- the check, pure -------------------------------------------------------------------------

POLICY = parse_policy(policy_document(coverage=COVERAGE))
ADULT = MemberInfo(id=1, category="ordinary", name="陈晚缴", birth_date=date(1980, 6, 1))


def test_the_admission_date_decides():
    check_cover(facts=facts(admission_date="2026-05-30", discharge_date="2026-06-02"), policy=POLICY,
                member=ADULT, paid_date=date(2026, 3, 1))
    with pytest.raises(NcmsError) as refusal:
        check_cover(facts=facts(admission_date="2026-05-29", discharge_date="2026-06-02"), policy=POLICY,
                    member=ADULT, paid_date=date(2026, 3, 1))
    assert refusal.value.code == "not_yet_covered"
    assert refusal.value.message == LATE_MESSAGE.format(admission="2026-05-29")


def test_paid_by_the_collection_end_covers_the_first_day_of_the_year():
    check_cover(facts=facts(admission_date="2025-12-28", discharge_date="2026-01-02"), policy=POLICY,
                member=ADULT, paid_date=date(2025, 12, 31))


def test_without_coverage_a_late_payer_is_covered_all_year():
    check_cover(facts=facts(admission_date="2026-01-02", discharge_date="2026-01-05"),
                policy=parse_policy(policy_document()), member=ADULT, paid_date=date(2026, 11, 1))


def test_without_waiting_days_cover_starts_on_the_paid_date():
    policy = parse_policy(policy_document(coverage={"collection_end": "2025-12-31", "waiting_days": 0}))
    check_cover(facts=facts(admission_date="2026-03-01", discharge_date="2026-03-04"), policy=policy,
                member=ADULT, paid_date=date(2026, 3, 1))
    with pytest.raises(NcmsError) as refusal:
        check_cover(facts=facts(admission_date="2026-02-28", discharge_date="2026-03-04"), policy=policy,
                    member=ADULT, paid_date=date(2026, 3, 1))
    assert refusal.value.message == ("陈晚缴 于 2026-03-01 缴纳 2026 年度参合费用，晚于缴费截止日 2025-12-31，"
                                     "自缴费之日 2026-03-01 起享受待遇；本次入院日期 2026-02-28 在此之前，不能报销")


def test_a_newborn_refusal_names_the_birth():
    baby = MemberInfo(id=2, category="ordinary", name="小宝", birth_date=date(2026, 2, 10))
    check_cover(facts=facts(admission_date="2026-02-10", discharge_date="2026-02-14"), policy=POLICY,
                member=baby, paid_date=date(2026, 3, 1))
    with pytest.raises(NcmsError) as refusal:
        check_cover(facts=facts(admission_date="2026-02-09", discharge_date="2026-02-14"), policy=POLICY,
                    member=baby, paid_date=date(2026, 3, 1))
    assert refusal.value.message == ("小宝 于 2026-03-01 缴纳 2026 年度参合费用，新生儿自出生之日 2026-02-10 起享受待遇；"
                                     "本次入院日期 2026-02-09 在此之前，不能报销")


# --- quote_claims ----------------------------------------------------------------------------

def quote(lines, year=2026):
    text = "\n".join(json.dumps(item, ensure_ascii=False) for item in lines)
    out = StringIO()
    call_command("quote_claims", "--year", str(year), stdin=StringIO(text + "\n"), stdout=out)
    return [json.loads(row) for row in out.getvalue().splitlines()]


def test_quote_claims_refuses_a_stay_before_cover_starts(covered_policy, facility, late):
    rows = quote([
        line(late, ref="january", invoice_no="A", admission_date="2026-01-15", discharge_date="2026-01-20"),
        line(late, ref="eve", invoice_no="B", admission_date="2026-05-29", discharge_date="2026-06-01"),
        line(late, ref="first-day", invoice_no="C", admission_date="2026-05-30", discharge_date="2026-06-02"),
    ])
    assert rows[0] == {"ref": "january", "ok": False, "error": "not_yet_covered",
                       "message": LATE_MESSAGE.format(admission="2026-01-15")}
    assert list(rows[0]) == ["ref", "ok", "error", "message"]
    assert rows[1] == {"ref": "eve", "ok": False, "error": "not_yet_covered",
                       "message": LATE_MESSAGE.format(admission="2026-05-29")}
    # the refused lines hold no stay: the first day of cover overlaps none of them
    assert (rows[2]["ok"], rows[2]["compensation"], rows[2]["breakdown"]["cap_remaining"]) == (
        True, "810.00", "200000.00")


def test_quote_claims_covers_on_time_payers_and_newborns(covered_policy, facility, village):
    on_time = enrolled(village, date(2025, 12, 31), name="林按时")
    newborn = enrolled(village, date(2026, 3, 1), name="周新生", born=date(2025, 12, 1), sequence=21)  # 90 days
    too_old = enrolled(village, date(2026, 3, 1), name="吴晚报", born=date(2025, 11, 30), sequence=23)  # 91 days
    rows = quote([
        line(on_time, ref="on-time", invoice_no="A", admission_date="2026-01-01", discharge_date="2026-01-04"),
        line(newborn, ref="newborn", invoice_no="B", admission_date="2026-01-10", discharge_date="2026-01-15"),
        line(too_old, ref="91-days", invoice_no="C", admission_date="2026-01-10", discharge_date="2026-01-15"),
    ])
    assert [(row["ref"], row["ok"], row.get("compensation"), row.get("error")) for row in rows] == [
        ("on-time", True, "810.00", None),
        ("newborn", True, "810.00", None),
        ("91-days", False, None, "not_yet_covered"),
    ]
    assert "自 2026-05-30 起享受待遇" in rows[2]["message"]


def test_without_coverage_the_late_payer_is_quoted(policy, facility, late):
    rows = quote([line(late, admission_date="2026-01-15", discharge_date="2026-01-20")])
    assert (rows[0]["ok"], rows[0]["compensation"]) == (True, "810.00")


# --- the facility API ------------------------------------------------------------------------

@pytest.fixture
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("url", ["/api/v1/quote/", "/api/v1/claims/"])
def test_the_api_refuses_a_stay_before_cover_starts(covered_policy, facility_clerk, late, url, fresh_throttle):
    api = client_for(facility_clerk)
    response = api.post(url, body(late, admission_date="2026-05-29", discharge_date="2026-06-01"), format="json")
    assert response.status_code == 422, response.content
    assert response.json() == {"error": "not_yet_covered", "message": LATE_MESSAGE.format(admission="2026-05-29")}
    assert nothing_written()


def test_the_api_settles_a_stay_admitted_on_the_first_day_of_cover(covered_policy, facility_clerk, late,
                                                                   fresh_throttle):
    api = client_for(facility_clerk)
    response = api.post("/api/v1/claims/", body(late, admission_date="2026-05-30", discharge_date="2026-06-02"),
                        format="json")
    assert response.status_code == 201, response.content
    assert response.json()["compensation"] == "810.00"
    assert Claim.objects.get().admission_date == date(2026, 5, 30)


def test_a_settlement_with_coverage_takes_no_more_sql_statements(covered_policy, facility, late, facility_clerk,
                                                                 django_assert_max_num_queries):
    claim_settle(user=facility_clerk, facts=facts(late, invoice_no="WARM-1", admission_date="2026-06-02",
                                                 discharge_date="2026-06-05"))  # policy parsed, cap row made
    clerk = type(facility_clerk).objects.select_related("facility").get(pk=facility_clerk.pk)
    # as tests/claims/test_services.py: the paid date and birth date come with the member's statement
    with django_assert_max_num_queries(9 + 2):
        claim, created = claim_settle(user=clerk, facts=facts(late, admission_date="2026-06-10",
                                                              discharge_date="2026-06-12"))
    assert created is True and claim.compensation == Decimal("810.00")


# --- the township office ---------------------------------------------------------------------

@pytest.fixture
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


def test_township_entry_refuses_a_stay_before_cover_starts(client, clerk, covered_policy, facility, village,
                                                           _today):
    late_payer = enrolled(village, date(2026, 2, 1))  # covered from 2026-05-02
    client.force_login(clerk)
    data = entry_data(late_payer, facility, admission_date="2026-03-05", discharge_date="2026-03-10")

    preview = client.post(reverse("claims:claim_quote_preview"), data).content.decode()
    response = client.post(reverse("claims:claim_create"), data)

    message = ("陈晚缴 于 2026-02-01 缴纳 2026 年度参合费用，晚于缴费截止日 2025-12-31，待遇等待期 90 天，"
               "自 2026-05-02 起享受待遇；本次入院日期 2026-03-05 在此之前，不能报销")
    assert "不能报销" in preview and message in preview
    assert response.status_code == 200
    assert message in response.content.decode()
    assert nothing_written()


def test_township_entry_takes_an_on_time_payer(client, clerk, covered_policy, facility, village, _today):
    on_time = enrolled(village, date(2025, 12, 20), name="林按时")
    client.force_login(clerk)
    response = client.post(reverse("claims:claim_create"),
                           entry_data(on_time, facility, admission_date="2026-03-05", discharge_date="2026-03-10"))
    assert response.status_code == 302
    assert Claim.objects.get().compensation == Decimal("810.00")


# --- the policy page -------------------------------------------------------------------------

def test_the_policy_page_says_when_cover_starts(client, users_by_role, covered_policy):
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])
    page = client.get(reverse("claims:policy_detail"), {"year": "2026"}).content.decode()
    section = page[page.index('id="coverage"'):page.index("</section>", page.index('id="coverage"'))]
    assert "在 2025-12-31（含当天）以前缴纳本年度参合费用的，全年享受住院补偿。" in section
    assert ("在 2025-12-31 以后缴费的，有 90 天等待期：缴费日期加 90 天的当天及以后入院的住院才能报销，"
            "之前入院的不予补偿。") in section
    assert "出生后 90 天内缴费的新生儿，自出生之日起享受住院补偿。" in section


def test_the_policy_page_without_coverage_says_the_whole_year(client, users_by_role, policy):
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])
    page = client.get(reverse("claims:policy_detail"), {"year": "2026"}).content.decode()
    assert "缴纳本年度参合费用的人员，全年享受住院补偿（本方案未设缴费截止日和等待期）。" in page
    assert "等待期：" not in page
