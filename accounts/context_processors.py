from django.conf import settings

from .roles import user_can


def navigation(request):
    """Flags for the navigation bar, from the one capability table."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"county_name": settings.COUNTY_NAME}
    return {
        "county_name": settings.COUNTY_NAME,
        "nav": {
            "enrollment": user_can(user, "enrollment.view"),
            "enrollment_change": user_can(user, "enrollment.change"),
            "import": user_can(user, "enrollment.import"),
            "export": user_can(user, "enrollment.export"),
            "participation": user_can(user, "participation.view"),
            "facilities": user_can(user, "facilities.view"),
            "claims": user_can(user, "claims.view"),
            "claims_enter": user_can(user, "claims.entry"),
            "claims_settle": user_can(user, "claims.entry") and not user_can(user, "claims.enter"),
            "policy": user_can(user, "policy.view"),
            "referrals": user_can(user, "referrals.view"),
            "fund_report": user_can(user, "fund.report"),
            "admin": user.is_staff,
        },
    }
