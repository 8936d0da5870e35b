"""Fixtures of the security tests: the claims fixtures (policy, enrolled members, roles)."""
from tests.claims.conftest import (approver, county_facility, facility_clerk, member,  # noqa: F401
                                   other_member, policy, reviewer)
