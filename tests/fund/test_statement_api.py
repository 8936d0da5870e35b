"""/api/v1/statements/ (fund.api): a facility clerk their own facility's statements, the fund's
roles every facility's, others 403, without credentials 401; token or session."""
from datetime import date

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from fund.statements import statement_pay
from tests.fund.test_statement_views import READERS, march, today  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

URL = "/api/v1/statements/"


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def paid(march, users_by_role):
    """F001's March statement paid (1945.67); F900's March left unpaid."""
    statement_pay(user=users_by_role[Role.CASHIER], facility=march["facility"], year=2026, month=3,
                  on=date(2026, 6, 15), ref="JS-F001-202603")
    return march


def test_the_facility_clerk_reads_their_paid_statements(users_by_role, paid):
    response = client_for(users_by_role[Role.FACILITY_CLERK]).get(URL)
    assert response.status_code == 200
    assert response.json() == [{
        "facility": "F001", "year": 2026, "month": 3, "claims": 2, "compensation": "2045.67", "penalties": "100.00",
        "recoveries": "0.00", "net": "1945.67", "paid": True, "ref": "JS-F001-202603", "paid_on": "2026-06-15",
        "invoices": [claim.invoice_no for claim in paid["claims"]]}]


def test_the_facility_clerk_asks_for_a_months_computed_statement(users_by_role, march):
    client = client_for(users_by_role[Role.FACILITY_CLERK])
    body = client.get(URL, {"year": 2026, "month": 4}).json()
    assert len(body) == 1
    assert body[0]["facility"] == "F001" and body[0]["paid"] is False and body[0]["ref"] is None
    assert body[0]["net"] == "1945.67" and body[0]["month"] == 4
    assert client.get(URL, {"year": 2026, "month": 2}).json() == []
    assert client.get(URL).json() == []  # nothing paid yet


def test_the_facility_clerk_never_sees_another_facility(users_by_role, paid):
    client = client_for(users_by_role[Role.FACILITY_CLERK])
    refused = client.get(URL, {"facility": "F900"})
    assert refused.status_code == 403 and refused.json()["error"] == "out_of_scope"
    body = client.get(URL, {"year": 2026, "month": 3}).json()
    assert [s["facility"] for s in body] == ["F001"]
    assert paid["other_claim"].invoice_no not in str(body)


@pytest.mark.parametrize("role", READERS)
def test_the_fund_roles_read_every_facility(users_by_role, paid, role):
    client = client_for(users_by_role[role])
    assert [s["ref"] for s in client.get(URL).json()] == ["JS-F001-202603"]
    month = client.get(URL, {"year": "2026", "month": "3"}).json()
    assert [(s["facility"], s["paid"], s["net"]) for s in month] == [("F001", True, "1945.67"),
                                                                      ("F900", False, "300.00")]
    one = client.get(URL, {"year": "2026", "month": "3", "facility": "F900"}).json()
    assert [s["invoices"] for s in one] == [[paid["other_claim"].invoice_no]]


@pytest.mark.parametrize("query", [{"year": "2026"}, {"year": "2026", "month": "13"}, {"year": "abc", "month": "1"}])
def test_a_bad_period_is_refused(users_by_role, march, query):
    response = client_for(users_by_role[Role.AUDITOR]).get(URL, query)
    assert response.status_code == 422 and response.json()["error"] == "bad_period"


@pytest.mark.parametrize("role", [Role.TOWNSHIP_CLERK, Role.REVIEWER, Role.APPROVER])
def test_other_roles_are_refused(users_by_role, paid, role):
    assert client_for(users_by_role[role]).get(URL).status_code == 403


def test_without_credentials_401_and_with_a_session_200(client, users_by_role, paid):
    assert APIClient().get(URL).status_code == 401
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    assert client.get(URL).status_code == 200


def test_the_schema_documents_the_endpoint(client, users_by_role):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/statements/"]["get"]
    assert operation["operationId"] == "statements_list"
    assert {p["name"] for p in operation["parameters"]} == {"year", "month", "facility"}
