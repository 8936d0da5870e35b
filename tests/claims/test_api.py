"""The facility REST API (/api/v1/): authentication, roles, scoping, the contract's quote shape
to the fen, refusal codes, idempotent settlement (also under concurrent retries), throttling,
and the OpenAPI document and its page."""
import io
import json
import re
import threading
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import InterfaceError, OperationalError, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from claims import api as claims_api
from claims.models import Claim, ClaimEvent, CostLine
from claims.services import claim_settle
from config.urls import server_error
from facilities.models import FacilityStatus
from tests.claims.conftest import facts, line
from tests.factories import MemberFactory

QUOTE = "/api/v1/quote/"
CLAIMS = "/api/v1/claims/"


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(facility_clerk, policy):
    """The facility clerk of F001 with a token, the 2026 policy loaded."""
    return client_for(facility_clerk)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin")


def body(member, **changes) -> dict:
    data = line(member, **changes)
    data.pop("facility")  # defaults to the token user's facility
    return data


# --- authentication, roles, scoping -------------------------------------------------------------


@pytest.mark.parametrize("method,url", [
    ("post", QUOTE), ("post", CLAIMS), ("get", CLAIMS), ("get", f"{CLAIMS}1/"),
    ("get", "/api/v1/members/420102199001011234/"),
])
def test_anonymous_gets_401(db, method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")

    assert response.status_code == 401


def test_a_wrong_token_gets_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert client.get(CLAIMS).status_code == 401


def test_township_clerk_gets_403_everywhere(clerk, member, policy):
    client = client_for(clerk)

    assert client.post(QUOTE, body(member), format="json").status_code == 403
    assert client.post(CLAIMS, body(member), format="json").status_code == 403
    assert client.get(CLAIMS).status_code == 403
    assert client.get(f"/api/v1/members/{member.id_number}/").status_code == 403
    assert Claim.objects.count() == 0


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.AUDITOR, Role.ADMINISTRATOR])
def test_county_roles_read_but_may_not_quote_or_settle(make_user, member, policy, role):
    client = client_for(make_user(role, username=f"county-{role}"))

    assert client.post(QUOTE, line(member), format="json").status_code == 403
    assert client.post(CLAIMS, line(member), format="json").status_code == 403
    assert client.get(CLAIMS).status_code == 200
    assert Claim.objects.count() == 0


def test_another_facility_is_refused_with_403(api, member, county_facility):
    quote = api.post(QUOTE, line(member, facility="F002"), format="json")
    settle = api.post(CLAIMS, line(member, facility="F002"), format="json")

    assert quote.status_code == 403
    assert quote.json()["error"] == "out_of_scope"
    assert settle.status_code == 403
    assert Claim.objects.count() == 0


def test_naming_the_own_facility_is_allowed(api, member):
    response = api.post(QUOTE, line(member, facility="F001"), format="json")

    assert response.status_code == 200


def test_other_facilitys_claim_is_404_and_not_listed(api, admin, member, county_facility):
    theirs = claim_settle(user=admin, facts=facts(member, facility="F002", invoice_no="F002-1"))[0]
    ours = claim_settle(user=admin, facts=facts(member, invoice_no="F001-1", admission_date="2026-04-01",
                                                discharge_date="2026-04-05"))[0]

    assert api.get(f"{CLAIMS}{theirs.pk}/").status_code == 404
    assert api.get(f"{CLAIMS}{ours.pk}/").status_code == 200
    assert [row["id"] for row in api.get(CLAIMS).json()["results"]] == [ours.pk]


def test_county_role_lists_every_facilitys_claims(make_user, admin, member, facility, county_facility, policy):
    claim_settle(user=admin, facts=facts(member, facility="F002", invoice_no="F002-1"))
    claim_settle(user=admin, facts=facts(member, invoice_no="F001-1", admission_date="2026-04-01",
                                         discharge_date="2026-04-05"))
    auditor = client_for(make_user(Role.AUDITOR, username="auditor"))

    listed = auditor.get(CLAIMS).json()

    assert listed["count"] == 2
    assert {row["facility"] for row in listed["results"]} == {"F001", "F002"}


def test_superuser_without_a_facility_cannot_settle(make_user, member, policy, facility):
    """A facility clerk always has a facility (database constraint); a superuser without one
    may read but cannot settle for no facility."""
    boss = make_user(Role.ADMINISTRATOR, username="root", is_superuser=True, is_staff=True)

    assert client_for(boss).post(CLAIMS, line(member), format="json").status_code == 403


# --- quote: the contract's output, to the fen ---------------------------------------------------------


def test_quote_gives_the_contract_shape_to_the_fen(api, member):
    # township level: R = 1100.05 − 100.00 = 1000.05; D = 100.00; 0.90 × 900.05 = 810.045 → 810.05
    response = api.post(QUOTE, body(member, ref="q-1", total_cost="1100.05"), format="json")

    assert response.status_code == 200
    assert response.json() == {
        "ref": "q-1", "ok": True, "compensation": "810.05", "patient_pays": "290.00",
        "breakdown": {"rule": "formula", "reimbursable": "1000.05", "deductible": "100.00",
                      "bands": [{"from": "100.00", "to": "1000.05", "ratio": "0.90", "amount": "810.05"}],
                      "before_cap": "810.05", "cap_remaining": "200000.00"},
    }
    assert Claim.objects.count() == 0


def test_quote_at_a_county_facility_with_two_bands(make_user, member, policy, county_facility):
    client = client_for(make_user(Role.FACILITY_CLERK, facility=county_facility, username="f2clerk"))

    response = client.post(QUOTE, body(member, total_cost="12345.60", non_reimbursable_cost="1345.60"),
                           format="json")

    # R = 11000.00, D = 400.00: 0.75 × (10000 − 400) = 7200.00; 0.80 × (11000 − 10000) = 800.00
    assert response.json() == {
        "ref": "r1", "ok": True, "compensation": "8000.00", "patient_pays": "4345.60",
        "breakdown": {"rule": "formula", "reimbursable": "11000.00", "deductible": "400.00",
                      "bands": [{"from": "400.00", "to": "10000.00", "ratio": "0.75", "amount": "7200.00"},
                                {"from": "10000.00", "to": "11000.00", "ratio": "0.80", "amount": "800.00"}],
                      "before_cap": "8000.00", "cap_remaining": "200000.00"},
    }


def test_quote_counts_what_the_member_already_holds(api, admin, member):
    claim_settle(user=admin, facts=facts(member, invoice_no="E-1", admission_date="2026-01-10",
                                         discharge_date="2026-01-12"))  # 810.00

    response = api.post(QUOTE, body(member, invoice_no=None), format="json")

    assert response.json()["breakdown"]["cap_remaining"] == "199190.00"


def test_money_as_json_numbers_with_two_places_is_accepted(api, member):
    response = api.post(QUOTE, body(member, total_cost=1100.05, non_reimbursable_cost=100), format="json")

    assert response.status_code == 200
    assert response.json()["compensation"] == "810.05"


# --- refusals ---------------------------------------------------------------------------------------


def refused(response, status, code):
    assert response.status_code == status, response.content
    data = response.json()
    assert data["error"] == code
    assert isinstance(data["message"], str) and data["message"]
    return data


@pytest.mark.parametrize("url", [QUOTE, CLAIMS])
def test_not_enrolled(api, village, url):
    stranger = MemberFactory(household__village=village)  # no enrollment

    refused(api.post(url, body(stranger), format="json"), 422, "not_enrolled")
    assert Claim.objects.count() == 0


@pytest.mark.parametrize("url", [QUOTE, CLAIMS])
def test_facility_suspended(api, member, facility, url):
    facility.status = FacilityStatus.SUSPENDED
    facility.save()

    refused(api.post(url, body(member), format="json"), 422, "facility_suspended")
    assert Claim.objects.count() == 0


def test_facility_not_designated(api, member):
    refused(api.post(CLAIMS, body(member, admission_date="2025-12-28", discharge_date="2026-01-03"),
                     format="json"), 422, "facility_not_designated")
    assert Claim.objects.count() == 0


def test_unknown_member(api):
    refused(api.post(CLAIMS, body(None, id_number="420102199001011234"), format="json"), 422,
            "unknown_member")


def test_no_policy(facility_clerk, member):
    refused(client_for(facility_clerk).post(QUOTE, body(member), format="json"), 422, "no_policy")


@pytest.mark.parametrize("changes", [
    {"admission_date": "2026-13-01"}, {"discharge_date": "2026/03/08"}, {"discharge_date": None},
    {"admission_date": "2026-03-09", "discharge_date": "2026-03-08"},
])
def test_bad_dates(api, member, changes):
    refused(api.post(CLAIMS, body(member, **changes), format="json"), 422, "bad_dates")
    assert Claim.objects.count() == 0


@pytest.mark.parametrize("changes", [
    {"total_cost": "12.345"}, {"total_cost": 1100.555}, {"total_cost": "abc"}, {"total_cost": "-1.00"},
    {"non_reimbursable_cost": "2000.00"},
    {"cost_lines": [{"category": "drugs", "amount": "1000.00"}, {"category": "beds", "amount": "100.00",
                                                              "in_catalog": True}]},
    {"cost_lines": [{"category": "drugs", "amount": "1.001"}]},
    # implausible or too many digits for the database: refused, never a 500
    {"total_cost": "5000000.01"}, {"total_cost": "9999999999999999.99"}, {"total_cost": "12345678901234567"},
    {"total_cost": 1e30}, {"non_reimbursable_cost": "99999999999999999999"},
    {"total_cost": "9999999999999999.99", "cost_lines": [
        {"category": "drugs", "amount": "9999999999999999.99"}, {"category": "beds", "amount": "9999999999999999.99"}]},
])
def test_bad_amounts(api, member, changes):
    refused(api.post(CLAIMS, body(member, **changes), format="json"), 422, "bad_amounts")
    assert Claim.objects.count() == 0


def test_a_total_at_the_ceiling_is_taken_above_it_refused(api, member, settings):
    settings.CLAIM_TOTAL_COST_MAX = Decimal("1000.00")
    data = refused(api.post(QUOTE, body(member), format="json"), 422, "bad_amounts")
    assert data["message"] == "住院总费用「1100.00」超过单次住院总费用的上限 1000.00 元，请核对金额"
    taken = api.post(CLAIMS, body(member, total_cost="1000.00", non_reimbursable_cost="0.00"), format="json")
    assert taken.status_code == 201 and taken.json()["total_cost"] == "1000.00"


@pytest.mark.parametrize("url", [QUOTE, CLAIMS])
def test_a_discharge_after_today_is_bad_dates(api, member, clock, url):
    clock("2026-06-15 23:30")  # the county's date, whatever UTC's
    data = refused(api.post(url, body(member, admission_date="2026-06-10", discharge_date="2026-06-16"),
                            format="json"), 422, "bad_dates")
    assert data["message"] == "出院日期 2026-06-16 晚于今天 2026-06-15"
    assert Claim.objects.count() == 0
    taken = api.post(url, body(member, admission_date="2026-06-10", discharge_date="2026-06-15"), format="json")
    assert taken.status_code in (200, 201) and taken.json()["compensation"] == "810.00"


def test_a_request_that_is_not_a_claim_is_bad_input(api, member):
    refused(api.post(CLAIMS, body(member, invoice_no=None), format="json"), 422, "bad_input")
    refused(api.post(QUOTE, body(member, referred="perhaps"), format="json"), 422, "bad_input")
    refused(api.post(QUOTE, body(member, delivery="twins"), format="json"), 422, "bad_input")
    assert Claim.objects.count() == 0


def test_overlapping_stay(api, member):
    assert api.post(CLAIMS, body(member), format="json").status_code == 201

    second = api.post(CLAIMS, body(member, invoice_no="F001-2026-000002", admission_date="2026-03-05",
                                   discharge_date="2026-03-10"), format="json")

    refused(second, 422, "overlapping_stay")
    assert Claim.objects.count() == 1


def test_same_invoice_with_other_facts_is_409_duplicate_invoice(api, member):
    first = api.post(CLAIMS, body(member), format="json")

    again = api.post(CLAIMS, body(member, total_cost="1200.00"), format="json")

    assert first.status_code == 201
    refused(again, 409, "duplicate_invoice")
    assert Claim.objects.count() == 1
    assert str(Claim.objects.get().total_cost) == "1100.00"


# --- settlement ------------------------------------------------------------------------------------


def test_settle_creates_the_claim(api, member, facility_clerk):
    response = api.post(CLAIMS, body(member, cost_lines=[
        {"category": "drugs", "amount": "700.00"}, {"category": "beds", "amount": "300.00"},
        {"category": "other", "amount": "100.00", "in_catalog": False}]), format="json")

    assert response.status_code == 201
    data = response.json()
    claim = Claim.objects.get()
    assert data["id"] == claim.pk
    assert (data["invoice_no"], data["facility"], data["id_number"], data["member_name"]) == (
        "F001-2026-000001", "F001", member.id_number, "王小明")
    assert (data["status"], data["channel"], data["year"]) == ("submitted", "facility", 2026)
    assert (data["total_cost"], data["non_reimbursable_cost"], data["reimbursable_cost"],
            data["compensation"], data["patient_pays"]) == ("1100.00", "100.00", "1000.00", "810.00", "290.00")
    assert data["breakdown"]["bands"][0]["amount"] == "810.00"
    assert data["cost_lines"] == [
        {"category": "drugs", "amount": "700.00", "in_catalog": True},
        {"category": "beds", "amount": "300.00", "in_catalog": True},
        {"category": "other", "amount": "100.00", "in_catalog": False},
    ]
    assert (data["policy_year"], data["policy_revision"]) == (2026, 1)
    assert claim.submitted_by == facility_clerk
    assert CostLine.objects.filter(claim=claim).count() == 3


def test_settling_twice_returns_the_same_claim(api, member):
    first = api.post(CLAIMS, body(member), format="json")
    second = api.post(CLAIMS, body(member), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Claim.objects.count() == 1
    assert ClaimEvent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_invoice_make_one_claim(facility_clerk, policy, member):
    """Four retries of one settlement fired at the same instant (own connections): one 201, three
    200 with the same claim. PostgreSQL only (marker postgres): the member's cap row lock makes the
    others wait for the first and then find its claim."""
    token = Token.objects.create(user=facility_clerk).key
    request = body(member)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def post():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait(timeout=30)
            response = client.post(CLAIMS, request, format="json")
            results.append((response.status_code, response.json().get("id")))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    claim = Claim.objects.get()
    assert sorted(results) == [(200, claim.pk)] * 3 + [(201, claim.pk)]
    assert ClaimEvent.objects.filter(claim=claim).count() == 1


# --- listing and reading ------------------------------------------------------------------------------


def test_list_filters_and_pages(api, admin, member, reason):
    from claims.services import claim_reject

    early = claim_settle(user=admin, facts=facts(member, invoice_no="A", admission_date="2026-01-02",
                                                 discharge_date="2026-01-05"))[0]
    late = claim_settle(user=admin, facts=facts(member, invoice_no="B", admission_date="2026-05-02",
                                                discharge_date="2026-05-05"))[0]
    claim_reject(user=admin, claim=early, reason=reason)

    assert [r["id"] for r in api.get(CLAIMS, {"status": "rejected"}).json()["results"]] == [early.pk]
    assert [r["id"] for r in api.get(CLAIMS, {"discharged_from": "2026-02-01"}).json()["results"]] == [late.pk]
    assert [r["id"] for r in api.get(CLAIMS, {"discharged_to": "2026-02-01"}).json()["results"]] == [early.pk]
    assert [r["id"] for r in api.get(CLAIMS, {"invoice_no": "B"}).json()["results"]] == [late.pk]
    first_page = api.get(CLAIMS, {"page_size": 1}).json()
    assert (first_page["count"], len(first_page["results"]), first_page["previous"]) == (2, 1, None)
    assert first_page["next"].endswith("page=2&page_size=1")
    refused(api.get(CLAIMS, {"status": "lost"}), 422, "bad_input")
    refused(api.get(CLAIMS, {"discharged_from": "2026-2-1"}), 422, "bad_dates")


def test_claim_detail(api, admin, member):
    claim = claim_settle(user=admin, facts=facts(member))[0]

    data = api.get(f"{CLAIMS}{claim.pk}/").json()

    assert (data["id"], data["compensation"], data["patient_pays"]) == (claim.pk, "810.00", "290.00")


# --- members ----------------------------------------------------------------------------------------


def test_member_eligibility(api, member):
    data = api.get(f"/api/v1/members/{member.id_number}/", {"year": 2026}).json()

    assert data == {
        "id_number": member.id_number, "name": "王小明", "sex": member.sex,
        "birth_date": member.birth_date.isoformat(), "category": "ordinary", "category_display": "普通",
        "township": "420102100", "enrolled_years": [2026], "enrolled": True, "year": 2026,
    }
    assert api.get(f"/api/v1/members/{member.id_number}/", {"year": 2025}).json()["enrolled"] is False


def test_unknown_member_lookup_is_404(api):
    response = api.get("/api/v1/members/420102199001011234/")

    assert response.status_code == 404
    assert response.json()["error"] == "unknown_member"


# --- throttling -------------------------------------------------------------------------------------


def test_settling_faster_than_the_rate_gives_429(api, member, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "settle": "2/minute"}}

    statuses = [api.post(QUOTE, body(member), format="json").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert api.get(CLAIMS).status_code == 200  # reads have their own rate


# --- the OpenAPI document and its page ---------------------------------------------------------------


def test_schema_lists_the_paths(api):
    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/api/v1/quote/", "/api/v1/claims/", "/api/v1/claims/{id}/",
                                      "/api/v1/members/{id_number}/", "/api/v1/statements/"}
    assert set(document["paths"]["/api/v1/claims/"]) == {"get", "post"}
    assert "tokenAuth" in document["components"]["securitySchemes"]


def test_schema_for_a_logged_in_staff_user(client, make_user):
    client.force_login(make_user(Role.REVIEWER, username="rev"))

    assert client.get("/api/schema/").status_code == 200


def test_docs_page_renders_without_a_cdn(client, make_user):
    client.force_login(make_user(Role.REVIEWER, username="rev"))

    page = client.get("/api/docs/")
    redoc = client.get("/api/docs/redoc/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # Every script and stylesheet comes from this server: no address names another host. (A plain
    # "cdn" substring test fails when the page's random CSP nonce happens to contain those letters.)
    loaded = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert loaded
    assert not [url for url in loaded if url.startswith(("http:", "https:", "//"))]
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "/api/schema/" in html
    assert redoc.status_code == 200
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc.content.decode()


def test_the_schema_and_its_pages_are_public_but_hold_no_data(client, db):
    """A vendor reads the OpenAPI document before it has a token; the endpoints still need one."""
    schema = APIClient().get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200 and "/api/v1/claims/" in schema.json()["paths"]
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert stale.get("/api/schema/").status_code == 200
    for page in ("/api/docs/", "/api/docs/redoc/"):
        assert client.get(page).status_code == 200
    assert APIClient().get(CLAIMS).status_code == 401


# --- create_api_token ------------------------------------------------------------------------------


def test_create_api_token_prints_the_users_token(facility_clerk):
    out = io.StringIO()
    call_command("create_api_token", "fclerk", stdout=out)
    again = io.StringIO()
    call_command("create_api_token", "fclerk", stdout=again)

    key = Token.objects.get(user=facility_clerk).key
    assert out.getvalue().strip() == again.getvalue().strip() == key
    assert client_for(None).get(CLAIMS, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_create_api_token_reset_replaces_it(facility_clerk):
    old = Token.objects.create(user=facility_clerk).key
    out = io.StringIO()

    call_command("create_api_token", "fclerk", "--reset", stdout=out)

    assert out.getvalue().strip() == Token.objects.get(user=facility_clerk).key != old


def test_create_api_token_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="找不到用户"):
        call_command("create_api_token", "nobody")


# --- the fast claim representation ---------------------------------------------------------------


@pytest.mark.parametrize("changes", [
    {},
    {"delivery": "normal", "diagnosis": "O80", "cost_lines": None},
    {"referred": True, "non_reimbursable_cost": "123.45", "diagnosis_text": "肺炎"},
])
def test_claim_data_is_what_the_claim_serializer_writes(api, member, changes):
    """The settlement, the claim and the list answer through `claim_data`, which must give
    exactly the JSON `ClaimSerializer` (the documented shape) would."""
    from claims.api import claim_data
    from claims.serializers import ClaimSerializer

    data = body(member, invoice_no="INV-SHAPE", **{k: v for k, v in changes.items() if v is not None})
    if changes.get("cost_lines", 1) is None:
        data.pop("cost_lines", None)
    response = api.post(CLAIMS, data, format="json")
    assert response.status_code == 201, response.content
    claim = Claim.objects.select_related("member", "facility", "policy").get(pk=response.json()["id"])
    expected = json.loads(json.dumps(ClaimSerializer(claim).data))
    assert claim_data(claim) == expected
    assert response.json() == expected
    assert api.get(f"{CLAIMS}{claim.pk}/").json() == expected
    assert api.get(CLAIMS).json()["results"] == [expected]


# --- unhandled errors: JSON with a code -----------------------------------------------------------


@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_a_lost_database_answers_503_database_unavailable(api, member, monkeypatch, error):
    def lost(**kwargs):
        raise error

    monkeypatch.setattr(claims_api, "claim_settle", lost)
    response = api.post(CLAIMS, body(member), format="json")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": "database_unavailable",
                               "message": "数据库暂时无法连接，本次请求未处理，请稍后重新发送（结算接口幂等）"}
    assert Claim.objects.count() == 0


def test_an_unhandled_error_answers_500_server_error_in_json(api, member, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("SELECT … FROM enrollment_member WHERE id_number = '420102…'")

    monkeypatch.setattr(claims_api, "claim_quote", broken)
    response = api.post(QUOTE, body(member), format="json")
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert "SELECT" not in response.content.decode()  # the error's text stays in the log


@pytest.mark.parametrize("exc,status,code", [(OperationalError("gone"), 503, "database_unavailable"),
                                             (RuntimeError("boom"), 500, "server_error")])
def test_an_error_before_the_api_view_is_json_too(rf, exc, status, code):
    """What fails outside DRF (a middleware reading the session) under /api/: config.urls.handler500."""
    try:
        raise exc
    except Exception:
        response = server_error(rf.get("/api/v1/claims/"))
    assert response.status_code == status
    assert json.loads(response.content)["error"] == code
    try:
        raise exc
    except Exception:
        page = server_error(rf.get("/claims/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
