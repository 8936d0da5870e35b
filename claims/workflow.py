"""The claim workflow (docs/rules.md, "Claims": submitted → reviewed → approved → paid, or rejected
with a reason from a list, or returned for correction; every step records who and when).

Every status change goes through `claim_transition`, checked against `TRANSITIONS`, under the
claim's row lock, and leaves a `ClaimEvent` (who, when, from, to). `approved → paid` belongs to the
fund (`fund.services`, e.g. `claim_pay`): it calls `claim_transition` with action "pay" inside its
payout transaction. Entering and resubmitting a claim, which value it, are `claims.settlement`.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.errors import NcmsError

from .cap import lock_cap, refresh_cap
from .models import Claim, ClaimEvent, ClaimStatus, RejectionReason

# The workflow (docs/rules.md, "Claims"): action → (statuses it may start from, status it leads to).
# "pay" is the fund's (approved → paid); paid and rejected are final.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "review": (frozenset({ClaimStatus.SUBMITTED}), ClaimStatus.REVIEWED),
    "approve": (frozenset({ClaimStatus.REVIEWED}), ClaimStatus.APPROVED),
    "return": (frozenset({ClaimStatus.SUBMITTED, ClaimStatus.REVIEWED}), ClaimStatus.RETURNED),
    "reject": (frozenset({ClaimStatus.SUBMITTED, ClaimStatus.REVIEWED, ClaimStatus.RETURNED}), ClaimStatus.REJECTED),
    "resubmit": (frozenset({ClaimStatus.RETURNED}), ClaimStatus.SUBMITTED),
    "pay": (frozenset({ClaimStatus.APPROVED}), ClaimStatus.PAID),
}
ACTION_WORDS = {"submit": gettext_noop("提交"), "settle": gettext_noop("即时结报"), "review": gettext_noop("审核"), "approve": gettext_noop("审批"),
                "return": gettext_noop("退回修改"), "reject": gettext_noop("不予补偿"), "resubmit": gettext_noop("重新提交"), "pay": gettext_noop("兑付"),
                "recover": gettext_noop("追回")}


def record_event(*, claim: Claim, action: str, from_status: str, to_status: str, user, note: str = "",
                 at=None) -> ClaimEvent:
    """The claim's step, who took it and when (`at`, now unless given)."""
    return ClaimEvent.objects.create(claim=claim, action=action, from_status=from_status,
                                     to_status=to_status, user=user, at=at or timezone.now(), note=note)


def lock_claim(claim: Claim) -> Claim:
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
    record_event(claim=claim, action=action, from_status=source, to_status=target, user=user, note=note,
                 at=timezone.now())
    return claim


@transaction.atomic
def claim_review(*, user, claim: Claim, note: str = "") -> Claim:
    """The county reviewer's check (审核): submitted → reviewed."""
    return claim_transition(user=user, claim=lock_claim(claim), action="review", note=note)


# Separation of duties (docs/rules.md, "Money flow"): for every user, superusers and the
# administrator included (a capability says what a role may do, never that one person may take two
# steps of the same claim). The system's import takes each step with its own actor.


def _named(claims) -> str:
    numbers = [claim.invoice_no for claim in claims]
    return "、".join(numbers[:10]) + (f"等 {len(numbers)} 件" if len(numbers) > 10 else "")


def check_not_reviewer(user, claims) -> None:
    """Refuse (`approver_is_reviewer`) when `user` reviewed any of the reviewed `claims`: the
    reviewer of a claim does not approve it. Names the claims."""
    pk = getattr(user, "pk", None)
    own = [claim for claim in claims if claim.status == ClaimStatus.REVIEWED and claim.reviewed_by_id == pk]
    if own:
        raise NcmsError(f"补偿申请 {_named(own)} 由您审核，审批须由另一位工作人员进行",
                        code="approver_is_reviewer")


def check_not_approver(user, claims) -> None:
    """Refuse (`payer_is_approver`) when `user` approved any of `claims`: the approver of a claim
    does not pay it. Every way of paying a claim calls it on the locked claims. Names the claims."""
    pk = getattr(user, "pk", None)
    own = [claim for claim in claims if claim.approved_by_id is not None and claim.approved_by_id == pk]
    if own:
        raise NcmsError(f"补偿申请 {_named(own)} 由您审批，兑付须由另一位工作人员进行",
                        code="payer_is_approver")


def _approve_locked(*, user, claim: Claim, note: str = "") -> Claim:
    check_not_reviewer(user, [claim])
    return claim_transition(user=user, claim=claim, action="approve", note=note)


@transaction.atomic
def claim_approve(*, user, claim: Claim, note: str = "") -> Claim:
    """Approval (审批): reviewed → approved, never by the claim's reviewer."""
    return _approve_locked(user=user, claim=lock_claim(claim), note=note)


@transaction.atomic
def claims_bulk_approve(*, user, claims) -> list[Claim]:
    """Approve a filtered queue at once, all or nothing: every claim must be reviewed, and by
    someone else (a batch holding a claim the user reviewed is refused whole, naming it). Locks
    the claims in pk order so two bulk approvals never deadlock."""
    ids = sorted({claim.pk if isinstance(claim, Claim) else claim for claim in claims})
    locked = list(Claim.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    check_not_reviewer(user, locked)
    return [_approve_locked(user=user, claim=claim) for claim in locked]


@transaction.atomic
def claim_return(*, user, claim: Claim, note: str) -> Claim:
    """Return for correction (退回修改) with a note saying what to correct. The claim keeps its
    hold on the cap until it is rejected."""
    if not (note or "").strip():
        raise NcmsError("退回时请写明需要修改的内容", code="note_required")
    return claim_transition(user=user, claim=lock_claim(claim), action="return", note=note.strip())


@transaction.atomic
def claim_reject(*, user, claim: Claim, reason: RejectionReason, note: str = "") -> Claim:
    """Reject (不予补偿) with a reason from the maintained list; frees the member's cap."""
    if reason is None or not reason.active:
        raise NcmsError("请从列表中选择不予补偿的原因", code="reason_required")
    current = Claim.objects.only("member_id", "year").get(pk=claim.pk)
    cap = lock_cap(member_id=current.member_id, year=current.year)
    locked = lock_claim(claim)
    locked.rejection_reason = reason
    locked.save(update_fields=["rejection_reason"])
    claim_transition(user=user, claim=locked, action="reject", note=note or reason.text)
    refresh_cap(cap)
    return locked
