"""Fixtures of the security tests: the claims fixtures (policy, enrolled members, roles)."""
from tests.claims.conftest import approver, county_facility, facility_clerk, member, other_member, policy, reviewer  # noqa: F401
