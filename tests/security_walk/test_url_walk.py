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
GET only for the walk; test_denied_posts_change_nothing posts to every state-changing endpoint as
users out of scope and asserts 403/404/405 and an unchanged database, then posts the same as a
user in scope to prove the request would have written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.admin import TokenProxy

from accounts.models import Role
from accounts.roles import CAPABILITIES, user_can
from accounts.scoping import is_county_wide
from tests.factories import VillagePopulationFactory

# --- the walk ---------------------------------------------------------------------------------


def walk(patterns=None, prefix: str = "", namespace: str | None = None):
    """(key, route) of every URL pattern; key is the namespaced name, or the route when unnamed."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            name = (f"{namespace}:{pattern.name}" if namespace else pattern.name) if pattern.name else None
            yield name or route, route


# --- the table --------------------------------------------------------------------------------

PUBLIC = "public"  # no login: anyone, the same answer
STAFF = "staff"  # any logged-in user, whatever the role
ADMIN = "admin"  # the Django admin: is_staff (the administrator role), then the model's permissions

LOGIN = "login"  # anonymous: 302 to /login/?next=<the page>
ADMIN_LOGIN = "admin_login"  # 302 to /admin/login/?next=<the page>

SCOPED = ("township", "facility", "claim")  # object kinds whose URL is walked in both places


def no_args(world, place):
    return {}


def pk(attribute: str):
    return lambda world, place: {"pk": getattr(place, attribute).pk}


@dataclass(frozen=True)
class Rule:
    capability: str  # a capability of accounts.roles, or PUBLIC / STAFF / ADMIN
    fill: Callable = no_args  # (world, place) -> kwargs for reverse(key), or a literal path
    scope: str | None = None  # the object the URL names: township, facility, claim (both places) or county
    query: str = ""
    anonymous: int | str = LOGIN
    ok: int | str = 200  # GET by an allowed role, in scope
    denied: int | str = 403  # GET by a role without the capability
    every_role: int | str | None = None  # GET by any logged-in role (POST-only views, logout)


def post_only(capability: str, fill=no_args, scope=None, *, checked_first: bool = True) -> Rule:
    """A POST-only view: GET is 405 for an allowed role; for the others 403 when the capability
    is checked before the method (checked_first), else 405 for everyone."""
    if checked_first:
        return Rule(capability, fill, scope, ok=405)
    return Rule(capability, fill, scope, every_role=405)


RULES: dict[str, Rule] = {
    # accounts and language
    "home": Rule(STAFF),
    "login": Rule(PUBLIC, anonymous=200, ok=302),  # a logged-in user is sent home
    "logout": Rule(STAFF, every_role=405),  # POST only (Django's LogoutView)
    "set_language": Rule(PUBLIC, anonymous=302, ok=302),  # GET changes nothing, back to the page
    # enrollment
    "enrollment:household_search": Rule("enrollment.view"),
    "enrollment:household_create": Rule("enrollment.change"),
    "enrollment:household_detail": Rule("enrollment.view", pk("household"), "township"),
    "enrollment:household_edit": Rule("enrollment.change", pk("household"), "township"),
    "enrollment:member_add": Rule("enrollment.change", pk("household"), "township"),
    "enrollment:member_edit": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:enrollment_record": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:household_card_pdf": Rule("enrollment.view", pk("household"), "township"),
    "enrollment:roster_import": Rule("enrollment.import"),
    "enrollment:roster_import_detail": Rule("enrollment.import", pk("import_job"), "township"),
    "enrollment:roster_import_progress": Rule("enrollment.import", pk("import_job"), "township"),
    "enrollment:roster_export": Rule("enrollment.export"),
    "enrollment:enrollment_export": Rule("enrollment.export"),
    "enrollment:participation": Rule("participation.view"),
    "enrollment:participation_export": Rule("participation.view"),
    # facilities
    "oversight:facility_list": Rule("facilities.view"),
    "oversight:facility_detail": Rule("facilities.view_own", pk("facility"), "facility"),
    "oversight:facility_suspend": post_only("facilities.change", pk("facility"), "facility"),
    "oversight:facility_reinstate": post_only("facilities.change", pk("facility"), "facility"),
    "oversight:facility_agreement": post_only("facilities.change", pk("facility"), "facility"),
    "oversight:inspection_create": post_only("facilities.inspect", pk("facility"), "facility"),
    "oversight:inspection_detail": Rule("facilities.view_own", pk("inspection"), "facility"),
    "oversight:inspection_document_download": Rule("facilities.view_own", pk("inspection_document"), "facility"),
    "oversight:scorecard": Rule("facilities.view_own", pk("facility"), "facility"),
    "oversight:scorecard_xlsx": Rule("facilities.view_own", pk("facility"), "facility"),
    "oversight:ranking": Rule("facilities.view"),
    # claims
    "claims:claim_list": Rule("claims.view"),
    "claims:bulk_approve": post_only("claims.bulk_approve"),
    "claims:claim_create": Rule("claims.enter"),
    "claims:member_lookup": Rule("claims.enter", query="q=420"),
    "claims:claim_quote_preview": post_only("claims.enter"),
    "claims:claim_detail": Rule("claims.view", pk("claim"), "claim"),
    "claims:claim_review": post_only("claims.review", pk("claim"), "claim"),
    "claims:claim_approve": post_only("claims.approve", pk("claim"), "claim"),
    "claims:claim_return": post_only("claims.return", pk("claim"), "claim"),
    "claims:claim_reject": post_only("claims.reject", pk("claim"), "claim"),
    "claims:claim_resubmit": post_only("claims.enter", pk("claim"), "claim"),
    "claims:document_upload": post_only("claims.enter", pk("claim"), "claim"),
    "claims:claim_slip_pdf": Rule("claims.view", pk("claim"), "claim"),
    "claims:document_download": Rule("claims.view", pk("document"), "claim"),
    "claims:policy_detail": Rule("policy.view"),
    # the fund and its monthly report
    "fund_report:dashboard": Rule("fund.report"),
    "fund_report:download": Rule("fund.report", lambda world, place: {"fmt": "json"}, query="year=2026&month=3"),
    "fund_report:store": post_only("fund.report_store", checked_first=False),
    "fund_report:stored": Rule("fund.report", lambda world, place: {"pk": world.fund_report.pk}, "county"),
    "fund:ledger": Rule("fund.view"),
    "fund:income_create": Rule("fund.income"),
    "fund:transfer_create": Rule("fund.transfer"),
    "fund:payout_queue": Rule("fund.pay"),
    "fund:payout_pay": post_only("fund.pay"),
    # the payment file of a batch names its claims in the query (filled per place by _url)
    "fund:bank_file": Rule("fund.pay", scope="claim"),
    "fund:reconciliation": Rule("fund.view"),
    # the public site: masked notices, forms for villagers, the fund's totals
    "publicity:index": Rule(PUBLIC, anonymous=200),
    "publicity:township_detail": Rule(PUBLIC, lambda world, place: {"code": world.own.township.code}, anonymous=200),
    "publicity:village_detail": Rule(PUBLIC, lambda world, place: {"code": world.own.village.code}, anonymous=200),
    "publicity:notice_detail": Rule(PUBLIC, lambda world, place: {"pk": world.notice.pk}, anonymous=200),
    "publicity:notice_pdf": Rule(PUBLIC, lambda world, place: {"pk": world.notice.pk}, anonymous=200),
    "publicity:objection_create": Rule(PUBLIC, lambda world, place: {"pk": world.notice_line.pk}, anonymous=200),
    "publicity:report_create": Rule(PUBLIC, anonymous=200),
    "publicity:case_status": Rule(PUBLIC, anonymous=200),
    "publicity:claim_lookup": Rule(PUBLIC, anonymous=200),
    "publicity:fund_summary": Rule(PUBLIC, anonymous=200),
    # the county's queue of objections and reports
    "publicity_staff:case_list": Rule("publicity.view"),
    "publicity_staff:case_detail": Rule("publicity.view", lambda world, place: {"kind": "objection",
                                                                                 "pk": world.objection.pk}, "county"),
    "publicity_staff:case_action": post_only("publicity.handle", lambda world, place: {
        "kind": "report", "pk": world.report.pk}, "county", checked_first=False),
    # the REST API (claims.api): token or session; 401 without either; OpenAPI document and its pages
    # for logged-in users only (tests/claims/test_api.py)
    "api:quote": Rule("api.settle", anonymous=401, every_role=403),  # POST only: GET has no capability
    "api:claims": Rule("api.claims_view", anonymous=401),
    "api:claim": Rule("api.claims_view", pk("claim"), "claim", anonymous=401),
    "api:member": Rule("api.members_view", lambda world, place: {"id_number": place.member.id_number},
                       "county", anonymous=401),
    # the OpenAPI document and its pages: public (no data), as issue 7 lists them with /public/
    "api:schema": Rule(PUBLIC, anonymous=200),
    "api:docs": Rule(PUBLIC, anonymous=200),
    "api:redoc": Rule(PUBLIC, anonymous=200),
    # operations: the load balancer's health check (no data beyond ok/fail), the queue page
    "healthz": Rule(PUBLIC, anonymous=200),
    "ops_queue": Rule("ops.view"),
}



def admin(fill=no_args, *, ok: int | str = 403, anonymous: int | str = LOGIN, non_staff: int | str = ADMIN_LOGIN):
    """A page of the admin: `ok` for a staff user (the administrator role of users_by_role: is_staff,
    no model permission, so 403 on the registers), `non_staff` for any other logged-in role."""
    return Rule(ADMIN, fill, ok=ok, anonymous=anonymous, denied=non_staff)


# The admin site's own pages send anonymous visitors to the admin's login page; the registers'
# pages to the site's login page (LoginRequiredMiddleware, before the admin's own check).
ADMIN_SITE: dict[str, Rule] = {
    "admin:index": admin(ok=200, anonymous=ADMIN_LOGIN),
    # the login page: a staff user is sent on to the index; anyone else is told they lack access
    "admin:login": admin(ok=302, anonymous=200, non_staff=200),
    "admin:logout": admin(ok=405, anonymous=ADMIN_LOGIN, non_staff=302),  # POST only; non-staff to the index
    "admin:password_change": admin(ok=200, anonymous=ADMIN_LOGIN),
    "admin:password_change_done": admin(ok=200, anonymous=ADMIN_LOGIN),
    # needs app_label/model_name/field_name of a register the user may view
    "admin:autocomplete": admin(anonymous=ADMIN_LOGIN),
    "admin:jsi18n": admin(ok=200, anonymous=ADMIN_LOGIN),
    "admin:view_on_site": admin(lambda world, place: {
        "content_type_id": ContentType.objects.get_for_model(place.household).pk,
        "object_id": place.household.pk}, ok=404, anonymous=ADMIN_LOGIN),  # no model has get_absolute_url
    # an app whose registers the user may not view is not found
    "admin:app_list": admin(lambda world, place: {"app_label": "enrollment"}, ok=404, anonymous=ADMIN_LOGIN),
    "admin/(?P<url>.*)$": admin(lambda world, place: "/admin/no-such-page/", ok=404, anonymous=ADMIN_LOGIN),
}

# Each register of the admin and the pages it adds (import-export, simple-history): explicit, so a
# new register fails the walk until it is listed here.
CRUD = ("changelist", "add", "history", "delete", "change", "redirect")
IMPORT = ("process_import", "import")
EXPORT = ("export",)
HISTORY = ("simple_history",)
ADMIN_REGISTERS: dict[str, tuple[str, ...]] = {
    "auth.group": CRUD,
    "authtoken.tokenproxy": CRUD,
    "accounts.user": CRUD + ("password",),
    "places.township": CRUD + IMPORT + EXPORT,
    "places.village": CRUD + IMPORT + EXPORT,
    "places.villagepopulation": CRUD + IMPORT + EXPORT,
    "enrollment.household": CRUD + EXPORT + HISTORY,
    "enrollment.member": CRUD + EXPORT + HISTORY,
    "enrollment.enrollment": CRUD + EXPORT + HISTORY,
    "facilities.facility": CRUD + IMPORT + EXPORT + HISTORY,
    "oversight.inspection": CRUD + HISTORY,
    "policy.policyversion": CRUD + HISTORY,
    "claims.rejectionreason": CRUD,
    "claims.claim": CRUD + HISTORY,
    # django-axes: failed logins and lockouts
    "axes.accessattempt": CRUD,
    "axes.accesslog": CRUD,
    "axes.accessfailurelog": CRUD,
}


def _admin_object(world, label: str):
    """An object of the register to put in its URLs."""
    objects = {
        "auth.group": world.group, "authtoken.tokenproxy": TokenProxy.objects.get(pk=world.token.pk),
        "accounts.user": world.users[Role.REVIEWER], "places.township": world.own.township,
        "places.village": world.own.village, "enrollment.household": world.own.household,
        "enrollment.member": world.own.member, "facilities.facility": world.own.facility,
        "oversight.inspection": world.own.inspection, "policy.policyversion": world.policy,
        "claims.claim": world.own.claim,
    }
    if label in objects:
        return objects[label]
    return apps.get_model(label).objects.order_by("pk").first()


def _admin_rows(world) -> None:
    """One row of each register the world does not fill (an unknown id would be redirected)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    VillagePopulationFactory(village=world.own.village, year=2026, population=100)
    seen = {"user_agent": "walk", "ip_address": "127.0.0.1", "username": "walk", "http_accept": "*/*",
            "path_info": "/login/"}
    AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**seen, locked_out=False)
    AccessLog.objects.create(**seen)


def _admin_rules() -> dict[str, Rule]:
    rules = {}
    for label, pages in ADMIN_REGISTERS.items():
        app_label, model = label.split(".")
        # the user admin's password page is named after auth's User, whatever the user model
        for page in pages:
            base = f"/admin/{app_label}/{model}"
            if page == "redirect":  # /admin/<app>/<model>/<id>/ redirects to .../change/
                key = f"admin/{app_label}/{model}/<path:object_id>/"
                rules[key] = admin(lambda world, place, label=label, base=base:
                                   f"{base}/{_admin_object(world, label).pk}/", ok=302)
            elif page == "simple_history":
                key = f"admin:{app_label}_{model}_simple_history"
                rules[key] = admin(lambda world, place, label=label, base=base: (
                    f"{base}/{_admin_object(world, label).pk}/history/"
                    f"{_admin_object(world, label).history.first().history_id}/"))
            elif page == "password":
                key = "admin:auth_user_password_change"
                rules[key] = admin(lambda world, place: {"id": world.users[Role.REVIEWER].pk})
            else:
                key = f"admin:{app_label}_{model}_{page}"
                if page in ("history", "delete", "change"):
                    fill = (lambda world, place, label=label:
                            {"object_id": _admin_object(world, label).pk})
                else:
                    fill = no_args
                # process_import is POST only (405 before any check); its POST: test_admin_posts
                rules[key] = admin(fill, ok=405 if page == "process_import" else 403)
    return rules


ALL_RULES: dict[str, Rule] = {**RULES, **ADMIN_SITE, **_admin_rules()}

ROLES = [None, *Role]  # None: anonymous


# --- expectations -----------------------------------------------------------------------------


def variants(rule: Rule) -> tuple[str, ...]:
    return ("own", "other") if rule.scope in SCOPED else ("own",)


def in_scope(user, scope: str | None, variant: str) -> bool:
    """Whether the object of `scope` in place `variant` is one the user reaches (accounts.scoping)."""
    if scope in (None, "county") or is_county_wide(user):
        return True
    if variant != "own":
        return False
    if user.role == Role.TOWNSHIP_CLERK:
        return scope in ("township", "claim")
    if user.role == Role.FACILITY_CLERK:
        return scope in ("facility", "claim")
    return False


def expected(rule: Rule, user, variant: str) -> int | str:
    if user is None:
        return rule.anonymous
    if rule.every_role is not None:
        return rule.every_role
    if rule.capability in (PUBLIC, STAFF):
        return rule.ok
    if rule.capability == ADMIN:
        return rule.ok if user.is_staff else rule.denied
    if not user_can(user, rule.capability):
        return rule.denied
    if rule.ok == 405:  # a POST-only view refuses GET before it looks the object up
        return 405
    if not in_scope(user, rule.scope, variant):
        return 404
    return rule.ok


def _url(key: str, rule: Rule, world, variant: str) -> str:
    place = world.place(variant)
    if key == "fund:bank_file":
        return f"{reverse(key)}?claim={place.approved_claim.pk}"
    filled = rule.fill(world, place)
    url = filled if isinstance(filled, str) else reverse(key, kwargs=filled)
    return f"{url}?{rule.query}" if rule.query else url


def outcome(response) -> int | str:
    """The status, or LOGIN / ADMIN_LOGIN for a redirect to a login page with ?next=."""
    if response.status_code == 302:
        target = urlsplit(response["Location"])
        if target.path == reverse("login") and target.query.startswith("next="):
            return LOGIN
        if target.path == reverse("admin:login") and target.query.startswith("next="):
            return ADMIN_LOGIN
    return response.status_code


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
            markers += [place.household.number, place.claim.invoice_no, place.approved_claim.invoice_no]
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


# --- POST: users out of scope change nothing -------------------------------------------------

WATCHED_APPS = ("places", "facilities", "policy", "ledger", "enrollment", "claims", "fund", "oversight", "publicity")


def snapshot() -> dict:
    """Every row of the domain's tables (history tables included), to compare before and after."""
    state = {}
    for app_label in WATCHED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            state[model._meta.label] = list(model._default_manager.order_by("pk").values())
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def _pdf(name: str = "scan.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.security_walk.conftest import PDF

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _new_id(sequence: int) -> str:
    from datetime import date

    from enrollment.rules import MALE, make_resident_id

    return make_resident_id("420102", date(1990, 5, 17), sequence, MALE)


def _status(claim_attribute: str, status: str):
    def prepare(world):
        claim = getattr(world.own, claim_attribute)
        type(claim).objects.filter(pk=claim.pk).update(status=status)
    return prepare


def _funded(world):
    from datetime import date

    from ledger.services import funds_transfer, income_record

    income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="10000.00", ref="W-C1")
    funds_transfer(user=None, year=2026, date=date(2026, 2, 2), amount="5000.00", ref="W-T1")


def _ready_job(world):
    from enrollment.models import ImportJob

    ImportJob.objects.filter(pk=world.own.import_job.pk).update(status=ImportJob.Status.READY, total_rows=1)


def _suspended(world):
    from datetime import date

    from facilities.services import facility_suspend

    facility_suspend(user=world.users[Role.FUND_OFFICER], facility=world.own.facility,
                     from_date=date(2026, 6, 1), reason="违规")


def _unenrolled_member(world):
    from tests.factories import MemberFactory

    world.extra["new_member"] = MemberFactory(household=world.own.household, name="李新", relation="son")


@dataclass(frozen=True)
class Post:
    data: Callable  # (world) -> the POST body of a request that writes when made by `control`
    control: Role  # a role in scope, whose identical POST proves the request writes
    url: Callable | None = None  # (world) -> path; default the pattern with the own place's object
    prepare: Callable | None = None  # (world) -> None: puts the object in a state the step accepts
    json: bool = False
    # a URL without an object: the other place's clerk may post, for their own place only (the
    # form offers only their villages and members), so posting the own place's data writes nothing
    other_place_refused: bool = True


TODAY = "2026-11-20"
CLAIM_ENTRY = {
    "admission_date": "2026-05-01", "discharge_date": "2026-05-06", "invoice_no": "W-NEW-1",
    "diagnosis_code": "J18.9", "diagnosis_text": "肺炎", "delivery": "",
    "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "40",
    "lines-0-category": "drugs", "lines-0-amount": "1000.00", "lines-0-in_catalog": "on",
}

POSTS: dict[str, Post] = {
    # enrollment
    "enrollment:household_create": Post(lambda w: {
        "village": w.own.village.pk, "number": "H-NEW", "head_name": "王新", "head_id_number": _new_id(11),
        "head_category": "ordinary"}, Role.TOWNSHIP_CLERK),
    "enrollment:household_edit": Post(lambda w: {"village": w.own.village.pk, "address": "新地址 1 号"},
                                      Role.TOWNSHIP_CLERK),
    "enrollment:member_add": Post(lambda w: {"name": "王小新", "id_number": _new_id(12), "relation": "son",
                                             "category": "ordinary"}, Role.TOWNSHIP_CLERK),
    "enrollment:member_edit": Post(lambda w: {"name": "张改名", "id_number": w.own.member.id_number,
                                              "relation": "head", "category": "ordinary"}, Role.TOWNSHIP_CLERK),
    "enrollment:enrollment_record": Post(
        lambda w: {"contribution": "380.00", "receipt_no": "W-R1", "paid_date": TODAY},
        Role.TOWNSHIP_CLERK, url=lambda w: reverse("enrollment:enrollment_record",
                                                   kwargs={"pk": w.extra["new_member"].pk}),
        prepare=_unenrolled_member),
    # an upload is the clerk's own job (its rows are checked against their township on import)
    "enrollment:roster_import": Post(lambda w: {"year": "2026", "file": _csv()}, Role.TOWNSHIP_CLERK,
                                     other_place_refused=False),
    "enrollment:roster_import_detail": Post(lambda w: {}, Role.TOWNSHIP_CLERK, prepare=_ready_job),
    # claims
    "claims:claim_create": Post(lambda w: {**CLAIM_ENTRY, "member": w.own.member.pk, "facility": w.own.facility.pk,
                                           "scans": _pdf()}, Role.TOWNSHIP_CLERK),
    "claims:bulk_approve": Post(lambda w: {"claim": [w.own.claim.pk]}, Role.APPROVER,
                                prepare=_status("claim", "reviewed")),
    "claims:claim_review": Post(lambda w: {"note": "已核"}, Role.REVIEWER),
    "claims:claim_approve": Post(lambda w: {"note": "同意"}, Role.APPROVER, prepare=_status("claim", "reviewed")),
    "claims:claim_return": Post(lambda w: {"note": "请补发票"}, Role.REVIEWER),
    "claims:claim_reject": Post(lambda w: {"reason": _reason().pk, "note": "材料不全"}, Role.REVIEWER),
    "claims:claim_resubmit": Post(lambda w: {}, Role.TOWNSHIP_CLERK, prepare=_status("claim", "returned")),
    "claims:document_upload": Post(lambda w: {"scans": _pdf()}, Role.TOWNSHIP_CLERK),
    # the fund
    "fund:income_create": Post(lambda w: {"year": "2026", "date": TODAY, "source": "central", "amount": "100.00",
                                          "ref": "W-I1"}, Role.FUND_OFFICER),
    "fund:transfer_create": Post(lambda w: {"year": "2026", "date": TODAY, "amount": "100.00", "ref": "W-T2"},
                                 Role.FUND_OFFICER, prepare=_funded),
    "fund:payout_pay": Post(lambda w: {"pay_one": w.own.approved_claim.pk}, Role.CASHIER, prepare=_funded),
    "fund_report:store": Post(lambda w: {"year": "2026", "month": "3"}, Role.FUND_OFFICER),
    # the queue of objections and reports
    "publicity_staff:case_action": Post(lambda w: {"action": "investigate"}, Role.FUND_OFFICER),
    # facilities
    "oversight:facility_suspend": Post(lambda w: {"from_date": "2026-06-01", "reason": "违规"}, Role.FUND_OFFICER),
    "oversight:facility_reinstate": Post(lambda w: {"on_date": "2026-07-01", "reason": "整改完毕"},
                                          Role.FUND_OFFICER, prepare=_suspended),
    "oversight:facility_agreement": Post(lambda w: {"agreement_start": "2026-01-01", "agreement_end": "2028-12-31",
                                                     "reason": "续签"}, Role.FUND_OFFICER),
    "oversight:inspection_create": Post(lambda w: {"inspected_on": "2026-06-02", "inspectors": "王检查",
                                                    "findings": "无", "penalty_amount": "0.00",
                                                    "documents": _pdf()}, Role.FUND_OFFICER),
    "oversight:inspection_detail": Post(lambda w: {"documents": _pdf()}, Role.FUND_OFFICER),
    # the API: settling for a facility (a facility clerk for another facility is refused)
    "api:claims": Post(lambda w: _settle_body(w), Role.FACILITY_CLERK, json=True),
}

# POST-only endpoints that write nothing, and where their POST is tested
POST_WITHOUT_WRITES = {
    "logout": "ends the session of whoever posts",
    "claims:claim_quote_preview": "values a claim, writes nothing",
    "api:quote": "values a claim, writes nothing (tests/claims/test_api.py)",
    "admin:logout": "ends the session",
}


def _csv():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("roster.csv", "户号,村代码,姓名,身份证号\n".encode(), content_type="text/csv")


def _reason():
    from claims.models import RejectionReason

    return RejectionReason.objects.get(code="documents_missing")


def _settle_body(world) -> dict:
    member = world.own.member
    return {"ref": "w1", "id_number": member.id_number, "facility": world.own.facility.code,
            "invoice_no": "W-API-000001", "admission_date": "2026-05-01", "discharge_date": "2026-05-06",
            "total_cost": "1100.00", "non_reimbursable_cost": "100.00", "referred": False, "diagnosis": "J18.9",
            "delivery": None}


def test_every_post_only_endpoint_has_a_post_check():
    post_only_keys = {key for key, rule in RULES.items() if 405 in (rule.ok, rule.every_role)}
    assert post_only_keys - set(POSTS) - set(POST_WITHOUT_WRITES) == set()
    assert set(POSTS) <= set(RULES)


def _out_of_scope_users(world, spec: Post, rule: Rule):
    """(user, statuses accepted) of every role that may not make this POST on the own place's
    object, and of the clerks of the other place (in scope of their own township or facility, not
    of this one): 403/404/405, or for a URL naming no object also the form shown again (200)."""
    users = [(world.users[role], (403, 404, 405)) for role in Role
             if not (user_can(world.users[role], rule.capability) and in_scope(world.users[role], rule.scope, "own"))]
    if spec.other_place_refused:
        statuses = (403, 404, 405) if rule.scope in SCOPED else (200, 403, 404, 405)
        users += [(world.extra["other_clerk"], statuses), (world.extra["other_facility_clerk"], statuses)]
    return users


def _post(client: Client, url: str, spec: Post, world):
    if spec.json:
        return client.post(url, spec.data(world), content_type="application/json")
    return client.post(url, spec.data(world))


@pytest.mark.parametrize("key", sorted(POSTS))
def test_denied_posts_change_nothing(world, key, monkeypatch):
    from datetime import date

    from claims import settlement

    # the claims are of May 2026: "today" within the policy's claim deadline
    monkeypatch.setattr(settlement, "_today", lambda: date(2026, 5, 20))
    spec, rule = POSTS[key], RULES[key]
    if spec.prepare:
        spec.prepare(world)
    url = spec.url(world) if spec.url else _url(key, rule, world, "own")
    before = snapshot()
    wrong = []
    for user, statuses in _out_of_scope_users(world, spec, rule):
        response = _post(_client(user), url, spec, world)
        after = snapshot()
        if response.status_code not in statuses or after != before:
            wrong.append(f"{user.username} ({user.role}): {response.status_code}, changed {_changed(before, after)}")
            before = after
    assert wrong == [], f"POST {url}\n" + "\n".join(wrong)

    response = _post(_client(world.users[spec.control]), url, spec, world)
    assert response.status_code in (200, 201, 302), response.content[:500]
    assert _changed(before, snapshot()), f"the control POST of {spec.control} to {url} wrote nothing"


def test_admin_export_and_import_need_the_registers_permission(world, make_user):
    """A staff user without a register's permission neither exports it (members' ID numbers) nor
    imports into it; django-import-export allows any staff user unless the permission codes are
    set (settings.IMPORT_EXPORT_*_PERMISSION_CODE)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    export = {"format": "0", "resource": "0", "memberadminresource_name": "on",
              "memberadminresource_id_number": "on"}
    staff = _client(world.users[Role.ADMINISTRATOR])  # is_staff, no model permission
    before = snapshot()

    response = staff.post("/admin/enrollment/member/export/", export)
    assert response.status_code == 403
    assert world.own.member.id_number.encode() not in response.content
    upload = SimpleUploadedFile("townships.csv", "code,name\n420102300,新乡\n".encode(), content_type="text/csv")
    assert staff.post("/admin/places/township/import/", {"format": "0", "resource": "0",
                                                             "import_file": upload}).status_code == 403
    assert staff.post("/admin/places/township/process_import/", {"format": "0", "resource": "0",
                                                                     "import_file_name": "x.csv",
                                                                     "original_file_name": "x.csv"}).status_code == 403
    assert _changed(before, snapshot()) == []

    superuser = make_user(Role.ADMINISTRATOR, username="walk-root", is_staff=True, is_superuser=True)
    response = _client(superuser).post("/admin/enrollment/member/export/", export)
    assert response.status_code == 200
    assert world.own.member.id_number.encode() in response.content


@pytest.mark.parametrize("role,key,query,shown", [
    (Role.TOWNSHIP_CLERK, "enrollment:household_search", "", lambda place: place.household.number),
    (Role.TOWNSHIP_CLERK, "enrollment:roster_export", "?year=2026", lambda place: place.member.id_number),
    (Role.TOWNSHIP_CLERK, "claims:claim_list", "?status=", lambda place: place.claim.invoice_no),
    (Role.FACILITY_CLERK, "claims:claim_list", "?status=", lambda place: place.claim.invoice_no),
    (Role.FACILITY_CLERK, "api:claims", "", lambda place: place.claim.invoice_no),
])
def test_the_leak_check_sees_the_own_place(world, role, key, query, shown):
    """The walk's check that a clerk's lists show nothing of the other place is not vacuous:
    the same lists show the own place's rows, and the other place's rows exist."""
    text = body_text(_client(world.users[role]).get(reverse(key) + query))
    assert shown(world.own) in text
    assert shown(world.other) not in text
    assert world.other.claim.invoice_no in body_text(_client(world.users[Role.AUDITOR]).get(
        reverse("claims:claim_list") + "?status="))
