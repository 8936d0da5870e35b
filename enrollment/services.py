"""Writes of enrollment: households, members and yearly contributions, one clerk action each.

Every service is keyword-only and atomic, checks that the object lies in the user's scope (a
township clerk writes only in their own township), validates the resident ID per GB 11643
(`rules.parse_resident_id`: sex and birth date come from the ID and must agree with it), keeps an
ID at most once in the county, and records who made the change in the django-simple-history rows
of the same transaction (`instance._history_user = user`).

Contributions (docs/rules.md, "Money flow"): the amount is the year's policy
`contribution.individual` exactly, whoever pays it, and none is recorded before the year's policy
is loaded; a receipt number is used once per scheme year. A mistaken contribution is voided by the
fund officer (`contribution_void`): a reversing entry of the individual income, never an edit.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import user_can
from core.errors import NcmsError
from core.money import ZERO, parse_money
from enrollment.models import (
    Category,
    ContributionVoid,
    Enrollment,
    Household,
    Member,
    MemberMove,
    MemberStatus,
    Payer,
    Relation,
    Sex,
)
from enrollment.rules import InvalidIdNumber, no_policy_message, parse_resident_id, wrong_amount_message
from ledger.services import contribution_void_book, contributions_book
from places.models import Village
from policy.models import PolicyVersion
from policy.rules import NEWBORN_DAYS

# Categories whose contribution civil affairs pays (民政代缴).
SUBSIDISED = frozenset({Category.WUBAO, Category.DIBAO, Category.POOR})
HOUSEHOLD_FIELDS = ("address", "phone", "bank_name", "bank_account")
SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}


def card_number_for(number: str) -> str:
    """The co-op card number (合作医疗证号) of a household: "HZ" followed by the household number."""
    return f"HZ{number}"


def _require_change(user) -> None:
    if not user_can(user, "enrollment.change"):
        raise NcmsError("您没有登记参合信息的权限", code="forbidden")


def _village_in_scope(user, village: Village) -> Village:
    if village is None or not Village.objects.for_user(user).filter(pk=village.pk).exists():
        raise NcmsError("只能在本乡镇的村登记家庭户", code="village_out_of_scope")
    return village


def _household_in_scope(user, household: Household, *, lock: bool = False) -> Household:
    queryset = Household.objects.for_user(user)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    found = queryset.filter(pk=household.pk).first()
    if found is None:
        raise NcmsError("该家庭户不属于您所在的乡镇", code="household_out_of_scope")
    return found


def _member_in_scope(user, member: Member, *, lock: bool = False) -> Member:
    queryset = Member.objects.for_user(user).select_related("household")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    found = queryset.filter(pk=member.pk).first()
    if found is None:
        raise NcmsError("该参合人员不属于您所在的乡镇", code="member_out_of_scope")
    return found


def _clean_text(value, *, label: str, required: bool = False, max_length: int | None = None,
                code: str = "bad_text") -> str:
    text = (value or "").strip()
    if required and not text:
        raise NcmsError(f"请填写{label}", code=code)
    if max_length and len(text) > max_length:
        raise NcmsError(f"{label}最多{max_length}个字", code=code)
    return text


def _member_values(*, name, id_number, relation, category, sex=None, birth_date=None, phone="",
                   exclude_pk=None) -> dict:
    """Validated member fields: the ID checked (GB 11643) and unique, sex and birth date from it."""
    name = (name or "").strip()
    if not name:
        raise NcmsError("请填写姓名", code="missing_name")
    if len(name) > 30:
        raise NcmsError("姓名最多30个字", code="bad_name")
    try:
        resident = parse_resident_id(id_number or "", today=timezone.localdate())
    except InvalidIdNumber as exc:
        raise NcmsError(str(exc), code="bad_id_number") from exc
    if sex and sex != resident.sex:
        raise NcmsError(
            f"性别与身份证号不符：身份证号显示为{SEX_WORDS[resident.sex]}性", code="sex_mismatch"
        )
    if birth_date and birth_date != resident.birth_date:
        raise NcmsError(
            f"出生日期与身份证号不符：身份证号显示为{resident.birth_date:%Y-%m-%d}", code="birth_date_mismatch"
        )
    if relation not in Relation.values:
        raise NcmsError("请选择与户主的关系", code="bad_relation")
    category = category or Category.ORDINARY
    if category not in Category.values:
        raise NcmsError("请选择人员类别", code="bad_category")
    clash = Member.objects.filter(id_number=resident.number).exclude(pk=exclude_pk)
    holder = clash.select_related("household").first()
    if holder is not None:
        raise NcmsError(
            f"身份证号{resident.number}已登记在户号{holder.household.number}（{holder.name}），"
            "同一人在全县只能登记一次",
            code="duplicate_id_number",
        )
    return {
        "name": name, "id_number": resident.number, "sex": resident.sex,
        "birth_date": resident.birth_date, "relation": relation, "category": category,
        "phone": _clean_text(phone, label="联系电话", max_length=20),
    }


def _save_member(member: Member, user) -> Member:
    member._history_user = user
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:  # a concurrent save took the same ID number
        raise NcmsError("该身份证号已被登记，同一人在全县只能登记一次", code="duplicate_id_number") from exc
    return member


@transaction.atomic
def household_create(*, user, village: Village, number: str, address: str = "", phone: str = "",
                     bank_name: str = "", bank_account: str = "", head: dict) -> Household:
    """Register a household (建档) with its head as the first member.

    The household number is unique in the county; the co-op card number is "HZ" + number.
    `head` holds the member fields (name, id_number, sex, birth_date, category, phone).
    """
    _require_change(user)
    _village_in_scope(user, village)
    number = _clean_text(number, label="户号", required=True, max_length=30, code="bad_household_number")
    if Household.objects.filter(number=number).exists():
        raise NcmsError(f"户号{number}已存在，户号在全县不能重复", code="duplicate_household_number")
    card_number = card_number_for(number)
    if Household.objects.filter(card_number=card_number).exists():
        raise NcmsError(f"合作医疗证号{card_number}已被使用", code="duplicate_card_number")
    head_values = _member_values(
        name=head.get("name"), id_number=head.get("id_number"), relation=Relation.HEAD,
        category=head.get("category"), sex=head.get("sex"), birth_date=head.get("birth_date"),
        phone=head.get("phone", ""),
    )
    household = Household(
        village=village, number=number, card_number=card_number,
        address=_clean_text(address, label="住址", max_length=200),
        phone=_clean_text(phone, label="联系电话", max_length=20),
        bank_name=_clean_text(bank_name, label="开户银行", max_length=60),
        bank_account=_clean_text(bank_account, label="银行账号", max_length=40),
    )
    household._history_user = user
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError as exc:
        raise NcmsError(f"户号{number}已存在，户号在全县不能重复", code="duplicate_household_number") from exc
    head_member = _save_member(Member(household=household, **head_values), user)
    household.head = head_member
    household._history_user = user
    household.save(update_fields=["head"])
    return household


@transaction.atomic
def household_update(*, user, household: Household, village: Village | None = None, **fields) -> Household:
    """Change a household's village (within the township), address, phone or bank account."""
    _require_change(user)
    household = _household_in_scope(user, household, lock=True)
    unknown = set(fields) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise TypeError(f"unknown household fields: {sorted(unknown)}")
    changed = []
    if village is not None and village.pk != household.village_id:
        household.village = _village_in_scope(user, village)
        changed.append("village")
    limits = {"address": ("住址", 200), "phone": ("联系电话", 20), "bank_name": ("开户银行", 60),
              "bank_account": ("银行账号", 40)}
    for field, value in fields.items():
        label, max_length = limits[field]
        value = _clean_text(value, label=label, max_length=max_length)
        if getattr(household, field) != value:
            setattr(household, field, value)
            changed.append(field)
    if changed:
        household._history_user = user
        household.save(update_fields=changed)
    return household


@transaction.atomic
def member_add(*, user, household: Household, name: str, id_number: str, relation: str,
               category: str = Category.ORDINARY, sex: str | None = None,
               birth_date: date | None = None, phone: str = "") -> Member:
    """Add a member (参合人员) to a household of the user's township; one head per household."""
    _require_change(user)
    household = _household_in_scope(user, household, lock=True)
    values = _member_values(name=name, id_number=id_number, relation=relation, category=category,
                            sex=sex, birth_date=birth_date, phone=phone)
    if relation == Relation.HEAD and household.head_id is not None:
        raise NcmsError("该户已有户主，一户只能有一位户主", code="second_head")
    member = _save_member(Member(household=household, **values), user)
    if relation == Relation.HEAD:
        household.head = member
        household._history_user = user
        household.save(update_fields=["head"])
    return member


@transaction.atomic
def member_update(*, user, member: Member, name: str, id_number: str, relation: str,
                  category: str = Category.ORDINARY, sex: str | None = None,
                  birth_date: date | None = None, phone: str = "") -> Member:
    """Correct a member's details; the ID is validated again and stays unique in the county."""
    _require_change(user)
    member = _member_in_scope(user, member, lock=True)
    household = Household.objects.select_for_update().get(pk=member.household_id)
    values = _member_values(name=name, id_number=id_number, relation=relation, category=category,
                            sex=sex, birth_date=birth_date, phone=phone, exclude_pk=member.pk)
    is_head = household.head_id == member.pk
    if relation == Relation.HEAD and not is_head and household.head_id is not None:
        raise NcmsError("该户已有户主，一户只能有一位户主", code="second_head")
    if is_head and relation != Relation.HEAD:
        raise NcmsError("户主的关系不能直接修改；请先把另一位成员设为户主", code="head_relation")
    changed = [field for field, value in values.items() if getattr(member, field) != value]
    for field in changed:
        setattr(member, field, values[field])
    if changed:
        member._history_user = user
        try:
            with transaction.atomic():
                member.save(update_fields=changed)
        except IntegrityError as exc:
            raise NcmsError("该身份证号已被登记，同一人在全县只能登记一次", code="duplicate_id_number") from exc
    if relation == Relation.HEAD and not is_head:
        household.head = member
        household._history_user = user
        household.save(update_fields=["head"])
    return member


def default_payer(category: str) -> str:
    """Civil affairs pays for the subsidised groups (五保, 低保, 贫困); everyone else pays themself."""
    return Payer.CIVIL_AFFAIRS if category in SUBSIDISED else Payer.SELF


def year_contribution(year: int) -> Decimal | None:
    """The year's individual contribution (policy `contribution.individual`), or None while the
    year's policy is not loaded."""
    version = PolicyVersion.objects.filter(year=year).first()
    return version.policy().contribution.individual if version is not None else None


def _contribution_amount(contribution, year: int) -> Decimal:
    """The amount given, which must be the year's policy amount exactly."""
    try:
        amount = parse_money(contribution)
    except ValueError as exc:
        raise NcmsError(f"缴费金额不正确：{exc}", code="bad_contribution") from exc
    expected = year_contribution(year)
    if expected is None:
        raise NcmsError(no_policy_message(year), code="no_policy")
    if amount != expected:
        raise NcmsError(f"{wrong_amount_message(year, expected)}（填写的是 {amount} 元）",
                        code="bad_contribution")
    return amount


def _receipt_taken(year: int, receipt_no: str) -> NcmsError | None:
    holder = (Enrollment.objects.filter(year=year, receipt_no=receipt_no)
              .select_related("member__household").first())
    if holder is None:
        return None
    return NcmsError(
        f"收据号{receipt_no}在{year}年度已用于户号{holder.member.household.number}的{holder.member.name}，"
        "一个收据号每年只能用一次", code="duplicate_receipt_no")


def _paid_date_checked(paid_date: date | None, year: int) -> date:
    if paid_date is None:
        raise NcmsError("请填写缴费日期", code="missing_paid_date")
    if paid_date.year > year:
        raise NcmsError(f"缴费日期{paid_date:%Y-%m-%d}晚于{year}年度", code="bad_paid_date")
    return paid_date


def _enrollment_save(*, user, member: Member, year: int, amount: Decimal, receipt_no: str,
                     paid_date: date, payer: str | None) -> Enrollment:
    """Check and save one contribution of a locked member (not yet booked in the ledger)."""
    if member.status != MemberStatus.ACTIVE:
        raise NcmsError(f"{member.name}已于{member.status_date:%Y-%m-%d}{member.get_status_display()}，"
                        "不能再登记缴费", code="member_not_on_roll")
    receipt_no = _clean_text(receipt_no, label="收据号", required=True, max_length=40, code="bad_receipt_no")
    payer = payer or default_payer(member.category)
    if payer not in Payer.values:
        raise NcmsError("请选择缴费方式", code="bad_payer")
    existing = Enrollment.objects.filter(member=member, year=year).first()
    if existing is not None:
        raise NcmsError(
            f"{member.name}已经登记了{year}年度的缴费（收据号{existing.receipt_no}），同一人每年只能参合一次",
            code="already_enrolled",
        )
    taken = _receipt_taken(year, receipt_no)
    if taken is not None:
        raise taken
    enrollment = Enrollment(member=member, year=year, contribution=amount, receipt_no=receipt_no,
                            paid_date=paid_date, payer=payer, recorded_by=user)
    enrollment._history_user = user
    try:
        with transaction.atomic():
            enrollment.save()
    except IntegrityError as exc:  # a concurrent save took the member's year or the receipt
        raise _receipt_taken(year, receipt_no) or NcmsError(
            f"{member.name}已经登记了{year}年度的缴费，同一人每年只能参合一次", code="already_enrolled") from exc
    return enrollment


@transaction.atomic
def enrollment_record_contribution(*, user, member: Member, year: int, contribution, receipt_no: str,
                                   paid_date: date, payer: str | None = None) -> Enrollment:
    """Record a member's contribution for a scheme year: from then on they are a participant.

    One enrollment per member per year (and, the ID being unique, per person in the county).
    The amount is the year's policy amount exactly, whoever pays; the receipt number is not used
    by another contribution of the year. The payer defaults to civil affairs for the subsidised
    groups and to self otherwise.
    """
    _require_change(user)
    member = _member_in_scope(user, member, lock=True)
    amount = _contribution_amount(contribution, year)
    paid_date = _paid_date_checked(paid_date, year)
    enrollment = _enrollment_save(user=user, member=member, year=year, amount=amount, receipt_no=receipt_no,
                                  paid_date=paid_date, payer=payer)
    # The contribution is individual income of the fund, booked in the same transaction (contract).
    contributions_book(user=user, enrollments=[enrollment])
    return enrollment


def members_to_enroll(household: Household, year: int) -> list[Member]:
    """The household's members on the roll not enrolled for `year`, head first, then in the order
    added (one who died or moved out of the county is not enrolled again)."""
    members = list(household.members.filter(status=MemberStatus.ACTIVE).exclude(enrollments__year=year)
                   .order_by("id"))
    members.sort(key=lambda m: (m.pk != household.head_id, m.pk))
    return members


@transaction.atomic
def household_record_contributions(*, user, household: Household, year: int, paid_date: date,
                                   receipts: dict[int, str]) -> list[Enrollment]:
    """The whole household pays (整户缴费): record the year's contribution of every member not
    yet enrolled for `year`, each with their own receipt number (`receipts`: member id → receipt
    number), all or nothing. Each at the policy amount, each payer by the member's category
    (civil affairs for 五保, 低保, 贫困), booked as individual income one by one (a void concerns
    one member)."""
    _require_change(user)
    household = _household_in_scope(user, household, lock=True)
    amount = year_contribution(year)
    if amount is None:
        raise NcmsError(no_policy_message(year), code="no_policy")
    paid_date = _paid_date_checked(paid_date, year)
    members = list(Member.objects.select_for_update().filter(pk__in=[m.pk for m in members_to_enroll(household, year)])
                   .order_by("id"))
    if not members:
        raise NcmsError(f"该户成员{year}年度都已参合，没有需要登记的缴费", code="nobody_to_enroll")
    unknown = set(receipts) - {member.pk for member in members}
    if unknown:
        raise NcmsError("收据号只能填给本户尚未参合的成员", code="bad_receipt_no")
    given: dict[str, str] = {}
    for member in members:
        receipt_no = (receipts.get(member.pk) or "").strip()
        if not receipt_no:
            raise NcmsError(f"请填写{member.name}的收据号（每人一张收据）", code="bad_receipt_no")
        if receipt_no in given:
            raise NcmsError(f"收据号{receipt_no}同时填给了{given[receipt_no]}和{member.name}，每人一张收据",
                            code="duplicate_receipt_no")
        given[receipt_no] = member.name
    enrollments = [
        _enrollment_save(user=user, member=member, year=year, amount=amount, receipt_no=receipts[member.pk],
                         paid_date=paid_date, payer=None)
        for member in members
    ]
    contributions_book(user=user, enrollments=enrollments)
    return enrollments


# Claims that hold a member's year: every claim not rejected (claims.models.ClaimStatus, a layer
# above, read through the member's `claims` relation).
REJECTED_CLAIM = "rejected"


@transaction.atomic
def contribution_void(*, user, enrollment: Enrollment, reason: str) -> ContributionVoid:
    """Void a mistaken contribution (fund officer): the member counts as not enrolled for the year
    from then on and may be enrolled again; the money leaves the individual income by a reversing
    entry of that one contribution, dated today (`ledger.services.contribution_void_book`).

    The enrollment is deleted, its history kept: the history rows hold every version and the
    deletion (who, when, the reason), and a `ContributionVoid` keeps what was recorded, who voided
    it, when and why, and the reversing entry. Refused while the member has a claim of that year
    that is not rejected: recover the claim first."""
    if not user_can(user, "fund.void_contribution"):
        raise NcmsError("您没有作废缴费的权限", code="forbidden")
    reason = _clean_text(reason, label="作废原因", required=True, max_length=200, code="missing_reason")
    found = Enrollment.objects.for_user(user).filter(pk=enrollment.pk).values_list("member_id", flat=True).first()
    if found is None:
        raise NcmsError("该缴费记录不存在或已作废", code="not_found")
    member = Member.objects.select_for_update(of=("self",)).select_related("household").get(pk=found)
    enrollment = Enrollment.objects.select_for_update().filter(pk=enrollment.pk).first()
    if enrollment is None:
        raise NcmsError("该缴费记录不存在或已作废", code="not_found")
    claim = (member.claims.filter(year=enrollment.year).exclude(status=REJECTED_CLAIM)
             .order_by("pk").values_list("invoice_no", flat=True).first())
    if claim is not None:
        raise NcmsError(
            f"{member.name}已有{enrollment.year}年度的补偿申请（发票号{claim}），不能作废其缴费："
            "请先追回该申请的补偿", code="has_claim")
    today = timezone.localdate()
    reversal = None
    if enrollment.contribution > ZERO:
        reversal = contribution_void_book(
            user=user, year=enrollment.year, on=today, amount=enrollment.contribution,
            ref=f"void:enrollment:{enrollment.pk}",
            memo=f"缴费作废 {member.name} 收据号{enrollment.receipt_no}：{reason}")
    void = ContributionVoid.objects.create(
        enrollment_id=enrollment.pk, member=member, year=enrollment.year, contribution=enrollment.contribution,
        receipt_no=enrollment.receipt_no, paid_date=enrollment.paid_date, payer=enrollment.payer,
        recorded_by_id=enrollment.recorded_by_id, recorded_at=enrollment.recorded_at, reason=reason,
        voided_by=user, voided_on=today, reversal=reversal)
    enrollment._history_user = user
    enrollment._change_reason = f"缴费作废：{reason}"
    enrollment.delete()
    return void


# ---------------------------------------------------------------------------------------------
# Members' lives: death, moving out of the county, moving household, birth

LEAVINGS = {MemberStatus.DIED: "死亡", MemberStatus.MOVED_OUT: "迁出本县"}


def _event_date(on: date | None, *, what: str, member_birth: date | None = None) -> date:
    """A day that has happened: not after the county's today, not before the member's birth."""
    if on is None:
        raise NcmsError(f"请填写{what}", code="missing_date")
    today = timezone.localdate()
    if on > today:
        raise NcmsError(f"{what}{on:%Y-%m-%d}晚于今天{today:%Y-%m-%d}", code="date_in_future")
    if member_birth is not None and on < member_birth:
        raise NcmsError(f"{what}{on:%Y-%m-%d}早于出生日期{member_birth:%Y-%m-%d}", code="date_before_birth")
    return on


@transaction.atomic
def member_leave(*, user, member: Member, status: str, on: date, reason: str) -> Member:
    """Record that a member died (死亡) or moved out of the county (迁出本县) on `on`, and why.

    The member stays on the household's register with their enrollments, claims and history; from
    then on they are not enrolled again, and a stay admitted after a death is refused
    (claims.eligibility, `member_deceased`). The date is neither in the future nor before birth."""
    _require_change(user)
    member = _member_in_scope(user, member, lock=True)
    if status not in LEAVINGS:
        raise NcmsError("请选择死亡或迁出本县", code="bad_status")
    what = "死亡日期" if status == MemberStatus.DIED else "迁出日期"
    on = _event_date(on, what=what, member_birth=member.birth_date)
    reason = _clean_text(reason, label="原因", required=True, max_length=200, code="missing_reason")
    if member.status != MemberStatus.ACTIVE:
        raise NcmsError(f"{member.name}已于{member.status_date:%Y-%m-%d}{member.get_status_display()}",
                        code="member_not_on_roll")
    member.status, member.status_date, member.status_reason = status, on, reason
    member._history_user = user
    member._change_reason = f"{LEAVINGS[status]}：{reason}"
    member.save(update_fields=["status", "status_date", "status_reason"])
    return member


# what `member_reinstate` undoes, in its history row: "撤销死亡登记：…", "撤销迁出登记：…"
REINSTATED = {MemberStatus.DIED: "死亡", MemberStatus.MOVED_OUT: "迁出"}


@transaction.atomic
def member_reinstate(*, user, member: Member, reason: str) -> Member:
    """Undo a death or move-out recorded by mistake (撤销死亡/迁出登记): the member is on the roll
    again (在册), the date and reason of the leaving cleared; the history row keeps who, when and
    why ("撤销死亡登记：<reason>"), and the earlier row still shows what was recorded.

    Nothing else changes: their enrollments and claims were kept all along; from now on they are
    enrolled again as anyone on the roll. A claim refused `member_deceased` meanwhile was never
    written (the refusal is the answer to the request, not a stored claim), so nothing is reopened:
    the facility or the township office submits it again and it is checked afresh.

    Refused with nothing written for a member on the roll (`member_on_roll`), out of the user's
    scope, for a user who may not change enrollment, and without a reason (at most 200 characters)."""
    _require_change(user)
    member = _member_in_scope(user, member, lock=True)
    reason = _clean_text(reason, label="撤销原因", required=True, max_length=200, code="missing_reason")
    if member.status == MemberStatus.ACTIVE:
        raise NcmsError(f"{member.name}在册，没有死亡或迁出登记可撤销", code="member_on_roll")
    undone = REINSTATED[member.status]
    member.status, member.status_date, member.status_reason = MemberStatus.ACTIVE, None, ""
    member._history_user = user
    member._change_reason = f"撤销{undone}登记：{reason}"
    member.save(update_fields=["status", "status_date", "status_reason"])
    return member


@transaction.atomic
def member_move(*, user, member: Member, to_household_number: str, relation: str, on: date,
                reason: str) -> MemberMove:
    """Move a member to another household of the county (迁户), maybe in another village, with the
    day and the reason: a `MemberMove` keeps from where to where, and the member's history row
    (who, when) the change of household. Their enrollments and claims go with them.

    A township clerk moves members between households of their own township; a move to another
    township's household is done by the county office (county-wide roles). The head of a household
    is not moved (another member is made head first); a member who died or moved out is not moved.
    A household number that is not in the county is refused: moving out of the county is recorded
    as such (`member_leave`)."""
    _require_change(user)
    member = _member_in_scope(user, member, lock=True)
    number = _clean_text(to_household_number, label="迁入户号", required=True, max_length=30,
                         code="bad_household_number")
    target = Household.objects.filter(number=number).select_related("village__township").first()
    if target is None:
        raise NcmsError(f"户号{number}不在本县：迁出本县的，请登记“迁出本县”", code="household_not_in_county")
    if not Household.objects.for_user(user).filter(pk=target.pk).exists():
        raise NcmsError(f"户号{number}属于{target.village.township.name}，不在您所在的乡镇："
                        "迁往其他乡镇的，请由县合管办办理", code="household_out_of_scope")
    if target.pk == member.household_id:
        raise NcmsError(f"{member.name}已经在户号{number}", code="same_household")
    if member.status != MemberStatus.ACTIVE:
        raise NcmsError(f"{member.name}已于{member.status_date:%Y-%m-%d}{member.get_status_display()}，"
                        "不能迁户", code="member_not_on_roll")
    source = Household.objects.select_for_update().get(pk=member.household_id)
    if source.head_id == member.pk:
        raise NcmsError("户主不能迁户；请先把另一位成员设为户主", code="head_moves")
    if relation not in Relation.values or relation == Relation.HEAD:
        raise NcmsError("请选择迁入后与户主的关系（户主除外）", code="bad_relation")
    on = _event_date(on, what="迁移日期", member_birth=member.birth_date)
    reason = _clean_text(reason, label="迁移原因", required=True, max_length=200, code="missing_reason")
    target = Household.objects.select_for_update().get(pk=target.pk)
    move = MemberMove.objects.create(member=member, from_household=source, to_household=target, moved_on=on,
                                     reason=reason, moved_by=user)
    member.household, member.relation = target, relation
    member._history_user = user
    member._change_reason = f"迁户 {source.number} → {target.number}：{reason}"
    member.save(update_fields=["household", "relation"])
    return move


def newborn_payer(household: Household, category: str | None) -> tuple[str, str]:
    """A newborn's category and payer: the category given, else the household head's (the parents'
    contribution rules: civil affairs pays for the subsidised groups)."""
    if not category:
        category = household.head.category if household.head_id else Category.ORDINARY
    return category, default_payer(category)


@transaction.atomic
def newborn_add(*, user, household: Household, name: str, id_number: str, birth_date: date, relation: str,
                receipt_no: str, paid_date: date, sex: str | None = None, category: str | None = None,
                phone: str = "") -> Enrollment:
    """Add a newborn (新生儿) to a household and enroll them for the scheme year of the payment (a
    baby born in late December is paid for in the new year), in one step.

    The birth date is given and must agree with the ID number; it is not in the future. The
    contribution follows the parents' rules: the year's policy amount, the category the head's
    unless given, civil affairs paying for the subsidised groups. Paid within `NEWBORN_DAYS` of
    birth the baby is covered from birth (policy `coverage`, read when a claim is checked)."""
    _require_change(user)
    household = _household_in_scope(user, household, lock=True)
    if birth_date is None:
        raise NcmsError("请填写新生儿的出生日期", code="missing_date")
    _event_date(birth_date, what="出生日期")
    if relation == Relation.HEAD:
        raise NcmsError("新生儿不能是户主", code="bad_relation")
    category, payer = newborn_payer(household, category)
    values = _member_values(name=name, id_number=id_number, relation=relation, category=category, sex=sex,
                            birth_date=birth_date, phone=phone)
    if paid_date is None:
        raise NcmsError("请填写缴费日期", code="missing_paid_date")
    year = paid_date.year
    amount = year_contribution(year)
    if amount is None:
        raise NcmsError(no_policy_message(year), code="no_policy")
    if paid_date > timezone.localdate():
        raise NcmsError(f"缴费日期{paid_date:%Y-%m-%d}晚于今天", code="bad_paid_date")
    if paid_date < values["birth_date"]:
        raise NcmsError(f"缴费日期{paid_date:%Y-%m-%d}早于出生日期{values['birth_date']:%Y-%m-%d}",
                        code="bad_paid_date")
    member = Member(household=household, **values)
    member._change_reason = "新生儿入户"
    member = _save_member(member, user)
    enrollment = _enrollment_save(user=user, member=member, year=year, amount=amount, receipt_no=receipt_no,
                                  paid_date=paid_date, payer=payer)
    contributions_book(user=user, enrollments=[enrollment])
    return enrollment


def covered_from_birth(enrollment: Enrollment) -> bool:
    """Whether a newborn's contribution was paid within `NEWBORN_DAYS` of birth (cover from birth)."""
    return 0 <= (enrollment.paid_date - enrollment.member.birth_date).days <= NEWBORN_DAYS
