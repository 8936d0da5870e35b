"""Writes of the claims app.

Claims: `claim_submit` (township office), `claim_settle` (facility, instant settlement at
discharge, idempotent by invoice), `claim_review`, `claim_approve`, `claims_bulk_approve`,
`claim_return`, `claim_resubmit`, `claim_reject`, `claim_document_add`; `claim_quote` values
without writing. Every status change goes through `_transition`, checked against `TRANSITIONS`,
under the claim's row lock, and leaves a `ClaimEvent` (who, when, from, to). `approved → paid`
belongs to the fund (`fund.services`, e.g. `claim_pay`): it calls `claim_transition` with
action "pay" inside its payout transaction.

The annual cap: every write that changes what a member holds against the cap of a year locks
that member's `MemberYearCap` row first (`_lock_cap`: one INSERT ... ON CONFLICT DO UPDATE ...
RETURNING, which creates the row when missing and row-locks it either way), and only then reads
what the member's claims already hold. Two settlements of the same member at the same instant
therefore run one after the other on PostgreSQL, and the second is capped by what the first took.

A settlement is kept to few SQL statements (tests/claims/test_services.py counts them): the
member is read with their enrolment in the year and the key of the year's policy (subqueries),
the parsed policy is kept per process by (pk, year, revision, loaded_at), the facility comes
with the API user, the existing-claim lookup of the invoice serves both idempotency and the
duplicate check, the cap's new `used` is the sum of the stays already read under the lock plus
this claim, and the (facility, invoice) uniqueness race is mapped to `duplicate_invoice` where
the transaction ends instead of under a savepoint.

`policy_load` implements the contract's `load_policy`: a scheme year's policy file is validated
whole (`claims.policy.parse_policy`) and then loads or replaces that year's policy in one
transaction, the history table keeping every earlier version with who loaded it and when.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from ncms.errors import NcmsError
from ncms.uploads import scan_content_type

from . import rules
from .policy import Policy, parse_policy
from .eligibility import (
    ClaimFacts,
    FacilityInfo,
    MemberInfo,
    Stay,
    check_claim,
    past_periods,
    stored_breakdown,
    used_in_year,
    value_facts,
)
from .models import (
    Channel,
    Claim,
    ClaimDocument,
    ClaimEvent,
    ClaimStatus,
    CostCategory,
    CostLine,
    MemberYearCap,
    PolicyVersion,
    RejectionReason,
)


def policy_load(*, data: dict, user=None) -> PolicyVersion:
    """Load the policy of `data["year"]`, or replace the one already loaded for that year.

    Raises `claims.policy.PolicyInvalid` listing every problem, having written nothing. Loading
    the very same document again changes nothing (no new revision). Claims already valued keep their
    stored breakdown and the revision they were valued with, so a replacement changes only
    claims valued after it.
    """
    # Validation is pure and comes first: a refused file never opens a transaction.
    policy = parse_policy(data)
    return _policy_store(policy=policy, data=data, user=user)


@transaction.atomic
def _policy_store(*, policy: Policy, data: dict, user) -> PolicyVersion:
    # Lock the year's row, so two loads of the same year run one after the other.
    current = PolicyVersion.objects.select_for_update().filter(year=policy.year).first()
    if current is not None and current.document == data:
        return current
    if current is None:
        version = PolicyVersion(year=policy.year, revision=1)
        reason = "载入"
    else:
        version = current
        version.revision = current.revision + 1
        reason = f"替换（第{version.revision}版）"
    version.name = policy.name
    version.document = data
    version.loaded_at = timezone.now()
    version.loaded_by = user
    version._history_user = user
    version._change_reason = reason
    version.save()
    return version


# =============================================================================================
# Claims

S = ClaimStatus
ZERO = Decimal("0")
DEFAULT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024

# The workflow (domain.md, Claims): action → (statuses it may start from, status it leads to).
# "pay" is the fund's (approved → paid); paid and rejected are final.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "review": (frozenset({S.SUBMITTED}), S.REVIEWED),
    "approve": (frozenset({S.REVIEWED}), S.APPROVED),
    "return": (frozenset({S.SUBMITTED, S.REVIEWED}), S.RETURNED),
    "reject": (frozenset({S.SUBMITTED, S.REVIEWED, S.RETURNED}), S.REJECTED),
    "resubmit": (frozenset({S.RETURNED}), S.SUBMITTED),
    "pay": (frozenset({S.APPROVED}), S.PAID),
}
ACTION_WORDS = {"submit": "提交", "settle": "即时结报", "review": "审核", "approve": "审批",
                "return": "退回修改", "reject": "不予补偿", "resubmit": "重新提交", "pay": "兑付"}


@dataclass(frozen=True)
class Quote:
    """A valuation without a claim: the figures a clerk or facility sees before submitting."""

    facts: ClaimFacts
    valuation: "rules.Valuation"

    @property
    def compensation(self) -> Decimal:
        return self.valuation.compensation

    @property
    def patient_pays(self) -> Decimal:
        return self.valuation.patient_pays

    def as_contract(self, ref=None) -> dict:
        return {"ref": ref, "ok": True, "compensation": rules.money_text(self.compensation),
                "patient_pays": rules.money_text(self.patient_pays),
                "breakdown": self.valuation.as_breakdown()}


# --- looking up what the database knows about one claim ---------------------------------------


def _member_info(id_number: str, year: int | None = None):
    """The member by ID number; with `year`, in the same query whether they are enrolled in that
    year and the key of that year's policy (read by `_check_and_value` instead of two queries)."""
    from enrollment.models import Member

    if year is None:
        member = (Member.objects.filter(id_number=id_number)
                  .select_related("household__village").first())
    else:
        # One hand-written statement (compiling the equivalent ORM query with its subqueries
        # costs more CPU than the round trip): the member's own columns, their township, and
        # the year's enrolment and policy key; the other columns are loaded only if read.
        member = next(iter(Member.objects.raw(_MEMBER_SQL, [year, year, year, year, id_number])), None)
        if member is not None:
            member.looked_up_year = year
            member.looked_up_enrolled = bool(member.looked_up_enrolled)
    if member is None:
        return None, None
    return member, MemberInfo(id=member.pk, category=member.category, name=member.name)


_MEMBER_SQL = """
SELECT m.id, m.household_id, m.name, m.id_number, m.category,
       v.township_id AS looked_up_township_id,
       EXISTS (SELECT 1 FROM enrollment_enrollment e WHERE e.member_id = m.id AND e.year = %s)
           AS looked_up_enrolled,
       (SELECT p.id FROM claims_policyversion p WHERE p.year = %s) AS looked_up_policy_id,
       (SELECT p.revision FROM claims_policyversion p WHERE p.year = %s) AS looked_up_policy_revision,
       (SELECT p.loaded_at FROM claims_policyversion p WHERE p.year = %s) AS looked_up_policy_loaded_at
  FROM enrollment_member m
  JOIN enrollment_household h ON h.id = m.household_id
  JOIN enrollment_village v ON v.id = h.village_id
 WHERE m.id_number = %s
"""


def _facility_record(facility) -> FacilityInfo:
    return FacilityInfo(
        id=facility.pk, code=facility.code, level=facility.level, status=facility.status,
        agreement_start=facility.agreement_start, agreement_end=facility.agreement_end,
        suspended_from=facility.suspended_from, name=facility.name,
        suspension_reason=facility.suspension_reason,
        past_suspensions=past_periods(facility.past_suspensions),
    )


def _facility_info(code: str):
    from facilities.models import Facility

    facility = Facility.objects.filter(code=code).first()
    if facility is None:
        return None, None
    return facility, _facility_record(facility)


def _stays(member_id: int, *, exclude_claim: int | None = None) -> list[Stay]:
    # Hand-written (as Claim.objects.holding_cap().filter(member_id=...)): the hot path of every
    # settlement; the model's converters still give dates and Decimals.
    rows = Claim.objects.raw(
        "SELECT id, admission_date, discharge_date, year, compensation FROM claims_claim "
        "WHERE member_id = %s AND status <> %s", [member_id, ClaimStatus.REJECTED])
    return [Stay(admission_date=row.admission_date, discharge_date=row.discharge_date, year=row.year,
                 compensation=row.compensation, claim_id=row.pk)
            for row in rows if row.pk != exclude_claim]


def _enrolled(member_id: int, year: int) -> bool:
    from enrollment.models import Enrollment

    return Enrollment.objects.filter(member_id=member_id, year=year).exists()


def _invoice_taken(facility_id: int, invoice_no: str | None, *, exclude_claim: int | None = None) -> bool:
    if not invoice_no:
        return False
    rows = Claim.objects.filter(facility_id=facility_id, invoice_no=invoice_no)
    if exclude_claim is not None:
        rows = rows.exclude(pk=exclude_claim)
    return rows.exists()


# The year's policy as loaded, parsed once per process: keyed by (pk, year, revision, loaded_at),
# so a replacement (new revision, new loaded_at) is read afresh. Shared read-only instances.
_POLICY_CACHE: dict[tuple, PolicyVersion] = {}


def _policy_key(version) -> tuple:
    return (version.pk, version.year, version.revision, version.loaded_at)


def _policy_version(year: int, *, key: tuple | None = None):
    """The policy of `year` (None when none is loaded). With `key` (from `_member_info`), a
    version already parsed in this process is used without a query."""
    if key is not None and key[0] is not None:
        cached = _POLICY_CACHE.get(key)
        if cached is not None:
            return cached
    version = PolicyVersion.objects.filter(year=year).first()
    if version is not None:
        version.policy()  # parse now, once for this process
        if len(_POLICY_CACHE) > 64:
            _POLICY_CACHE.clear()
        # keyed as the caller read the key (a raw loaded_at may be text on SQLite), when it is
        # the version just read
        if key is not None and (key[0], key[2]) == (version.pk, version.revision):
            _POLICY_CACHE[key] = version
    return version


def _looked_up(member, year: int) -> bool:
    """Whether `member` came from `_member_info(..., year)` with that year's annotations."""
    return member is not None and getattr(member, "looked_up_year", None) == year


@dataclass
class _Checked:
    facts: ClaimFacts
    member: object
    facility: object
    policy_version: PolicyVersion
    valuation: "rules.Valuation"
    stays: list[Stay]


def _check_and_value(*, facts: ClaimFacts, channel: str, used_extra: Decimal = ZERO,
                     exclude_claim: int | None = None, submitted_on: date | None = None,
                     member=None, facility=None, invoice_taken: bool | None = None) -> _Checked:
    """Run the contract's checks against the database and value the claim (no writes)."""
    year = facts.year
    if member is None:
        member, member_info = _member_info(facts.id_number, year)
    else:
        member_info = MemberInfo(id=member.pk, category=member.category, name=member.name)
    looked_up = _looked_up(member, year)
    if looked_up:
        key = (member.looked_up_policy_id, year, member.looked_up_policy_revision,
               member.looked_up_policy_loaded_at)
        version = _policy_version(year, key=key) if key[0] is not None else None
        enrolled = member.looked_up_enrolled
    else:
        version = _policy_version(year) if 1 <= year <= 9999 else None
        enrolled = member is not None and _enrolled(member.pk, year)
    if facility is None:
        facility, facility_info = _facility_info(facts.facility)
    else:
        facility_info = _facility_record(facility)
    stays = _stays(member.pk, exclude_claim=exclude_claim) if member is not None else []
    if invoice_taken is None:
        invoice_taken = facility is not None and _invoice_taken(facility.pk, facts.invoice_no,
                                                                exclude_claim=exclude_claim)
    check_claim(
        facts=facts, year=None, policy=version.policy() if version else None, facility=facility_info,
        member=member_info, enrolled=enrolled, stays=stays, invoice_taken=invoice_taken,
        channel=channel, submitted_on=submitted_on,
    )
    valuation = value_facts(facts=facts, policy=version.policy(), facility=facility_info,
                            member=member_info, used=used_in_year(stays, year) + used_extra)
    return _Checked(facts=facts, member=member, facility=facility, policy_version=version,
                    valuation=valuation, stays=stays)


def _today() -> date:
    """Today in the county (Asia/Shanghai): the day a township-office claim is brought in."""
    return timezone.localdate()


# --- the cap lock ---------------------------------------------------------------------------


def _lock_cap(*, member_id: int, year: int) -> MemberYearCap:
    """Take the member's cap row for the year under a row lock, creating it when missing.

    One statement: INSERT ... ON CONFLICT (member_id, year) DO UPDATE SET used = used RETURNING.
    On PostgreSQL the DO UPDATE row-locks the existing row until the transaction ends (as SELECT
    ... FOR UPDATE would), and two first claims of a member racing to create the row both end up
    waiting on the same row lock instead of one failing. SQLite (3.35+) runs the same statement
    (it has a single writer anyway); other databases insert-if-missing, then SELECT FOR UPDATE.
    """
    if connection.vendor in ("postgresql", "sqlite"):
        meta, quote = MemberYearCap._meta, connection.ops.quote_name
        table = quote(meta.db_table)
        member_col, year_col, used_col = (quote(meta.get_field(name).column) for name in ("member", "year", "used"))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({member_col}, {year_col}, {used_col}) VALUES (%s, %s, 0) "
                f"ON CONFLICT ({member_col}, {year_col}) DO UPDATE SET {used_col} = {table}.{used_col} "
                f"RETURNING {quote(meta.pk.column)}, {used_col}",
                [member_id, year],
            )
            pk, used = cursor.fetchone()
        return MemberYearCap(pk=pk, member_id=member_id, year=year, used=Decimal(str(used)).quantize(Decimal("0.01")))
    MemberYearCap.objects.bulk_create([MemberYearCap(member_id=member_id, year=year, used=ZERO)],
                                      ignore_conflicts=True)
    return MemberYearCap.objects.select_for_update().get(member_id=member_id, year=year)


def _refresh_cap(cap: MemberYearCap, *, used: Decimal | None = None) -> None:
    """Set `used` while holding the lock: recomputed from the claims (the truth), or `used` when
    the caller has just summed them under the same lock (a settlement: its stays plus itself)."""
    if used is None:
        used = (Claim.objects.holding_cap().filter(member_id=cap.member_id, year=cap.year)
                .aggregate(total=Sum("compensation"))["total"]) or ZERO
    if used != cap.used:
        cap.used = used
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {MemberYearCap._meta.db_table} SET used = %s WHERE id = %s",
                           [connection.ops.adapt_decimalfield_value(used, 18, 2), cap.pk])


# --- events and transitions -------------------------------------------------------------------


def _event(*, claim: Claim, action: str, from_status: str, to_status: str, user, note: str = "",
           at=None) -> ClaimEvent:
    return ClaimEvent.objects.create(claim=claim, action=action, from_status=from_status,
                                     to_status=to_status, user=user, at=at or timezone.now(), note=note)


def _locked(claim: Claim) -> Claim:
    """The claim re-read under its row lock (the caller's copy may be stale)."""
    return Claim.objects.select_for_update().get(pk=claim.pk)


def claim_transition(*, user, claim: Claim, action: str, note: str = "", at=None) -> Claim:
    """Move a LOCKED claim by `action` per `TRANSITIONS`, record the event, save. For the fund's
    `claim_pay`, which calls it with action "pay" inside its own payout transaction."""
    sources, target = TRANSITIONS[action]
    if claim.status not in sources:
        raise NcmsError(
            f"补偿申请 {claim.invoice_no} 当前状态为「{claim.get_status_display()}」，不能{ACTION_WORDS[action]}",
            code="bad_transition",
        )
    at = at or timezone.now()
    source = claim.status
    claim.status = target
    fields = ["status", "updated_at"]
    if action == "review":
        claim.reviewed_by, claim.reviewed_at = user, at
        fields += ["reviewed_by", "reviewed_at"]
    elif action == "approve":
        claim.approved_by, claim.approved_at = user, at
        fields += ["approved_by", "approved_at"]
    elif action == "pay":
        claim.paid_by, claim.paid_at = user, at
        fields += ["paid_by", "paid_at"]
    if note:
        claim.note = note
        fields.append("note")
    claim._history_user = user
    claim._change_reason = ACTION_WORDS[action]
    claim.save(update_fields=fields)
    # the event records when the step was taken; `at` (e.g. a payout's paid date) is the business
    # time stored on the claim, which may lie in the past for a backdated payout or an import
    _event(claim=claim, action=action, from_status=source, to_status=target, user=user, note=note,
           at=timezone.now())
    return claim


# --- valuing and entering claims ----------------------------------------------------------------


def claim_quote(*, facts: ClaimFacts, used_extra: Decimal = ZERO, channel: str = Channel.FACILITY,
                facility=None) -> Quote:
    """Value a claim as it would be submitted now, writing nothing (the contract's checks and
    steps; `used_extra` adds cap already taken elsewhere, e.g. earlier lines of a batch).
    `facility`: the facility object when the caller already has it (its code must be the facts')."""
    today = _today() if channel == Channel.TOWNSHIP else None
    if facility is not None and facility.code != facts.facility:
        facility = None
    checked = _check_and_value(facts=facts, channel=channel, used_extra=used_extra, submitted_on=today,
                               facility=facility)
    return Quote(facts=facts, valuation=checked.valuation)


def _member_township_id(member) -> int:
    """The member's township: read by `_MEMBER_SQL` with the member (the settlement fast path),
    else through their household's village."""
    township_id = getattr(member, "looked_up_township_id", None)
    if township_id is None:
        township_id = member.household.village.township_id
    return township_id


def _check_scope(*, user, member, facility, channel: str) -> None:
    from accounts.models import Role

    role = getattr(user, "role", None)
    if user is None or user.is_superuser:
        return
    township_id = getattr(member, "looked_up_township_id", None)
    if township_id is None and role == Role.TOWNSHIP_CLERK:
        township_id = member.household.village.township_id
    if role == Role.TOWNSHIP_CLERK and township_id != user.township_id:
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
            from ncms.money import parse_money

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
    claim.member = checked.member
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
    claim.referred = facts.referred
    claim.delivery = facts.delivery
    claim.rule = valuation.rule
    claim.breakdown = stored_breakdown(valuation)
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
            and claim.referred == facts.referred and (claim.delivery or None) == facts.delivery
            and claim.diagnosis_code == facts.diagnosis and claim.diagnosis_text == facts.diagnosis_text
            and sorted(map(_line_key, lines)) == sorted(map(_line_key, stored_lines)))


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
                  idempotent: bool) -> tuple[Claim, bool]:
    """`_claim_write` in its own transaction; a (facility, invoice) uniqueness violation that
    raced past the checks (another member's claim with this invoice committed between our check
    and our insert) rolls the whole transaction back and is refused as `duplicate_invoice`, so
    no savepoint is needed around the insert."""
    try:
        return _claim_write(user=user, facts=facts, channel=channel, cost_lines=cost_lines,
                            member=member, facility=facility, idempotent=idempotent)
    except IntegrityError as error:
        if not _is_invoice_conflict(error):
            raise
        raise NcmsError(f"发票号 {facts.invoice_no} 在 {facility.code} 已报销过", code="duplicate_invoice") from None


@transaction.atomic
def _claim_write(*, user, facts: ClaimFacts, channel: str, cost_lines, member, facility,
                 idempotent: bool) -> tuple[Claim, bool]:
    # The cap row's lock is the first thing taken: every later read (the member's other claims,
    # the invoice) sees what a concurrent settlement of the same member committed before us.
    if member is not None and 1 <= facts.year <= 9999:
        cap = _lock_cap(member_id=member.pk, year=facts.year)
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
    submitted_on = _today() if channel == Channel.TOWNSHIP else None
    checked = _check_and_value(facts=facts, channel=channel, submitted_on=submitted_on,
                               member=member, facility=facility, invoice_taken=invoice_taken)
    lines = _clean_cost_lines(cost_lines, facts)
    claim = Claim(channel=channel, status=ClaimStatus.SUBMITTED, submitted_by=user)
    _apply(claim, checked)
    # the township the member belongs to now, when the claim is made; kept if they move later
    claim.township_id = _member_township_id(checked.member)
    claim._history_user = user
    claim._change_reason = ACTION_WORDS["settle" if idempotent else "submit"]
    claim.save()
    for line in lines:
        line.claim = claim
    CostLine.objects.bulk_create(lines)
    _event(claim=claim, action="settle" if idempotent else "submit", from_status="",
           to_status=ClaimStatus.SUBMITTED, user=user)
    if cap is not None:
        # the stays were read under the cap lock: what they hold plus this claim is the truth
        _refresh_cap(cap, used=used_in_year(checked.stays, facts.year) + claim.compensation)
    return _with_cost_lines(claim, lines), True


def _require_invoice(facts: ClaimFacts) -> None:
    if not facts.invoice_no:
        raise NcmsError("缺少发票号", code="bad_input")


def claim_submit(*, user, facts: ClaimFacts, channel: str = Channel.TOWNSHIP, cost_lines=()) -> Claim:
    """Enter a claim (township office with invoices, or a facility), valued by its year's policy.

    Checks every refusal of the contract (plus `past_deadline` for the township office), locks the
    member's cap for the year, stores the facts, cost lines, the breakdown and the policy version
    and revision; status submitted; a `submit` event. Nothing is written on a refusal.
    """
    _require_invoice(facts)
    member, _ = _member_info(facts.id_number, facts.year)
    facility, _ = _facility_info(facts.facility)
    if member is not None and facility is not None:
        _check_scope(user=user, member=member, facility=facility, channel=channel)
    claim, _ = _claim_create(user=user, facts=facts, channel=channel, cost_lines=cost_lines,
                             member=member, facility=facility, idempotent=False)
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
    member, _ = _member_info(facts.id_number, facts.year)
    facility = _users_facility(user, facts.facility)
    if facility is None:
        facility, _ = _facility_info(facts.facility)
    if member is not None and facility is not None:
        _check_scope(user=user, member=member, facility=facility, channel=Channel.FACILITY)
    return _claim_create(user=user, facts=facts, channel=Channel.FACILITY, cost_lines=cost_lines,
                         member=member, facility=facility, idempotent=True)


@transaction.atomic
def claim_review(*, user, claim: Claim, note: str = "") -> Claim:
    """The county reviewer's check (审核): submitted → reviewed."""
    return claim_transition(user=user, claim=_locked(claim), action="review", note=note)


def _approve_locked(*, user, claim: Claim, note: str = "") -> Claim:
    if claim.status == ClaimStatus.REVIEWED and claim.reviewed_by_id == getattr(user, "pk", None):
        raise NcmsError(f"补偿申请 {claim.invoice_no} 由您审核，审批须由另一位工作人员进行",
                        code="approver_is_reviewer")
    return claim_transition(user=user, claim=claim, action="approve", note=note)


@transaction.atomic
def claim_approve(*, user, claim: Claim, note: str = "") -> Claim:
    """Approval (审批): reviewed → approved, never by the claim's reviewer."""
    return _approve_locked(user=user, claim=_locked(claim), note=note)


@transaction.atomic
def claims_bulk_approve(*, user, claims) -> list[Claim]:
    """Approve a filtered queue at once, all or nothing: every claim must be reviewed, and by
    someone else. Locks the claims in pk order so two bulk approvals never deadlock."""
    ids = sorted({claim.pk if isinstance(claim, Claim) else claim for claim in claims})
    locked = list(Claim.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    return [_approve_locked(user=user, claim=claim) for claim in locked]


@transaction.atomic
def claim_return(*, user, claim: Claim, note: str) -> Claim:
    """Return for correction (退回修改) with a note saying what to correct. The claim keeps its
    hold on the cap until it is rejected."""
    if not (note or "").strip():
        raise NcmsError("退回时请写明需要修改的内容", code="note_required")
    return claim_transition(user=user, claim=_locked(claim), action="return", note=note.strip())


@transaction.atomic
def claim_reject(*, user, claim: Claim, reason: RejectionReason, note: str = "") -> Claim:
    """Reject (不予补偿) with a reason from the maintained list; frees the member's cap."""
    if reason is None or not reason.active:
        raise NcmsError("请从列表中选择不予补偿的原因", code="reason_required")
    current = Claim.objects.only("member_id", "year").get(pk=claim.pk)
    cap = _lock_cap(member_id=current.member_id, year=current.year)
    locked = _locked(claim)
    locked.rejection_reason = reason
    locked.save(update_fields=["rejection_reason"])
    claim_transition(user=user, claim=locked, action="reject", note=note or reason.text)
    _refresh_cap(cap)
    return locked


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
        )
    if facts.id_number != current.member.id_number or facts.facility != current.facility.code:
        raise NcmsError("重新提交时不能更换参合人员或医疗机构，请另行申请", code="bad_input")
    _require_invoice(facts)
    years = sorted({current.year, facts.year})
    caps = [_lock_cap(member_id=current.member_id, year=year) for year in years]
    locked = _locked(current)
    if locked.status != ClaimStatus.RETURNED:
        claim_transition(user=user, claim=locked, action="resubmit")  # raises bad_transition
    checked = _check_and_value(facts=facts, channel=locked.channel, exclude_claim=locked.pk,
                               member=current.member, facility=current.facility)
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
        _refresh_cap(cap)
    return locked


@transaction.atomic
def claim_document_add(*, user, claim: Claim, upload) -> ClaimDocument:
    """Attach a scan (PDF/JPEG/PNG by its first bytes, not its name) within the size limit."""
    limit = getattr(settings, "CLAIM_DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)
    if claim.status in (ClaimStatus.PAID, ClaimStatus.REJECTED):
        raise NcmsError("已兑付或不予补偿的申请不能再添加材料", code="bad_transition")
    size = upload.size
    if size > limit:
        raise NcmsError(f"文件太大（{size // 1024} KB），最大 {limit // 1024 // 1024} MB", code="file_too_large")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = scan_content_type(head)
    if content_type is None:
        raise NcmsError("只能上传 PDF、JPEG 或 PNG 格式的扫描件", code="bad_file_type")
    name = getattr(upload, "name", "") or ""
    return ClaimDocument.objects.create(claim=claim, file=upload, original_name=name[-200:],
                                        content_type=content_type, size=size, uploaded_by=user)
