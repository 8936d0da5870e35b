"""The URL walk's table: every URL pattern of config.urls with who reaches it (a capability of
accounts.roles), what kind of object its URL names, and what the page answers; and how a role's
answer follows from it. The tests that walk it are test_url_walk.py and test_denied_posts.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.admin import TokenProxy

from accounts.models import Role
from accounts.roles import user_can
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


def statement_month(world, place):
    return {"code": place.facility.code, "year": 2026, "month": 4}


def simulation_draft(world, name: str = "walk-draft"):
    """A saved policy draft (made once per world, when a URL first names it)."""
    from fund.models import PolicyDraft
    from tests.claims.conftest import policy_document

    if name not in world.extra:
        world.extra[name] = PolicyDraft.objects.create(name=name, base_year=2026, document=policy_document())
    return world.extra[name]


def draft_pk(world, place):
    return {"pk": simulation_draft(world).pk}


def run_pk(world, place):
    from fund.models import SimulationRun

    if "walk-run" not in world.extra:
        world.extra["walk-run"] = SimulationRun.objects.create(draft=simulation_draft(world))
    return {"pk": world.extra["walk-run"].pk}


def compare_path(name: str):
    return lambda world, place: (f"{reverse(name)}?a={simulation_draft(world).pk}"
                                 f"&b={simulation_draft(world, 'walk-draft-2').pk}")


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
    "password_change": Rule(STAFF),  # every signed-in user, their own password
    "set_language": Rule(PUBLIC, anonymous=302, ok=302),  # GET changes nothing, back to the page
    # enrollment
    "enrollment:household_search": Rule("enrollment.view"),
    "enrollment:household_create": Rule("enrollment.change"),
    "enrollment:household_detail": Rule("enrollment.view", pk("household"), "township"),
    "enrollment:household_edit": Rule("enrollment.change", pk("household"), "township"),
    "enrollment:member_add": Rule("enrollment.change", pk("household"), "township"),
    "enrollment:member_edit": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:enrollment_record": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:member_leave": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:member_reinstate": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:member_move": Rule("enrollment.change", pk("member"), "township"),
    "enrollment:newborn_add": Rule("enrollment.change", pk("household"), "township"),
    "enrollment:household_pay": Rule("enrollment.change", pk("household"), "township"),
    "enrollment:contribution_void": Rule("fund.void_contribution",
                                         lambda world, place: {"pk": place.member.enrollments.get().pk}, "township"),
    "enrollment:household_card_pdf": Rule("enrollment.view", pk("household"), "township"),
    "enrollment:roster_import": Rule("enrollment.import"),
    "enrollment:roster_template": Rule("enrollment.import", lambda world, place: {"fmt": "xlsx"}),
    "enrollment:roster_import_detail": Rule("enrollment.import", pk("import_job"), "township"),
    "enrollment:roster_import_progress": Rule("enrollment.import", pk("import_job"), "township"),
    "enrollment:roster_export": Rule("enrollment.export"),
    "enrollment:enrollment_export": Rule("enrollment.export"),
    "enrollment:exports": Rule("enrollment.export"),
    "enrollment:export_job_detail": Rule("enrollment.export", pk("export_job"), "township"),
    "enrollment:export_job_progress": Rule("enrollment.export", pk("export_job"), "township"),
    "enrollment:export_job_download": Rule("enrollment.export", pk("export_job"), "township"),
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
    "oversight:inspection_recover": post_only("claims.recover", pk("inspection"), "facility"),
    "oversight:inspection_document_download": Rule("facilities.view_own", pk("inspection_document"), "facility"),
    "oversight:scorecard": Rule("facilities.view_own", pk("facility"), "facility"),
    "oversight:scorecard_xlsx": Rule("facilities.view_own", pk("facility"), "facility"),
    "oversight:ranking": Rule("facilities.view"),
    # claims
    "claims:claim_list": Rule("claims.view"),
    "claims:bulk_approve": post_only("claims.bulk_approve"),
    "claims:claim_create": Rule("claims.entry"),
    "claims:member_lookup": Rule("claims.entry", query="q=420"),
    "claims:claim_quote_preview": post_only("claims.entry"),
    "claims:claim_detail": Rule("claims.view", pk("claim"), "claim"),
    "claims:claim_review": post_only("claims.review", pk("claim"), "claim"),
    "claims:claim_approve": post_only("claims.approve", pk("claim"), "claim"),
    "claims:claim_return": post_only("claims.return", pk("claim"), "claim"),
    "claims:claim_reject": post_only("claims.reject", pk("claim"), "claim"),
    "claims:claim_recover": post_only("claims.recover", pk("claim"), "claim"),
    "claims:claim_resubmit": post_only("claims.enter", pk("claim"), "claim"),
    # the walk's claim is submitted, not returned: the correction page sends the clerk back to it
    "claims:claim_correct": Rule("claims.enter", pk("claim"), "claim", ok=302),
    "claims:claim_correct_quote": post_only("claims.enter", pk("claim"), "claim"),
    "claims:document_upload": post_only("claims.enter", pk("claim"), "claim"),
    "claims:claim_slip_pdf": Rule("claims.view", pk("claim"), "claim"),
    "claims:document_download": Rule("claims.view", pk("document"), "claim"),
    "claims:policy_detail": Rule("policy.view"),
    # referral records: a clerk's own township's members, or from or to their facility
    "claims:referral_list": Rule("referrals.view"),
    "claims:referral_create": Rule("referrals.issue"),
    "claims:referral_detail": Rule("referrals.view", pk("referral"), "claim"),
    "claims:referral_cancel": post_only("referrals.issue", pk("referral"), "claim"),
    # the fund and its monthly report
    # the dashboard opened on a township's villages: a township clerk reaches only their own
    "fund_report:dashboard": Rule("fund.report", lambda world, place: (
        f"{reverse('fund_report:dashboard')}?year=2026&month=3&township={place.township.code}"), "township"),
    "fund_report:download": Rule("fund.report", lambda world, place: {"fmt": "json"}, query="year=2026&month=3"),
    "fund_report:store": post_only("fund.report_store", checked_first=False),
    "fund_report:stored": Rule("fund.report_stored", lambda world, place: {"pk": world.fund_report.pk}, "county"),
    "fund:ledger": Rule("fund.view"),
    "fund:income_create": Rule("fund.income"),
    "fund:transfer_create": Rule("fund.transfer"),
    "fund:payout_queue": Rule("fund.pay"),
    "fund:payout_pay": post_only("fund.pay"),
    # the payment file of a batch names its claims in the query (filled per place by _url)
    "fund:bank_file": Rule("fund.pay", scope="claim"),
    "fund:reconciliation": Rule("fund.view"),
    # facilities' monthly statements (fund.views_statements): April 2026 holds each place's facility_claim
    "fund:statements": Rule("fund.statements", query="year=2026&month=4"),
    "fund:statement_bank_file": Rule("fund.statements", query="year=2026&month=4"),
    "fund:statement_detail": Rule("fund.statements", statement_month, "facility"),
    "fund:statement_pay": post_only("fund.pay", statement_month, "facility"),
    "fund:statement_pdf": Rule("fund.statements", statement_month, "facility"),
    # a facility clerk's own statements: another facility's code is not found
    "facility_statements:statements": Rule("statements.view_own"),
    "facility_statements:statement_detail": Rule("statements.view_own", statement_month, "facility"),
    "facility_statements:statement_pdf": Rule("statements.view_own", statement_month, "facility"),
    "fund:recovery_list": Rule("fund.view"),
    "fund:refund_create": post_only("fund.refund", lambda world, place: {"pk": world.recovery.pk}, "county"),
    # policy simulation (fund.views_simulation): the auditor reads, the fund officer saves, runs, adopts
    "fund:simulation_list": Rule("fund.simulate_view"),
    "fund:simulation_new": Rule("fund.simulate"),
    "fund:simulation_new_file": Rule("fund.simulate"),
    "fund:simulation_edit": Rule("fund.simulate", draft_pk, "county"),
    "fund:simulation_compare": Rule("fund.simulate_view", compare_path("fund:simulation_compare")),
    "fund:simulation_compare_xlsx": Rule("fund.simulate_view", compare_path("fund:simulation_compare_xlsx")),
    "fund:simulation_compare_pdf": Rule("fund.simulate_view", compare_path("fund:simulation_compare_pdf")),
    "fund:simulation_draft": Rule("fund.simulate_view", draft_pk, "county"),
    "fund:simulation_run": post_only("fund.simulate", draft_pk, "county"),
    "fund:simulation_adopt": post_only("fund.adopt_policy", draft_pk, "county"),
    "fund:simulation_progress": Rule("fund.simulate_view", run_pk, "county"),
    "fund:simulation_cancel": post_only("fund.simulate", run_pk, "county"),
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
    "publicity:policy_page": Rule(PUBLIC, anonymous=200),
    "publicity:policy_leaflet": Rule(PUBLIC, anonymous=200),
    # the queue of objections and reports (a township clerk's: those of the township)
    "publicity_staff:case_list": Rule("publicity.view"),
    "publicity_staff:case_detail": Rule("publicity.view", lambda world, place: {"kind": "objection",
                                                                                 "pk": world.objection.pk}, "county"),
    "publicity_staff:case_recover": post_only("claims.recover", lambda world, place: {
        "kind": "objection", "pk": world.objection.pk}, "county"),
    "publicity_staff:case_action": post_only("publicity.handle", lambda world, place: {
        "kind": "report", "pk": world.report.pk}, "county", checked_first=False),
    # the township's answer (the walk's cases are of the own township: its clerk reaches them)
    "publicity_staff:case_answer": post_only("publicity.answer", lambda world, place: {
        "kind": "objection", "pk": world.objection.pk}, "county", checked_first=False),
    # the months' notices (a township clerk's villages only); the county posts a month
    "publicity_staff:notice_months": Rule("publicity.view"),
    "publicity_staff:notice_post": post_only("publicity.handle", checked_first=False),
    # the REST API (claims.api): token or session; 401 without either; OpenAPI document and its pages
    # for logged-in users only (tests/claims/test_api.py)
    "api:quote": Rule("api.settle", anonymous=401, every_role=403),  # POST only: GET has no capability
    "api:claims": Rule("api.claims_view", anonymous=401),
    "api:claim": Rule("api.claims_view", pk("claim"), "claim", anonymous=401),
    "fund_api:statements": Rule("api.statements_view", anonymous=401),
    "api:member": Rule("api.members_view", lambda world, place: {"id_number": place.member.id_number},
                       "county", anonymous=401),
    # the OpenAPI document and its pages: public, like /public/ (they hold no data)
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
    if user.role == Role.TOWNSHIP_CLERK:  # the place's facility is located in its township
        return scope in ("township", "claim", "facility")
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


