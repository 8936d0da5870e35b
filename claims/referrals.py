"""Referral records (转诊单): issuing and cancelling them (docs/rules.md, "Claims": "Referrals").

A facility issues a referral from itself; the township office issues one for a member of its
township, from the facility the member is sent from. A referral goes to a facility of the same
or a higher level (township < county < municipal < provincial, `policy.rules.LEVELS`), never to
the facility it comes from. A referral is dated on or before the admission it covers; an
emergency one (急诊转诊) may be filed up to `EMERGENCY_FILING_DAYS` days after the admission, and
never after the discharge. Nothing is written on a refusal. A referral is never deleted: a
mistaken one is cancelled with a reason, unless a claim that is not rejected rests on it.

Which claims a referral covers is `claims.eligibility.referral_problem`.
"""
from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from core.errors import NcmsError
from enrollment.models import Member
from policy.rules import LEVELS

from .eligibility import EMERGENCY_FILING_DAYS
from .models import Claim, ClaimStatus, Referral

REASON_MAX = 200
NUMBER_MAX = 30


def _level_rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def _check_issuer(user, *, member: Member, township_id: int, from_facility) -> None:
    """A facility clerk issues from their own facility; a township clerk for their township's
    members (`out_of_scope`); other staff may not issue (`forbidden`)."""
    if user is None or user.is_superuser:
        return
    if user.role == Role.FACILITY_CLERK:
        if from_facility.pk != user.facility_id:
            raise NcmsError("只能开具从本机构转出的转诊单", code="out_of_scope")
    elif user.role == Role.TOWNSHIP_CLERK:
        if township_id != user.township_id:
            raise NcmsError(f"{member.name} 不属于本乡镇，不能为其开具转诊单", code="out_of_scope")
    else:
        raise NcmsError("您没有开具转诊单的权限", code="forbidden")


def _check_dates(*, day: date, emergency: bool, admission: date | None, today: date) -> None:
    if day > today:
        raise NcmsError(f"转诊日期 {day} 晚于今天 {today}", code="bad_referral")
    if admission is not None and admission > today:
        raise NcmsError(f"入院日期 {admission} 晚于今天 {today}", code="bad_referral")
    if emergency:
        if admission is None:
            raise NcmsError("急诊转诊请填写入院日期", code="bad_referral")
        last = admission + timedelta(days=EMERGENCY_FILING_DAYS)
        if day > last:
            raise NcmsError(f"急诊转诊应在入院后 {EMERGENCY_FILING_DAYS} 天内补办：入院 {admission}，"
                            f"最迟 {last}，转诊日期 {day} 已超过", code="bad_referral")
    elif admission is not None and day > admission:
        raise NcmsError(f"转诊日期 {day} 晚于入院日期 {admission}：非急诊转诊应在入院前办理",
                        code="bad_referral")


def _check_not_after_discharge(*, member: Member, to_facility, day: date, admission: date | None) -> None:
    """The member's stay at the receiving facility admitted on `admission`, when a claim already
    tells it: the referral may not be dated after its discharge."""
    if admission is None:
        return
    discharge = (Claim.objects.filter(member=member, facility=to_facility, admission_date=admission)
                 .exclude(status=ClaimStatus.REJECTED).values_list("discharge_date", flat=True).first())
    if discharge is not None and day > discharge:
        raise NcmsError(f"转诊日期 {day} 晚于该次住院的出院日期 {discharge}", code="bad_referral")


@transaction.atomic
def referral_issue(*, user, number: str, id_number: str, from_facility, to_facility, day: date,
                   reason: str, emergency: bool = False, admission_date: date | None = None) -> Referral:
    """Issue a referral of the member with ID number `id_number` from `from_facility` to
    `to_facility` dated `day`; refused (nothing written) with a clear message for an unknown
    member, a member or facility out of the user's scope, the same facility on both ends, a
    facility of a lower level, a date after today, after the admission (not an emergency), more
    than `EMERGENCY_FILING_DAYS` days after it (an emergency) or after the discharge, a missing
    reason, a number already used."""
    number = (number or "").strip()
    reason = (reason or "").strip()
    if not number:
        raise NcmsError("请填写转诊单号", code="bad_input")
    if len(number) > NUMBER_MAX:
        raise NcmsError(f"转诊单号最多 {NUMBER_MAX} 个字符", code="bad_input")
    if not reason:
        raise NcmsError("请填写转诊原因", code="bad_input")
    if len(reason) > REASON_MAX:
        raise NcmsError(f"转诊原因最多 {REASON_MAX} 个字", code="bad_input")
    id_number = (id_number or "").strip().upper()
    member = (Member.objects.filter(id_number=id_number)
              .select_related("household__village").first()) if id_number else None
    if member is None:
        raise NcmsError(f"找不到身份证号为 {id_number or '（空）'} 的参合人员", code="unknown_member")
    township_id = member.household.village.township_id
    _check_issuer(user, member=member, township_id=township_id, from_facility=from_facility)
    if from_facility.pk == to_facility.pk:
        raise NcmsError("转出机构和转入机构不能是同一家医疗机构", code="bad_referral")
    if _level_rank(to_facility.level) < _level_rank(from_facility.level):
        raise NcmsError(f"不能从{from_facility.get_level_display()}（{from_facility.name}）转往级别更低的"
                        f"{to_facility.get_level_display()}（{to_facility.name}）", code="bad_referral")
    _check_dates(day=day, emergency=emergency, admission=admission_date, today=timezone.localdate())
    _check_not_after_discharge(member=member, to_facility=to_facility, day=day, admission=admission_date)
    if Referral.objects.filter(number=number).exists():
        raise NcmsError(f"转诊单号 {number} 已经使用过", code="duplicate_referral")
    referral = Referral(number=number, member=member, township_id=township_id, from_facility=from_facility,
                        to_facility=to_facility, date=day, emergency=emergency, admission_date=admission_date,
                        reason=reason, issued_by=user if getattr(user, "pk", None) else None,
                        issued_at=timezone.now())
    referral._history_user = referral.issued_by
    referral._change_reason = "开具"
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError:  # the same number issued at the same moment elsewhere
        raise NcmsError(f"转诊单号 {number} 已经使用过", code="duplicate_referral") from None
    return referral


def can_cancel(user, referral: Referral) -> bool:
    """The side that issues referrals of this one: its sending facility's clerk or its township's
    clerk (superusers too)."""
    if user is None or user.is_superuser:
        return True
    if user.role == Role.FACILITY_CLERK:
        return referral.from_facility_id == user.facility_id
    return user.role == Role.TOWNSHIP_CLERK and referral.township_id == user.township_id


@transaction.atomic
def referral_cancel(*, user, referral: Referral, reason: str) -> Referral:
    """Cancel (作废) a referral, with a reason, who and when; refused when it is cancelled
    already, or when a claim that is not rejected rests on it."""
    reason = (reason or "").strip()
    if not reason:
        raise NcmsError("请填写作废原因", code="missing_reason")
    if len(reason) > REASON_MAX:
        raise NcmsError(f"作废原因最多 {REASON_MAX} 个字", code="bad_input")
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if not can_cancel(user, locked):
        raise NcmsError("只能作废本机构或本乡镇开具的转诊单", code="out_of_scope")
    if locked.cancelled_at is not None:
        raise NcmsError(f"转诊单 {locked.number} 已于 {timezone.localtime(locked.cancelled_at):%Y-%m-%d} 作废",
                        code="already_cancelled")
    used = (Claim.objects.filter(referral=locked).exclude(status=ClaimStatus.REJECTED)
            .values_list("invoice_no", flat=True).first())
    if used is not None:
        raise NcmsError(f"转诊单 {locked.number} 已用于住院补偿（发票号 {used}），不能作废", code="referral_used")
    locked.cancelled_at = timezone.now()
    locked.cancelled_by = user if getattr(user, "pk", None) else None
    locked.cancel_reason = reason
    locked._history_user = locked.cancelled_by
    locked._change_reason = "作废"
    locked.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason"])
    return locked


__all__ = ["can_cancel", "referral_cancel", "referral_issue"]
