"""How much waits for the user, on the home page's tiles (a context processor of config, the top
layer: it reads the claims and the fund, which the accounts app below them cannot).

Each count is a URL name of a tile → the number of items waiting behind it for this user:
the reviewer's submitted claims, the approver's reviewed ones, the cashier's payouts, the claims
returned to the clerk who corrects them. Counted only for the home page."""
from accounts.models import Role
from claims.models import Claim, ClaimStatus
from fund.selectors import payout_queue

# the claims whose step is this role's
WAITING_FOR = {
    Role.REVIEWER: ClaimStatus.SUBMITTED,
    Role.APPROVER: ClaimStatus.REVIEWED,
    Role.TOWNSHIP_CLERK: ClaimStatus.RETURNED,
    Role.FACILITY_CLERK: ClaimStatus.RETURNED,
}


def work_counts(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path != "/":
        return {}
    counts = {}
    status = WAITING_FOR.get(user.role)
    if status is not None:
        counts["claims:claim_list"] = Claim.objects.for_user(user).filter(status=status).count()
    if user.role == Role.CASHIER:
        counts["fund:payout_queue"] = payout_queue(user=user).count()
    return {"work_counts": counts}
