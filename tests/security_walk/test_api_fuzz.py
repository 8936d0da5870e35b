"""The REST API fuzzed from its own OpenAPI document (schemathesis), in process through the WSGI
application: every operation, with generated bodies, paths and query strings, as a facility clerk
with an API token. No answer may be a server error, and every answer must match the document
(status code documented, body of the documented shape).

Bounded: FUZZ_EXAMPLES examples per operation, no deadline (a loaded 2-core machine). Throttling
is relaxed for the run: it counts requests in the cache, and a 429 is not what is tested here
(tests/claims/test_api.py tests it).
"""
import os

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))


@pytest.fixture
def api_schema(world, settings, monkeypatch):
    from datetime import date

    from claims import settlement

    # the world's claims are of 2026: "today" within the policy's claim deadline, so settling works
    monkeypatch.setattr(settlement, "_today", lambda: date(2026, 5, 20))
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis' WSGI client is "localhost"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "100000/minute", "settle": "100000/minute"}}
    cache.clear()
    headers = {"Authorization": f"Token {world.token.key}"}
    # Requests go through the real WSGI handler, whose request signals would close the test's
    # database connection (and its transaction) on PostgreSQL; Django's test client disconnects
    # them the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), headers=headers)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# every operation of the document (test_the_fuzz_covers_every_operation keeps this list whole)
OPERATIONS = [
    "POST /api/v1/quote/", "GET /api/v1/claims/", "POST /api/v1/claims/", "GET /api/v1/claims/{id}/",
    "GET /api/v1/members/{id_number}/", "GET /api/v1/statements/",
]


def test_the_fuzz_covers_every_operation(api_schema):
    found = {f"{result.ok().method.upper()} {result.ok().path}" for result in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


# schemathesis' own pytest integration (schema.parametrize) does not run under pytest 9 (it reads
# a private attribute of the test item), so each operation's strategy is driven by hypothesis here.
@pytest.mark.parametrize("operation", OPERATIONS)
def test_api_answers_without_server_errors_and_as_documented(api_schema, world, operation):
    method, path = operation.split()
    strategy = api_schema[path][method].as_strategy()
    headers = {"Authorization": f"Token {world.token.key}"}

    @given(case=strategy)
    @hypothesis_settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance, status_code_conformance])

    answers_as_documented()


def test_a_real_quote_settlement_and_retry_answer_as_documented(api_schema, world):
    """Generated bodies are mostly refused (422); these valid ones reach the 200/201 answers."""
    from tests.security_walk.test_denied_posts import _settle_body

    headers = {"Authorization": f"Token {world.token.key}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    body = _settle_body(world)
    quote = api_schema["/api/v1/quote/"]["POST"].Case(body=body, media_type="application/json")
    assert quote.call_and_validate(headers=headers, checks=checks).status_code == 200
    settle = api_schema["/api/v1/claims/"]["POST"]
    first = settle.Case(body=body, media_type="application/json").call_and_validate(headers=headers, checks=checks)
    retry = settle.Case(body=body, media_type="application/json").call_and_validate(headers=headers, checks=checks)
    assert (first.status_code, retry.status_code) == (201, 200)
    claim_id = first.json()["id"]
    detail = api_schema["/api/v1/claims/{id}/"]["GET"].Case(path_parameters={"id": claim_id})
    assert detail.call_and_validate(headers=headers, checks=checks).json()["id"] == claim_id
    listing = api_schema["/api/v1/claims/"]["GET"].Case(query={"page_size": 1})
    assert listing.call_and_validate(headers=headers, checks=checks).status_code == 200
