"""Entering a claim and valuing it against the database: the township office's `claim_submit`, the
facility's instant settlement at discharge `claim_settle` (idempotent by invoice), the corrected
claim's `claim_resubmit`, and `claim_quote` and `claim_requote`, which value without writing. The checks are the
contract's refusals (docs/contract.md, "quote_claims lines"; `claims.eligibility`), the
valuation its six steps (docs/contract.md, "Policy file"; `claims.rules`), under the member's cap
lock (`claims.cap`).

A settlement is kept to few SQL statements (tests/claims/test_services.py counts them): the member
is read with their enrolment in the year (its paid date: when cover starts) and the key of the
year's policy (`claims.lookups`), the parsed policy is kept per process by that key, the facility
comes with the API user, the existing-claim lookup of the invoice serves both idempotency and the
duplicate check, the cap's new `used` is the sum of the stays already read under the lock plus
this claim, and the (facility, invoice) uniqueness race is mapped to `duplicate_invoice` where the
transaction ends instead of under a savepoint.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Role
from core.errors import NcmsError
from core.money import ZERO, parse_money
from policy.models import PolicyVersion

from . import lookups, rules
from .cap import lock_cap, refresh_cap
from .eligibility import ClaimFacts, Stay, check_claim, used_in_year, value_facts
from .lookups import MemberOfYear
from .models import Channel, Claim, ClaimStatus, CostCategory, CostLine
from .workflow import ACTION_WORDS, claim_transition, lock_claim, record_event


@dataclass(frozen=True)
class Quote:
    """A valuation without a claim: the figures a clerk or facility sees before submitting."""

    facts: ClaimFacts
    valuation: rules.Valuation

    @property
    def compensation(self) -> Decimal:
        return self.valuation.compensation

    @property
    def patient_pays(self) -> Decimal:
        return self.valuation.patient_pays

    def as_contract(self, ref=None) -> dict:
        """The contract's output line (`claims.rules.quote_line`)."""
        return rules.quote_line(ref, self.valuation)


@dataclass(frozen=True)
class _Checked:
    """A claim that passed every check, valued: what `_apply` writes onto the claim."""

    facts: ClaimFacts
    member: MemberOfYear
    facility: object
    policy_version: PolicyVersion
    valuation: rules.Valuation
    stays: list[Stay]
    referral_id: int | None = None  # the referral record named by the facts, checked to cover the stay


def _check_and_value(*, facts: ClaimFacts, channel: str, member: MemberOfYear | None, facility,
                     used_extra: Decimal = ZERO, exclude_claim: int | None = None,
                     submitted_on: date | None = None, invoice_taken: bool | None = None) -> _Checked:
    """Run the contract's checks against the database and value the claim (no writes).

    `member` is the member of the facts' year (None: unknown), `facility` the facts' facility
    (None: unknown); `invoice_taken` when the caller has already looked the invoice up."""
    year = facts.year
    if member is not None:
        version = lookups.policy_version(member.policy_key)
    else:
        # an unknown member: the year's policy still decides between `no_policy` and `unknown_member`
        version = lookups.year_policy(year)
    facility_info = lookups.facility_info(facility) if facility is not None else None
    stays = lookups.stays(member.info.id, exclude_claim=exclude_claim) if member is not None else []
    if invoice_taken is None:
        invoice_taken = facility is not None and lookups.invoice_taken(facility.pk, facts.invoice_no,
                                                                       exclude_claim=exclude_claim)
    # one more statement only when the facts name a referral record
    referral = lookups.referral(facts.referral_no) if facts.referral_no else None
    check_claim(
        facts=facts, year=None, policy=version.policy() if version else None, facility=facility_info,
        member=member.info if member is not None else None,
        paid_date=member.paid_date if member is not None else None, stays=stays, invoice_taken=invoice_taken,
        channel=channel, submitted_on=submitted_on, today=_today(), referral=referral,
    )
    valuation = value_facts(facts=facts, policy=version.policy(), facility=facility_info,
                            member=member.info, used=used_in_year(stays, year) + used_extra)
    return _Checked(facts=facts, member=member, facility=facility, policy_version=version,
                    valuation=valuation, stays=stays, referral_id=referral.id if referral is not None else None)


def _today() -> date:
    """Today in the county (Asia/Shanghai): the day a township-office claim is brought in, and
    the last day a claim may be discharged on."""
    return timezone.localdate()


def claim_quote(*, facts: ClaimFacts, used_extra: Decimal = ZERO, channel: str = Channel.FACILITY,
                facility=None) -> Quote:
    """Value a claim as it would be submitted now, writing nothing (the contract's checks and
    steps; `used_extra` adds cap already taken elsewhere, e.g. earlier lines of a batch).
    `facility`: the facility object when the caller already has it (its code must be the facts')."""
    today = _today() if channel == Channel.TOWNSHIP else None
    if facility is None or facility.code != facts.facility:
        facility = lookups.facility_by_code(facts.facility)
    checked = _check_and_value(facts=facts, channel=channel, member=lookups.member_of_year(facts.id_number, facts.year),
                               facility=facility, used_extra=used_extra, submitted_on=today)
    return Quote(facts=facts, valuation=checked.valuation)


def claim_requote(*, claim: Claim, facts: ClaimFacts) -> Quote:
    """Value a returned claim's correction as `claim_resubmit` would, writing nothing: the claim's
    own member, facility and channel, the claim itself left out of the stays and invoices."""
    member = lookups.member_of_year(facts.id_number, facts.year)
    checked = _check_and_value(facts=facts, channel=claim.channel, exclude_claim=claim.pk,
                               member=member, facility=claim.facility)
    return Quote(facts=facts, valuation=checked.valuation)


def _check_scope(*, user, member: MemberOfYear, facility, channel: str) -> None:
    """A township clerk enters claims of their township's members only, a facility clerk settles
    at their own facility only (`out_of_scope`)."""
    role = getattr(user, "role", None)
    if user is None or user.is_superuser:
        return
    if role == Role.TOWNSHIP_CLERK and member.township_id != user.township_id:
        raise NcmsError("该参合人员不属于本乡镇，不能在此报销", code="out_of_scope")
    if role == Role.FACILITY_CLERK and (channel != Channel.FACILITY or facility.pk != user.facility_id):
        raise NcmsError("只能结算本机构的住院费用", code="out_of_scope")


def _clean_cost_lines(cost_lines, facts: ClaimFacts) -> list[CostLine]:
    """Cost lines by category; when given they must add up to the total, and the lines outside
    the catalogue to the non-reimbursable cost, so the bill and the claim tell one story."""
    lines = []
    for index, raw in enumerate(cost_lines or [], start=1):
        category = raw.get("category")
        if category not in CostCategory.values:
            raise NcmsError(f"第{index}条费用明细的类别「{category}」无效", code="bad_amounts")
        try:
            amount = parse_money(raw.get("amount"))
        except ValueError as exc:
            raise NcmsError(f"第{index}条费用明细的金额「{raw.get('amount')}」：{exc}", code="bad_amounts") from None
        if amount < 0:
            raise NcmsError(f"第{index}条费用明细的金额不能为负数", code="bad_amounts")
        lines.append(CostLine(category=category, amount=amount, in_catalog=bool(raw.get("in_catalog", True))))
    if lines:
        total = sum((line.amount for line in lines), ZERO)
        outside = sum((line.amount for line in lines if not line.in_catalog), ZERO)
        if total != facts.total_cost:
            raise NcmsError(f"费用明细合计 {total} 与住院总费用 {facts.total_cost} 不符", code="bad_amounts")
        if outside != facts.non_reimbursable_cost:
            raise NcmsError(f"目录外费用明细合计 {outside} 与目录外费用 {facts.non_reimbursable_cost} 不符",
                            code="bad_amounts")
    return lines


def _apply(claim: Claim, checked: _Checked) -> None:
    facts, valuation, version = checked.facts, checked.valuation, checked.policy_version
    claim.member = checked.member.member
    claim.facility = checked.facility
    claim.year = facts.year
    claim.invoice_no = facts.invoice_no or ""
    claim.admission_date = facts.admission_date
    claim.discharge_date = facts.discharge_date
    claim.diagnosis_code = facts.diagnosis
    claim.diagnosis_text = facts.diagnosis_text
    claim.total_cost = facts.total_cost
    claim.non_reimbursable_cost = facts.non_reimbursable_cost
    claim.reimbursable_cost = valuation.reimbursable
    claim.compensation = valuation.compensation
    claim.patient_pays = valuation.patient_pays
    # a claim resting on a referral record counts as referred; without one the flag is as given
    claim.referral_id = checked.referral_id
    claim.referred = facts.referred or checked.referral_id is not None
    claim.delivery = facts.delivery
    claim.rule = valuation.rule
    claim.breakdown = rules.stored_breakdown(valuation)
    claim.policy = version
    claim.policy_revision = version.revision


def _line_key(line: CostLine) -> tuple:
    return (line.category, line.amount, bool(line.in_catalog))


def _same_facts(claim: Claim, facts: ClaimFacts, *, facility, lines: list[CostLine],
                stored_lines: list[CostLine]) -> bool:
    """Whether a retried settlement states every fact of the claim settled first: member,
    facility, stay, diagnosis, amounts, referral, delivery and the cost lines (in any order)."""
    return (claim.member.id_number == facts.id_number and claim.facility_id == facility.pk
            and claim.admission_date == facts.admission_date
            and claim.discharge_date == facts.discharge_date and claim.total_cost == facts.total_cost
            and claim.non_reimbursable_cost == facts.non_reimbursable_cost
            and claim.referred == (facts.referred or bool(facts.referral_no))
            and _same_referral(claim, facts.referral_no) and (claim.delivery or None) == facts.delivery
            and claim.diagnosis_code == facts.diagnosis and claim.diagnosis_text == facts.diagnosis_text
            and sorted(map(_line_key, lines)) == sorted(map(_line_key, stored_lines)))


def _same_referral(claim: Claim, number: str | None) -> bool:
    """Whether the claim rests on the referral record of this number (none: on none)."""
    if claim.referral_id is None or not number:
        return claim.referral_id is None and not number
    return claim.referral.number == number


def _with_cost_lines(claim: Claim, lines: list[CostLine]) -> Claim:
    """Hand the claim back with its cost lines in the prefetch cache (`claim.cost_lines.all()`
    answers without a query), as `prefetch_related` would have left them."""
    rows = CostLine.objects.filter(claim=claim)
    rows._result_cache, rows._prefetch_done = list(lines), True
    claim._prefetched_objects_cache = {"cost_lines": rows}
    return claim


def _is_invoice_conflict(error: IntegrityError) -> bool:
    """Whether an IntegrityError is the (facility, invoice) uniqueness of claims."""
    cause = error.__cause__
    name = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if name:
        return name == "one_claim_per_facility_invoice"
    text = str(error)
    table = Claim._meta.db_table
    return "one_claim_per_facility_invoice" in text or f"{table}.facility_id, {table}.invoice_no" in text


def _claim_create(*, user, facts: ClaimFacts, channel: str, cost_lines, member, facility,
                  idempotent: bool, historical: bool = False) -> tuple[Claim, bool]:
    """`_claim_write` in its own transaction; a (facility, invoice) uniqueness violation that
    raced past the checks (another member's claim with this invoice committed between our check
    and our insert) rolls the whole transaction back and is refused as `duplicate_invoice`, so
    no savepoint is needed around the insert."""
    try:
        return _claim_write(user=user, facts=facts, channel=channel, cost_lines=cost_lines,
                            member=member, facility=facility, idempotent=idempotent, historical=historical)
    except IntegrityError as error:
        if not _is_invoice_conflict(error):
            raise
        raise NcmsError(f"发票号 {facts.invoice_no} 在 {facility.code} 已报销过", code="duplicate_invoice") from None


@transaction.atomic
def _claim_write(*, user, facts: ClaimFacts, channel: str, cost_lines, member, facility,
                 idempotent: bool, historical: bool = False) -> tuple[Claim, bool]:
    # The cap row's lock is the first thing taken: every later read (the member's other claims,
    # the invoice) sees what a concurrent settlement of the same member committed before us.
    if member is not None and 1 <= facts.year <= 9999:
        cap = lock_cap(member_id=member.info.id, year=facts.year)
    else:
        cap = None
    invoice_taken = None
    if facility is not None and facts.invoice_no:
        # one lookup of the invoice serves the retry (idempotent) and the duplicate check
        existing = None
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM claims_claim WHERE facility_id = %s AND invoice_no = %s",
                           [facility.pk, facts.invoice_no])
            found = cursor.fetchone()
        if found is not None:
            existing = Claim.objects.select_related("member", "facility", "policy").get(pk=found[0])
        invoice_taken = existing is not None
        if existing is not None and idempotent:
            lines = _clean_cost_lines(cost_lines, facts)
            stored = list(existing.cost_lines.all())
            if _same_facts(existing, facts, facility=facility, lines=lines, stored_lines=stored):
                return _with_cost_lines(existing, stored), False
            raise NcmsError(f"发票号 {facts.invoice_no} 在 {facility.code} 已结算过另一笔住院，不能重复报销",
                            code="duplicate_invoice")
    # the township office's deadline counts from today, except for history (import_claims)
    submitted_on = _today() if channel == Channel.TOWNSHIP and not historical else None
    checked = _check_and_value(facts=facts, channel=channel, submitted_on=submitted_on,
                               member=member, facility=facility, invoice_taken=invoice_taken)
    lines = _clean_cost_lines(cost_lines, facts)
    claim = Claim(channel=channel, status=ClaimStatus.SUBMITTED, submitted_by=user)
    _apply(claim, checked)
    # the township the member belongs to now, when the claim is made; kept if they move later
    claim.township_id = checked.member.township_id
    claim._history_user = user
    claim._change_reason = ACTION_WORDS["settle" if idempotent else "submit"]
    claim.save()
    for line in lines:
        line.claim = claim
    CostLine.objects.bulk_create(lines)
    record_event(claim=claim, action="settle" if idempotent else "submit", from_status="",
                 to_status=ClaimStatus.SUBMITTED, user=user)
    if cap is not None:
        # the stays were read under the cap lock: what they hold plus this claim is the truth
        refresh_cap(cap, used=used_in_year(checked.stays, facts.year) + claim.compensation)
    return _with_cost_lines(claim, lines), True


def _require_invoice(facts: ClaimFacts) -> None:
    if not facts.invoice_no:
        raise NcmsError("缺少发票号", code="bad_input")


def claim_submit(*, user, facts: ClaimFacts, channel: str = Channel.TOWNSHIP, cost_lines=(),
                 historical: bool = False) -> Claim:
    """Enter a claim (township office with invoices, or a facility), valued by its year's policy.
    `historical` (import_claims) enters a past claim: no submission deadline counted from today.

    Checks every refusal of the contract (plus `past_deadline` for the township office), locks the
    member's cap for the year, stores the facts, cost lines, the breakdown and the policy version
    and revision; status submitted; a `submit` event. Nothing is written on a refusal.
    """
    _require_invoice(facts)
    member = lookups.member_of_year(facts.id_number, facts.year)
    facility = lookups.facility_by_code(facts.facility)
    if member is not None and facility is not None:
        _check_scope(user=user, member=member, facility=facility, channel=channel)
    claim, _ = _claim_create(user=user, facts=facts, channel=channel, cost_lines=cost_lines,
                             member=member, facility=facility, idempotent=False, historical=historical)
    return claim


def _users_facility(user, code: str):
    """The facility of a facility user when it is the one named (the API's token authentication
    has already read it with the user), else None."""
    if not getattr(user, "facility_id", None):
        return None
    facility = user.facility
    return facility if facility.code == code else None


def claim_settle(*, user, facts: ClaimFacts, cost_lines=()) -> tuple[Claim, bool]:
    """Instant settlement at discharge (即时结报), idempotent by (facility, invoice number).

    Returns (claim, created). A retry with the same facts returns the claim settled the first
    time (created False), never a second one; the same invoice with other facts is refused
    (`duplicate_invoice`).
    """
    _require_invoice(facts)
    member = lookups.member_of_year(facts.id_number, facts.year)
    facility = _users_facility(user, facts.facility)
    if facility is None:
        facility = lookups.facility_by_code(facts.facility)
    if member is not None and facility is not None:
        _check_scope(user=user, member=member, facility=facility, channel=Channel.FACILITY)
    return _claim_create(user=user, facts=facts, channel=Channel.FACILITY, cost_lines=cost_lines,
                         member=member, facility=facility, idempotent=True)


@transaction.atomic
def claim_resubmit(*, user, claim: Claim, facts: ClaimFacts | None = None, cost_lines=None) -> Claim:
    """Resubmit a returned claim, corrected (`facts`, `cost_lines`) or not; it is checked and
    valued again by its year's current policy, under the member's cap lock. The member and the
    facility stay those of the claim."""
    current = Claim.objects.select_related("member", "facility").get(pk=claim.pk)
    if facts is None:
        facts = ClaimFacts(
            id_number=current.member.id_number, facility=current.facility.code,
            admission_date=current.admission_date, discharge_date=current.discharge_date,
            total_cost=current.total_cost, non_reimbursable_cost=current.non_reimbursable_cost,
            referred=current.referred, diagnosis=current.diagnosis_code,
            diagnosis_text=current.diagnosis_text, delivery=current.delivery or None,
            invoice_no=current.invoice_no,
            referral_no=current.referral.number if current.referral_id is not None else None,
        )
    if facts.id_number != current.member.id_number or facts.facility != current.facility.code:
        raise NcmsError("重新提交时不能更换参合人员或医疗机构，请另行申请", code="bad_input")
    _require_invoice(facts)
    years = sorted({current.year, facts.year})
    caps = [lock_cap(member_id=current.member_id, year=year) for year in years]
    locked = lock_claim(current)
    if locked.status != ClaimStatus.RETURNED:
        claim_transition(user=user, claim=locked, action="resubmit")  # raises bad_transition
    member = lookups.member_of_year(facts.id_number, facts.year)
    if member is not None:
        member = replace(member, member=current.member)  # the claim's own member, fully loaded
    checked = _check_and_value(facts=facts, channel=locked.channel, exclude_claim=locked.pk,
                               member=member, facility=current.facility)
    _apply(locked, checked)
    locked._history_user = user
    locked.save()
    if cost_lines is not None:
        lines = _clean_cost_lines(cost_lines, facts)
        locked.cost_lines.all().delete()
        for line in lines:
            line.claim = locked
        CostLine.objects.bulk_create(lines)
    claim_transition(user=user, claim=locked, action="resubmit")
    for cap in caps:
        refresh_cap(cap)
    return locked
