"""Writes of publicity: posting notices (contract: publish_notices), filing objections and
reports, and the staff's work on them."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from accounts.roles import user_can
from claims.models import Claim, ClaimStatus, Recovery
from core.dates import month_span
from core.errors import NcmsError

from . import cache, rules
from .models import CaseStatus, Notice, NoticeCorrection, NoticeLine, Objection, Report


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[first local midnight of the month, first local midnight of the next month)."""
    if not 1 <= int(month) <= 12:
        raise NcmsError(f"月份 {month} 不对，应为 1 到 12", code="invalid_month")
    if not 2000 <= int(year) <= 2100:
        raise NcmsError(f"年度 {year} 不对", code="invalid_year")
    return month_span(int(year), int(month))


def unposted_claims(*, year: int, month: int):
    """Paid claims whose paid date (local) falls in the month and that are on no notice yet."""
    start, end = month_bounds(year, month)
    return (Claim.objects.filter(status=ClaimStatus.PAID, paid_at__gte=start, paid_at__lt=end,
                                 notice_line__isnull=True)
            .select_related("member__household__village", "facility").order_by("paid_at", "pk"))


def pending_corrections():
    """Recoveries (追回) still to be corrected on a notice: of a claim already posted, recorded
    after that notice went up, and on no correction yet; oldest first."""
    return (Recovery.objects.filter(notice_correction__isnull=True, claim__notice_line__isnull=False,
                                    created_at__gt=F("claim__notice_line__notice__posted_at"))
            .select_related("claim__notice_line__notice__village").order_by("created_at", "pk"))


def _correction(recovery: Recovery, *, notice: Notice, order: int) -> NoticeCorrection:
    """The correction line of `recovery`, masked as its posted line: the actual compensation is
    what is left after this recovery and every earlier one of the claim."""
    line = recovery.claim.notice_line
    recovered = (Recovery.objects.filter(claim_id=recovery.claim_id, pk__lte=recovery.pk)
                 .aggregate(total=Sum("amount"))["total"])
    return NoticeCorrection(notice=notice, order=order, masked_name=line.masked_name, year=line.notice.year,
                            month=line.notice.month, compensation=line.compensation, recovered=recovery.amount,
                            net=line.compensation - recovered, line=line, recovery=recovery)


@transaction.atomic
def notices_publish(*, user=None, year: int, month: int, now: datetime | None = None) -> list[Notice]:
    """Post the month's paid claims, one notice per village (contract: publish_notices).

    A claim is posted once (NoticeLine.claim is one-to-one), so running it again posts nothing.
    A village that already has the month's notice gets an addendum (补充公示, number 1, 2, ...)
    pointing to the original. Each recovery (追回) of a claim posted on an earlier notice of the
    village, recorded after that notice went up, becomes a correction line (更正) of the village's
    next notice, once; a village with corrections and no new claims gets a notice of them alone. The objection period runs settings.NOTICE_OBJECTION_DAYS days from
    the posting date. The public pages' cache is cleared once the posting commits.
    """
    if user is not None and not user_can(user, "publicity.handle"):
        raise NcmsError("您没有发布公示的权限", code="forbidden")
    now = now or timezone.now()
    posted_on = timezone.localdate(now)
    until = posted_on + timedelta(days=settings.NOTICE_OBJECTION_DAYS)
    by_village = defaultdict(list)
    for claim in unposted_claims(year=year, month=month).select_for_update(of=("self",)):
        by_village[claim.member.household.village].append(claim)
    corrections = defaultdict(list)
    for recovery in pending_corrections().select_for_update(of=("self",)):
        corrections[recovery.claim.notice_line.notice.village].append(recovery)
    notices = []
    for village in sorted(set(by_village) | set(corrections), key=lambda v: v.code):
        original = Notice.objects.filter(village=village, year=year, month=month,
                                         addendum_to__isnull=True).first()
        number = 0
        if original is not None:
            number = (Notice.objects.filter(village=village, year=year, month=month)
                      .aggregate(top=Max("number"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                notice = Notice.objects.create(village=village, year=year, month=month, number=number,
                                               addendum_to=original, posted_at=now, objection_until=until,
                                               posted_by=user)
        except IntegrityError as exc:  # a concurrent run posted this village first
            raise NcmsError(f"{village.name}{year}年{month}月的公示正在由另一操作发布，请稍后再试",
                            code="concurrent_publish") from exc
        NoticeLine.objects.bulk_create([
            NoticeLine(notice=notice, order=i, masked_name=rules.mask_name(claim.member.name),
                       village_name=village.name, facility_name=claim.facility.name,
                       admission_date=claim.admission_date, discharge_date=claim.discharge_date,
                       total_cost=claim.total_cost, reimbursable_cost=claim.reimbursable_cost,
                       compensation=claim.compensation, claim=claim)
            for i, claim in enumerate(by_village[village], start=1)
        ])
        try:
            with transaction.atomic():
                NoticeCorrection.objects.bulk_create([
                    _correction(recovery, notice=notice, order=i)
                    for i, recovery in enumerate(corrections[village], start=1)])
        except IntegrityError as exc:  # a concurrent run corrected it first
            raise NcmsError(f"{village.name}的更正正在由另一操作发布，请稍后再试", code="concurrent_publish") from exc
        notices.append(notice)
    if notices:
        transaction.on_commit(cache.public_cache_clear)
    return notices


# --- objections and reports -------------------------------------------------------------------


def _clean_contact(text: str, phone: str, anonymous: bool) -> tuple[str, str]:
    text = (text or "").strip()
    if len(text) < 5:
        raise NcmsError("请写清楚您的意见（至少 5 个字）", code="missing_text")
    if len(text) > 2000:
        raise NcmsError("内容请不要超过 2000 字", code="text_too_long")
    phone = "" if anonymous else "".join(ch for ch in (phone or "") if ch.isdigit() or ch == "-")
    if phone and not 7 <= len(phone) <= 20:
        raise NcmsError("联系电话不正确", code="bad_phone")
    return text, phone


def _with_tracking_code(model, **values):
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return model.objects.create(tracking_code=rules.tracking_code_new(), **values)
        except IntegrityError:  # the same 50-bit code twice: draw again
            continue
    raise NcmsError("系统繁忙，请稍后再试", code="busy")


@transaction.atomic
def objection_file(*, line: NoticeLine, text: str, phone: str = "", anonymous: bool = False,
                   today=None) -> Objection:
    """A villager's objection to a posted line; the tracking code is theirs to check the status.
    Refused once the notice's objection period is over (`today`: the local date unless given, as
    the demo files an objection on the day it was made)."""
    today = today or timezone.localdate()
    notice = line.notice
    if not notice.in_objection_period(today):
        raise NcmsError(f"该公示的异议期已于 {notice.objection_until:%Y-%m-%d} 截止，不能再提出异议；"
                        f"如有问题请向县合管办举报", code="objection_closed")
    text, phone = _clean_contact(text, phone, anonymous)
    return _with_tracking_code(Objection, line=line, text=text, phone=phone, anonymous=anonymous)


@transaction.atomic
def report_file(*, text: str, facility=None, invoice_no: str = "", phone: str = "",
                anonymous: bool = False) -> Report:
    """A report (举报) about a facility or a claim (invoice number as the villager knows it)."""
    text, phone = _clean_contact(text, phone, anonymous)
    invoice_no = (invoice_no or "").strip()[:60]
    if facility is None and not invoice_no:
        raise NcmsError("请选择被举报的医疗机构，或填写发票号", code="missing_subject")
    return _with_tracking_code(Report, facility=facility, invoice_no=invoice_no, text=text, phone=phone,
                               anonymous=anonymous)


def _require_handle(user) -> None:
    if not user_can(user, "publicity.handle"):
        raise NcmsError("您没有办理异议和举报的权限", code="forbidden")


@transaction.atomic
def case_investigate(*, user, case):
    """Received → investigating (an objection or a report)."""
    _require_handle(user)
    case = type(case).objects.select_for_update().get(pk=case.pk)
    if case.status != CaseStatus.RECEIVED:
        raise NcmsError(f"当前状态为「{case.get_status_display()}」，不能转为调查中", code="bad_status")
    case.status = CaseStatus.INVESTIGATING
    case._history_user = user
    case.save(update_fields=["status"])
    return case


ANSWER_MAX = 2000


@transaction.atomic
def case_answer(*, user, case, answer: str):
    """The township office's answer to a case about its villages or facilities (乡镇答复): kept
    with who and when (a later answer replaces it, the history keeps both); a case still
    received moves to investigating. Resolving stays the county's (`case_resolve`)."""
    if not user_can(user, "publicity.answer"):
        raise NcmsError("您没有答复的权限", code="forbidden")
    answer = (answer or "").strip()
    if len(answer) < 5:
        raise NcmsError("请写明答复内容（至少 5 个字）", code="missing_answer")
    if len(answer) > ANSWER_MAX:
        raise NcmsError(f"答复内容最多 {ANSWER_MAX} 个字", code="bad_answer")
    case = type(case).objects.select_for_update().get(pk=case.pk)
    if case.status == CaseStatus.RESOLVED:
        raise NcmsError("已经办结，不能再答复", code="bad_status")
    if case.status == CaseStatus.RECEIVED:
        case.status = CaseStatus.INVESTIGATING
    case.answer = answer
    case.answered_by = user
    case.answered_at = timezone.now()
    case._history_user = user
    case.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    return case


@transaction.atomic
def case_resolve(*, user, case, resolution: str):
    """Received or investigating → resolved, with the written resolution the villager reads."""
    _require_handle(user)
    resolution = (resolution or "").strip()
    if len(resolution) < 5:
        raise NcmsError("请写明办理结果（至少 5 个字）", code="missing_resolution")
    case = type(case).objects.select_for_update().get(pk=case.pk)
    if case.status == CaseStatus.RESOLVED:
        raise NcmsError("已经办结，不能重复办结", code="bad_status")
    case.status = CaseStatus.RESOLVED
    case.resolution = resolution
    case.resolved_by = user
    case.resolved_at = timezone.now()
    case._history_user = user
    case.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
    return case
