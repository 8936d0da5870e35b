"""Every URL pattern of config.urls, walked as an anonymous visitor and as each role.

The walk reads the patterns from the resolver (includes and the admin too) and looks each one up
in RULES, an explicit table: which capability of accounts.roles opens the page, what kind of
object its URL names (and so how scoping applies), and what the page answers. A pattern that is
not in the table, or a table entry whose pattern is gone, fails the first test: no page can be
added without saying who reaches it.

Expectations follow from the one capability table (accounts.roles.CAPABILITIES):
- anonymous: only the public site (/public/), the login page, the API's OpenAPI document and its
  pages (/api/schema/, /api/docs/), the health check and the harmless language switch answer;
  every other page sends to the login page, the API answers 401;
- a role without the capability: 403;
- a role with it: the page (200; 405 on GET for POST-only endpoints); an object of another
  township or facility: 404 for a township or facility clerk (accounts.scoping), found for
  county roles.
GET only for the walk (the table is tests/security_walk/table.py); test_denied_posts.py posts to every state-changing endpoint as
users out of scope and asserts 403/404/405 and an unchanged database, then posts the same as a
user in scope to prove the request would have written.
"""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.roles import CAPABILITIES
from accounts.scoping import is_county_wide
from tests.security_walk.table import (
    ADMIN,
    ADMIN_LOGIN,
    ALL_RULES,
    LOGIN,
    PUBLIC,
    ROLES,
    STAFF,
    _admin_rows,
    _url,
    expected,
    outcome,
    variants,
    walk,
)

# --- tests ------------------------------------------------------------------------------------


def test_every_url_pattern_is_in_the_table():
    found = [key for key, _route in walk()]
    assert len(found) == len(set(found)), "two URL patterns share a name"
    unknown = sorted(set(found) - set(ALL_RULES))
    gone = sorted(set(ALL_RULES) - set(found))
    assert unknown == [], f"URL patterns the walk does not know (add them to RULES): {unknown}"
    assert gone == [], f"RULES entries whose URL pattern is gone: {gone}"


def test_the_table_names_only_real_capabilities():
    used = {rule.capability for rule in ALL_RULES.values()} - {PUBLIC, STAFF, ADMIN}
    assert used <= set(CAPABILITIES)


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _no_throttle_history():
    cache.clear()  # the public pages' cache and the API's throttle history
    yield
    cache.clear()


def _markers(world, user) -> list[str]:
    """What must never appear on a page this user reaches: for anonymous visitors every full
    name and ID number; for a clerk those of the other place, with its invoice numbers."""
    places = [world.own, world.other] if user is None else [world.other]
    markers = []
    for place in places:
        markers += [place.member.name, place.member.id_number]
        if user is not None:
            markers += [place.household.number, place.claim.invoice_no, place.approved_claim.invoice_no,
                        place.facility_claim.invoice_no]
    return markers


def body_text(response) -> str | None:
    """The response's text as a reader sees it: HTML, JSON, CSV; the cells of an XLSX file.
    None for a PDF (WeasyPrint compresses its text), which names one object of the URL."""
    import io
    import zipfile

    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    kind = response.get("Content-Type", "")
    if "pdf" in kind:
        return None
    if "spreadsheetml" in kind:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "".join(book.read(name).decode() for name in book.namelist() if name.endswith(".xml"))
    return content.decode(errors="replace")


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_walk_every_page(world, role):
    """Every pattern answers as the table says; and no page a clerk or an anonymous visitor
    reaches shows a name, ID number or invoice out of their scope (lists and exports included)."""
    user = None if role is None else world.users[role]
    _admin_rows(world)
    client = _client(user)
    watch_leaks = user is None or not is_county_wide(user)
    markers = _markers(world, user)
    seen, wrong = 0, []
    for key, _route in walk():
        rule = ALL_RULES[key]
        for variant in variants(rule):
            url = _url(key, rule, world, variant)
            response = client.get(url)
            got, want = outcome(response), expected(rule, user, variant)
            seen += 1
            if got != want:
                wrong.append(f"{key} [{variant}] GET {url}: {got}, expected {want}")
            elif got == 200 and watch_leaks and (text := body_text(response)) is not None:
                shown = [marker for marker in markers if marker in text]
                if shown:
                    wrong.append(f"{key} [{variant}] GET {url} shows {shown}")
    assert wrong == [], "\n".join(wrong)
    assert seen >= len(ALL_RULES)


def test_anonymous_reaches_only_the_public_site_the_login_and_the_api_schema(world):
    """The table's answer for anonymous visitors, stated as the issue states it."""
    reachable = sorted(key for key, rule in ALL_RULES.items() if rule.anonymous not in (LOGIN, ADMIN_LOGIN, 401))
    assert set(reachable) - {key for key in reachable if key.startswith("publicity:")} == {
        "login", "set_language", "admin:login", "healthz", "api:schema", "api:docs", "api:redoc"}


