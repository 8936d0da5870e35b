"""What each role may do: one table, read by views, API permissions and templates.

Where a role may act (which township, which facility) is the business of accounts.scoping.
"""
from functools import wraps

from django.core.exceptions import PermissionDenied

from .models import Role

COUNTY_ROLES = frozenset(
    {Role.REVIEWER, Role.APPROVER, Role.CASHIER, Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR}
)
ALL_STAFF = COUNTY_ROLES | {Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK}

CAPABILITIES: dict[str, frozenset[str]] = {
    # households, members, enrollments
    "enrollment.view": COUNTY_ROLES | {Role.TOWNSHIP_CLERK},
    "enrollment.change": frozenset({Role.TOWNSHIP_CLERK, Role.ADMINISTRATOR}),
    "enrollment.import": frozenset({Role.TOWNSHIP_CLERK, Role.ADMINISTRATOR}),
    "enrollment.export": COUNTY_ROLES | {Role.TOWNSHIP_CLERK},
    "participation.view": COUNTY_ROLES | {Role.TOWNSHIP_CLERK},
    # designated facilities registry: the list and the ranking; a township clerk reaches the
    # facilities located in their township (scoping), not the others
    "facilities.view": COUNTY_ROLES | {Role.TOWNSHIP_CLERK},
    # a facility's own page, scorecard and inspections (read): county roles any facility, a
    # township clerk those located in their township, a facility clerk only their own (scoping)
    "facilities.view_own": COUNTY_ROLES | {Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK},
    "facilities.change": frozenset({Role.FUND_OFFICER, Role.ADMINISTRATOR}),
    # recording inspections of a facility (findings, penalty, documents)
    "facilities.inspect": frozenset({Role.FUND_OFFICER, Role.REVIEWER, Role.ADMINISTRATOR}),
    # REST API /api/v1/ (claims.api): a facility clerk quotes and settles for their facility;
    # county roles read every claim; member lookups for both (not township clerks)
    "api.settle": frozenset({Role.FACILITY_CLERK}),
    "api.claims_view": COUNTY_ROLES | {Role.FACILITY_CLERK},
    "api.members_view": COUNTY_ROLES | {Role.FACILITY_CLERK},
    # /api/v1/statements/ (fund.api): a facility clerk their own facility's statements, the fund's
    # roles ("fund.statements") every facility's
    "api.statements_view": frozenset({Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR, Role.CASHIER,
                                      Role.FACILITY_CLERK}),
    # claims pages (claims.views); which claims a user reaches is Claim.objects.for_user
    "claims.view": COUNTY_ROLES | {Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK},
    "claims.enter": frozenset({Role.TOWNSHIP_CLERK}),
    # the entry page: the township office enters claims with invoices, a facility settles a
    # discharge at its own desk (即时结报); the page is the same, the desk decides the channel
    "claims.entry": frozenset({Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK}),
    "claims.review": frozenset({Role.REVIEWER}),
    "claims.approve": frozenset({Role.APPROVER}),
    "claims.bulk_approve": frozenset({Role.APPROVER}),
    "claims.return": frozenset({Role.REVIEWER, Role.APPROVER}),
    "claims.reject": frozenset({Role.REVIEWER, Role.APPROVER}),
    # recoveries (追回) of paid claims: the reviewer or the fund officer records them
    "claims.recover": frozenset({Role.REVIEWER, Role.FUND_OFFICER}),
    # referral records (转诊单, claims.views_referral): read by whoever decides on claims, issued and
    # cancelled by a facility (from itself) or the township office (for its members); which ones a
    # user reaches is Referral.objects.for_user
    "referrals.view": (COUNTY_ROLES - {Role.CASHIER}) | {Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK},
    "referrals.issue": frozenset({Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK}),
    # the scheme year's compensation policy, read-only (claims.views_policy)
    "policy.view": ALL_STAFF,
    # the fund's ledger (fund.views): reading it, booking income, transfers, paying claims
    "fund.view": frozenset({Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR, Role.CASHIER}),
    "fund.income": frozenset({Role.FUND_OFFICER}),
    "fund.transfer": frozenset({Role.FUND_OFFICER}),
    # voiding a mistaken contribution (a reversing entry of the individual income)
    "fund.void_contribution": frozenset({Role.FUND_OFFICER}),
    "fund.pay": frozenset({Role.CASHIER}),
    # facilities' monthly settlement statements (结算单): read by the fund's roles, paid by the cashier
    "fund.statements": frozenset({Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR, Role.CASHIER}),
    # a facility clerk reads their own facility's statements
    "statements.view_own": frozenset({Role.FACILITY_CLERK}),
    # a household's refund of a recovered township-channel claim: the fund officer records it
    "fund.refund": frozenset({Role.FUND_OFFICER}),
    # the monthly fund report (fund.views_report): the dashboard and its downloads; a township
    # clerk reads their own township's row, its villages and its warnings, never the county's
    "fund.report": frozenset({Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR, Role.TOWNSHIP_CLERK}),
    # the stored versions hold the whole county: county roles read them, two of them store them
    "fund.report_stored": frozenset({Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR}),
    "fund.report_store": frozenset({Role.FUND_OFFICER, Role.ADMINISTRATOR}),
    # policy simulation (fund.views_simulation): drafts valued against a year's claims; the auditor
    # reads them, the fund officer saves and runs them and adopts one as a year's policy
    "fund.simulate_view": frozenset({Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR}),
    "fund.simulate": frozenset({Role.FUND_OFFICER, Role.ADMINISTRATOR}),
    "fund.adopt_policy": frozenset({Role.FUND_OFFICER}),
    # publicity (publicity.views_staff): the queue of villagers' objections and reports and the
    # months' notices; a township clerk reads those of the township (scoping) and answers them,
    # the county handles them (investigates, resolves) and posts a month's notices
    "publicity.view": COUNTY_ROLES | {Role.TOWNSHIP_CLERK},
    "publicity.answer": frozenset({Role.TOWNSHIP_CLERK}),
    "publicity.handle": frozenset({Role.FUND_OFFICER, Role.REVIEWER, Role.ADMINISTRATOR}),
    # operations (config.ops): the background queue, workers and import jobs; the county office
    # (fund officer), the system administrator and the auditor, who reads everything
    "ops.view": frozenset({Role.ADMINISTRATOR, Role.FUND_OFFICER, Role.AUDITOR}),
}


def user_can(user, capability: str) -> bool:
    """True when the user's role carries the capability (superusers carry all). A capability says
    what a role may do, never that one person may take two steps of the same claim: the services
    refuse a claim's approval to its reviewer and its payout to its approver, superusers included
    (`claims.workflow.check_not_reviewer`, `check_not_approver`)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.role in CAPABILITIES[capability]


def capability_required(capability: str):
    """View decorator: 403 unless the logged-in user's role carries the capability."""
    if capability not in CAPABILITIES:
        raise KeyError(capability)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not user_can(request.user, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
