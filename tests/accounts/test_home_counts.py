"""The home page says how much waits behind each tile: the reviewer's submitted claims, the
approver's reviewed ones, the cashier's payouts, the claims returned to the clerk."""
import pytest

from accounts.models import Role
from tests.factories import ClaimFactory


@pytest.mark.parametrize("role,status,tile", [
    (Role.REVIEWER, "submitted", "claims:claim_list"),
    (Role.APPROVER, "reviewed", "claims:claim_list"),
    (Role.TOWNSHIP_CLERK, "returned", "claims:claim_list"),
    (Role.CASHIER, "approved", "fund:payout_queue"),
])
def test_each_role_sees_what_waits_for_it(client, make_user, township, village, role, status, tile):
    from tests.factories import HouseholdFactory, MemberFactory

    for _ in range(3):
        ClaimFactory(member=MemberFactory(household=HouseholdFactory(village=village)), status=status)
    ClaimFactory(member=MemberFactory(household=HouseholdFactory(village=village)), status="rejected")
    user = make_user(role, township=township if role == Role.TOWNSHIP_CLERK else None, username=f"home-{role}")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert f'data-tile="{tile}">待办 3 件' in page
