"""What the database knows about one claim, read for its checks and its valuation (docs/contract.md,
"quote_claims lines": the member enrolled for the year of discharge, the facility designated
and not suspended, the member's other stays and what they hold of the annual cap, the invoice not
claimed before, the year's policy).

Each read returns a typed, read-only record (`MemberOfYear`, `PolicyKey`, and the records of
`claims.eligibility`: `FacilityInfo`, `Stay`), never attributes added to a model instance. These
are the reads of a single claim (a settlement, a township-office entry, a quote over the API);
`claims.quoting` reads the same facts in bulk for thousands of lines at once.

A settlement is kept to few SQL statements (tests/claims/test_services.py counts them): the member
(with their birth date) comes with their enrolment of the year (the day it was paid, for when
cover starts), their township and the key of the year's policy in one hand-written statement,
and the parsed policy is kept per process by that key.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from django.db import connection
from django.db.models import Q

from enrollment.models import Member, MemberStatus
from facilities.models import Facility
from policy.models import PolicyVersion

from .eligibility import EMERGENCY_FILING_DAYS, FacilityInfo, MemberInfo, ReferralInfo, Stay, past_periods
from .models import Claim, ClaimStatus, Recovery, Referral

if TYPE_CHECKING:
    from enrollment.models import Member

# The member's own columns (in the model's field order, the others are loaded only if read), their
# township, and the year's enrolment (its paid date) and policy key. Hand-written: compiling the
# equivalent ORM query with its subqueries costs more CPU than the round trip.
MEMBER_SQL = """
SELECT m.id, m.household_id, m.name, m.id_number, m.birth_date, m.category, m.status, m.status_date,
       v.township_id,
       (SELECT e.paid_date FROM enrollment_enrollment e WHERE e.member_id = m.id AND e.year = %s),
       (SELECT p.id FROM claims_policyversion p WHERE p.year = %s),
       (SELECT p.revision FROM claims_policyversion p WHERE p.year = %s),
       (SELECT p.loaded_at FROM claims_policyversion p WHERE p.year = %s)
  FROM enrollment_member m
  JOIN enrollment_household h ON h.id = m.household_id
  JOIN enrollment_village v ON v.id = h.village_id
 WHERE m.id_number = %s
"""
MEMBER_COLUMNS = ("id", "household_id", "name", "id_number", "birth_date", "category", "status", "status_date")


class PolicyKey(NamedTuple):
    """Which policy document a year has: a replacement changes the revision and the load time.

    `loaded_at` is as the database returned it (a datetime, or text on SQLite), only compared."""

    id: int
    year: int
    revision: int
    loaded_at: datetime | str


@dataclass(frozen=True, slots=True)
class MemberOfYear:
    """A member as a claim of scheme year `year` needs them.

    `member` is the model instance the claim points to (its other columns load when read);
    `township_id` the township they belong to now; `paid_date` the day their contribution for the
    year was paid (None: not enrolled); `policy_key` the year's policy, None when no policy is
    loaded for it.
    """

    member: Member
    info: MemberInfo
    year: int
    township_id: int
    paid_date: date | None
    policy_key: PolicyKey | None


def as_date(value) -> date | None:
    """A date column as the database returned it: SQLite gives text for a date computed by a
    subquery (no declared type to convert by)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def member_of_year(id_number: str, year: int) -> MemberOfYear | None:
    """The member with this ID number, for scheme year `year`, in one statement; None if unknown."""
    with connection.cursor() as cursor:
        cursor.execute(MEMBER_SQL, [year, year, year, year, id_number])
        row = cursor.fetchone()
    if row is None:
        return None
    own, (township_id, paid_date, policy_id, revision, loaded_at) = row[:8], row[8:]
    own = (*own[:4], as_date(own[4]), own[5], own[6], as_date(own[7]))
    member = Member.from_db(connection.alias, MEMBER_COLUMNS, own)
    key = None if policy_id is None else PolicyKey(policy_id, year, revision, loaded_at)
    info = MemberInfo(id=member.pk, category=member.category, name=member.name, birth_date=member.birth_date,
                      died_on=member.status_date if member.status == MemberStatus.DIED else None)
    return MemberOfYear(member=member, info=info, year=year, township_id=township_id,
                        paid_date=as_date(paid_date), policy_key=key)


# The year's policy as loaded, parsed once per process: keyed by `PolicyKey`, so a replacement (new
# revision, new loaded_at) is read afresh. Shared read-only instances.
_POLICY_CACHE: dict[PolicyKey, PolicyVersion] = {}


def policy_version(key: PolicyKey | None) -> PolicyVersion | None:
    """The policy of `key.year`, parsed (None when no policy is loaded). A version already parsed in
    this process is used without a query."""
    if key is None:
        return None
    cached = _POLICY_CACHE.get(key)
    if cached is not None:
        return cached
    version = PolicyVersion.objects.filter(year=key.year).first()
    if version is not None:
        version.policy()  # parse now, once for this process
        if len(_POLICY_CACHE) > 64:
            _POLICY_CACHE.clear()
        # kept under the key as the caller read it (a raw loaded_at may be text on SQLite), when it
        # is the version just read
        if (key.id, key.revision) == (version.pk, version.revision):
            _POLICY_CACHE[key] = version
    return version


def year_policy(year: int) -> PolicyVersion | None:
    """The policy of `year` read afresh, when no member's key says which it is."""
    return PolicyVersion.objects.filter(year=year).first()


def facility_by_code(code: str):
    """The facility with this code, None if unknown."""
    return Facility.objects.filter(code=code).first()


def facility_info(facility) -> FacilityInfo:
    """What the checks need of a facility: level, designation and suspensions."""
    return FacilityInfo(
        id=facility.pk, code=facility.code, level=facility.level, status=facility.status,
        agreement_start=facility.agreement_start, agreement_end=facility.agreement_end,
        suspended_from=facility.suspended_from, name=facility.name,
        suspension_reason=facility.suspension_reason,
        past_suspensions=past_periods(facility.past_suspensions),
    )


def stays(member_id: int, *, exclude_claim: int | None = None) -> list[Stay]:
    """The member's non-rejected claims (but `exclude_claim`): their stays and what they hold of
    the cap."""
    # Hand-written (as Claim.objects.holding_cap().filter(member_id=...)): the hot path of every
    # settlement; the model's converters still give dates and Decimals.
    # what a claim holds of the cap is its compensation less its recoveries (claims.models.Recovery)
    rows = Claim.objects.raw(
        "SELECT c.id, c.admission_date, c.discharge_date, c.year, c.facility_id, c.compensation - COALESCE("
        f"(SELECT SUM(r.amount) FROM {Recovery._meta.db_table} r WHERE r.claim_id = c.id), 0) AS compensation "
        "FROM claims_claim c WHERE c.member_id = %s AND c.status <> %s", [member_id, ClaimStatus.REJECTED])
    return [Stay(admission_date=row.admission_date, discharge_date=row.discharge_date, year=row.year,
                 compensation=row.compensation, claim_id=row.pk, facility_id=row.facility_id)
            for row in rows if row.pk != exclude_claim]


def invoice_taken(facility_id: int, invoice_no: str | None, *, exclude_claim: int | None = None) -> bool:
    """Whether the facility already has a claim (but `exclude_claim`) with this invoice number."""
    if not invoice_no:
        return False
    rows = Claim.objects.filter(facility_id=facility_id, invoice_no=invoice_no)
    if exclude_claim is not None:
        rows = rows.exclude(pk=exclude_claim)
    return rows.exists()


REFERRAL_COLUMNS = ("pk", "number", "member_id", "to_facility_id", "date", "emergency", "cancelled_at")


def _referral_info(row) -> ReferralInfo:
    pk, number, member_id, to_facility_id, day, emergency, cancelled_at = row
    return ReferralInfo(id=pk, number=number, member_id=member_id, to_facility_id=to_facility_id, date=day,
                        emergency=emergency, cancelled=cancelled_at is not None)


def referral(number: str | None) -> ReferralInfo | None:
    """The referral record with this number (cancelled or not), None if there is none."""
    if not number:
        return None
    row = Referral.objects.filter(number=number).values_list(*REFERRAL_COLUMNS).first()
    return _referral_info(row) if row is not None else None


def referrals(numbers) -> dict[str, ReferralInfo]:
    """The referral records of these numbers, by number (for a batch of lines)."""
    numbers = [number for number in set(numbers) if number]
    if not numbers:
        return {}
    return {row[1]: _referral_info(row)
            for row in Referral.objects.filter(number__in=numbers).values_list(*REFERRAL_COLUMNS)}


def covering_referral(*, member_id: int, facility_id: int, admission: date, discharge: date) -> str | None:
    """The number of a standing referral of the member to the facility that covers a stay from
    `admission` to `discharge` (`claims.eligibility.referral_problem`), the latest first; None if
    none does. The web desks name it on the claim instead of a ticked box."""
    return (Referral.objects.standing()
            .filter(member_id=member_id, to_facility_id=facility_id, date__lte=discharge)
            .filter(Q(date__lte=admission)
                    | Q(emergency=True, date__lte=admission + timedelta(days=EMERGENCY_FILING_DAYS)))
            .order_by("-date", "-id").values_list("number", flat=True).first())
