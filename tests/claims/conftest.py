"""Fixtures of the claims tests: the contract's example policy, facilities, enrolled members."""
import copy
import json
from datetime import date
from pathlib import Path

import pytest

from accounts.models import Role
from claims.eligibility import parse_facts
from claims.models import RejectionReason
from facilities.models import Level
from policy.services import policy_load
from tests.factories import EnrollmentFactory, FacilityFactory, HouseholdFactory, MemberFactory

FIXTURE = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "policy-2026.json"
POLICY_DOCUMENT = json.loads(FIXTURE.read_text(encoding="utf-8"))


def policy_document(**changes) -> dict:
    document = copy.deepcopy(POLICY_DOCUMENT)
    document.update(changes)
    return document


@pytest.fixture
def policy(db):
    return policy_load(data=policy_document())


@pytest.fixture
def small_cap_policy(db):
    """The example policy with an annual cap of 1000.00, so a few claims reach it."""
    return policy_load(data=policy_document(annual_cap="1000.00"))


@pytest.fixture
def county_facility(township):
    return FacilityFactory(code="F002", name="县人民医院", level=Level.COUNTY, township=township)


@pytest.fixture
def member(village):
    person = MemberFactory(household=HouseholdFactory(village=village), name="王小明")
    EnrollmentFactory(member=person, year=2026)
    return person


@pytest.fixture
def other_member(other_village):
    person = MemberFactory(household=HouseholdFactory(village=other_village), name="李大山")
    EnrollmentFactory(member=person, year=2026)
    return person


@pytest.fixture
def facility_clerk(make_user, facility):
    return make_user(Role.FACILITY_CLERK, facility=facility, username="fclerk")


@pytest.fixture
def reviewer(make_user):
    return make_user(Role.REVIEWER, username="reviewer")


@pytest.fixture
def approver(make_user):
    return make_user(Role.APPROVER, username="approver")


@pytest.fixture
def reason(db):
    # get_or_create: a transactional test before this one may have flushed the seeded list
    found, _ = RejectionReason.objects.get_or_create(code="documents_missing", defaults={"text": "材料不全"})
    return found


def line(member=None, **changes) -> dict:
    """A contract input line: 1100.00 at F001 (township level) of which 100.00 outside the catalogue."""
    data = {
        "ref": "r1", "id_number": member.id_number if member is not None else "420102199001011234",
        "facility": "F001", "invoice_no": "F001-2026-000001",
        "admission_date": "2026-03-01", "discharge_date": "2026-03-08", "total_cost": "1100.00",
        "non_reimbursable_cost": "100.00", "referred": False, "diagnosis": "J18.9", "delivery": None,
    }
    data.update(changes)
    return data


def facts(member=None, **changes):
    return parse_facts(line(member, **changes))


TODAY = date(2026, 3, 20)
