"""A contribution is the year's policy amount and needs the year's policy loaded: the enrollment
tests run with the contract's example policy (individual 380.00) loaded for the years they record
contributions in. A test about a year without a policy deletes it."""
import pytest
from django.utils import timezone

from tests.factories import PolicyVersionFactory

POLICY_YEARS = (2025, 2026, 2027)


@pytest.fixture(autouse=True)
def policies(request):
    """The example policy for 2025–2027 and the current year, for tests that use the database."""
    names = set(request.fixturenames)
    if not names & {"db", "transactional_db"} and request.node.get_closest_marker("django_db") is None:
        return []
    request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    years = sorted(set(POLICY_YEARS) | {timezone.localdate().year})
    return [PolicyVersionFactory(year=year) for year in years]
