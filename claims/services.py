"""Writes of the claims app.

Claims: `claim_submit` (township office), `claim_settle` (facility, instant settlement at
discharge, idempotent by invoice), `claim_review`, `claim_approve`, `claims_bulk_approve`,
`claim_return`, `claim_resubmit`, `claim_reject`, `claim_document_add`; `claim_quote` values
without writing. Every status change goes through `_transition`, checked against `TRANSITIONS`,
under the claim's row lock, and leaves a `ClaimEvent` (who, when, from, to). `approved → paid`
belongs to the fund (`fund.services`, e.g. `claim_pay`): it calls `claim_transition` with
action "pay" inside its payout transaction.

The annual cap: every write that changes what a member holds against the cap of a year locks
that member's `MemberYearCap` row first (`_lock_cap`: INSERT ... ON CONFLICT DO NOTHING, then
SELECT ... FOR UPDATE), and only then reads what the member's claims already hold. Two
settlements of the same member at the same instant therefore run one after the other on
PostgreSQL, and the second is capped by what the first took.

`policy_load` implements the contract's `load_policy`: a scheme year's policy file is validated
whole (`claims.rules.parse_policy`) and then loads or replaces that year's policy in one
transaction, the history table keeping every earlier version with who loaded it and when.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from ncms.errors import NcmsError

from . import rules
from .eligibility import (
    ClaimFacts,
    FacilityInfo,
    MemberInfo,
    Stay,
    check_claim,
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

    Raises `rules.PolicyInvalid` listing every problem, having written nothing. Loading the very
    same document again changes nothing (no new revision). Claims already valued keep their
    stored breakdown and the revision they were valued with, so a replacement changes only
    claims valued after it.
    """
    # Validation is pure and comes first: a refused file never opens a transaction.
    policy = rules.parse_policy(data)
    return _policy_store(policy=policy, data=data, user=user)


@transaction.atomic
def _policy_store(*, policy: rules.Policy, data: dict, user) -> PolicyVersion:
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


def _member_info(id_number: str):
    from enrollment.models import Member

    member = (Member.objects.filter(id_number=id_number)
              .select_related("household__village").first())
    if member is None:
        return None, None
    return member, MemberInfo(id=member.pk, category=member.category, name=member.name)


def _facility_record(facility) -> FacilityInfo:
    return FacilityInfo(
        id=facility.pk, code=facility.code, level=facility.level, status=facility.status,
        agreement_start=facility.agreement_start, agreement_end=facility.agreement_end,
        suspended_from=facility.suspended_from, name=facility.name,
    )


def _facility_info(code: str):
    from facilities.models import Facility

    facility = Facility.objects.filter(code=code).first()
    if facility is None:
        return None, None
    return facility, _facility_record(facility)


def _stays(member_id: int, *, exclude_claim: int | None = None) -> list[Stay]:
    rows = Claim.objects.holding_cap().filter(member_id=member_id)
    if exclude_claim is not None:
        rows = rows.exclude(pk=exclude_claim)
    return [Stay(admission_date=a, discharge_date=d, year=y, compensation=c, claim_id=pk)
            for pk, a, d, y, c in rows.values_list("pk", "admission_date", "discharge_date", "year",
                                                   "compensation")]


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


def _policy_version(year: int):
    return PolicyVersion.objects.filter(year=year).first()


@dataclass
class _Checked:
    facts: ClaimFacts
    member: object
    facility: object
    policy_version: PolicyVersion
    valuation: "rules.Valuation"


def _check_and_value(*, facts: ClaimFacts, channel: str, used_extra: Decimal = ZERO,
                     exclude_claim: int | None = None, submitted_on: date | None = None,
                     member=None, facility=None) -> _Checked:
    """Run the contract's checks against the database and value the claim (no writes)."""
    year = facts.year
    version = _policy_version(year) if 1 <= year <= 9999 else None
    if member is None:
        member, member_info = _member_info(facts.id_number)
    else:
        member_info = MemberInfo(id=member.pk, category=member.category, name=member.name)
    if facility is None:
        facility, facility_info = _facility_info(facts.facility)
    else:
        facility_info = _facility_record(facility)
    stays = _stays(member.pk, exclude_claim=exclude_claim) if member is not None else []
    check_claim(
        facts=facts, year=None, policy=version.policy() if version else None, facility=facility_info,
        member=member_info, enrolled=member is not None and _enrolled(member.pk, year), stays=stays,
        invoice_taken=facility is not None and _invoice_taken(facility.pk, facts.invoice_no,
                                                              exclude_claim=exclude_claim),
        channel=channel, submitted_on=submitted_on,
    )
    valuation = value_facts(facts=facts, policy=version.policy(), facility=facility_info,
                            member=member_info, used=used_in_year(stays, year) + used_extra)
    return _Checked(facts=facts, member=member, facility=facility, policy_version=version,
                    valuation=valuation)


def _today() -> date:
    """Today in the county (Asia/Shanghai): the day a township-office claim is brought in."""
    return timezone.localdate()


# --- the cap lock ---------------------------------------------------------------------------


def _lock_cap(*, member_id: int, year: int) -> MemberYearCap:
    """Take the member's cap row for the year FOR UPDATE, creating it when missing.

    The insert ignores a conflict, so two first claims of a member racing to create the row both
    end up waiting on the same row lock instead of one failing.
    """
    MemberYearCap.objects.bulk_create([MemberYearCap(member_id=member_id, year=year, used=ZERO)],
                                      ignore_conflicts=True)
    return MemberYearCap.objects.select_for_update().get(member_id=member_id, year=year)


def _refresh_cap(cap: MemberYearCap) -> None:
    """Recompute `used` from the claims (the truth) while holding the lock."""
    used = (Claim.objects.holding_cap().filter(member_id=cap.member_id, year=cap.year)
            .aggregate(total=Sum("compensation"))["total"]) or ZERO
    if used != cap.used:
        cap.used = used
        cap.save(update_fields=["used"])


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
    _event(claim=claim, action=action, from_status=source, to_status=target, user=user, note=note, at=at)
    return claim


# --- valuing and entering claims ----------------------------------------------------------------


def claim_quote(*, facts: ClaimFacts, used_extra: Decimal = ZERO, channel: str = Channel.FACILITY) -> Quote:
    """Value a claim as it would be submitted now, writing nothing (the contract's checks and
    steps; `used_extra` adds cap already taken elsewhere, e.g. earlier lines of a batch)."""
    today = _today() if channel == Channel.TOWNSHIP else None
    checked = _check_and_value(facts=facts, channel=channel, used_extra=used_extra, submitted_on=today)
    return Quote(facts=facts, valuation=checked.valuation)


def _check_scope(*, user, member, facility, channel: str) -> None:
    from accounts.models import Role

    role = getattr(user, "role", None)
    if user is None or user.is_superuser:
        return
    if role == Role.TOWNSHIP_CLERK and member.household.village.township_id != user.township_id:
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


def _same_facts(claim: Claim, facts: ClaimFacts) -> bool:
    return (claim.member.id_number == facts.id_number and claim.admission_date == facts.admission_date
            and claim.discharge_date == facts.discharge_date and claim.total_cost == facts.total_cost
            and claim.non_reimbursable_cost == facts.non_reimbursable_cost
            and claim.referred == facts.referred and (claim.delivery or None) == facts.delivery
            and claim.diagnosis_code == facts.diagnosis)


@transaction.atomic
def _claim_create(*, user, facts: ClaimFacts, channel: str, cost_lines, member, facility,
                  idempotent: bool) -> tuple[Claim, bool]:
    # The cap row's lock is the first thing taken: every later read (the member's other claims,
    # the invoice) sees what a concurrent settlement of the same member committed before us.
    if member is not None and 1 <= facts.year <= 9999:
        cap = _lock_cap(member_id=member.pk, year=facts.year)
    else:
        cap = None
    if idempotent and facility is not None and facts.invoice_no:
        existing = (Claim.objects.filter(facility=facility, invoice_no=facts.invoice_no)
                    .select_related("member").first())
        if existing is not None:
            if _same_facts(existing, facts):
                return existing, False
            raise NcmsError(f"发票号 {facts.invoice_no} 在 {facility.code} 已结算过另一笔住院，不能重复报销",
                            code="duplicate_invoice")
    submitted_on = _today() if channel == Channel.TOWNSHIP else None
    checked = _check_and_value(facts=facts, channel=channel, submitted_on=submitted_on,
                               member=member, facility=facility)
    lines = _clean_cost_lines(cost_lines, facts)
    claim = Claim(channel=channel, status=ClaimStatus.SUBMITTED, submitted_by=user)
    _apply(claim, checked)
    claim._history_user = user
    claim._change_reason = ACTION_WORDS["settle" if idempotent else "submit"]
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError:
        # Only the (facility, invoice) uniqueness can race past the checks above.
        raise NcmsError(f"发票号 {facts.invoice_no} 在 {facility.code} 已报销过", code="duplicate_invoice") from None
    for line in lines:
        line.claim = claim
    CostLine.objects.bulk_create(lines)
    _event(claim=claim, action="settle" if idempotent else "submit", from_status="",
           to_status=ClaimStatus.SUBMITTED, user=user)
    if cap is not None:
        _refresh_cap(cap)
    return claim, True


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
    member, _ = _member_info(facts.id_number)
    facility, _ = _facility_info(facts.facility)
    if member is not None and facility is not None:
        _check_scope(user=user, member=member, facility=facility, channel=channel)
    claim, _ = _claim_create(user=user, facts=facts, channel=channel, cost_lines=cost_lines,
                             member=member, facility=facility, idempotent=False)
    return claim


def claim_settle(*, user, facts: ClaimFacts, cost_lines=()) -> tuple[Claim, bool]:
    """Instant settlement at discharge (即时结报), idempotent by (facility, invoice number).

    Returns (claim, created). A retry with the same facts returns the claim settled the first
    time (created False), never a second one; the same invoice with other facts is refused
    (`duplicate_invoice`).
    """
    _require_invoice(facts)
    member, _ = _member_info(facts.id_number)
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
    content_type = rules.scan_content_type(head)
    if content_type is None:
        raise NcmsError("只能上传 PDF、JPEG 或 PNG 格式的扫描件", code="bad_file_type")
    name = getattr(upload, "name", "") or ""
    return ClaimDocument.objects.create(claim=claim, file=upload, original_name=name[-200:],
                                        content_type=content_type, size=size, uploaded_by=user)
