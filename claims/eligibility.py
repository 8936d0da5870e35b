"""Whether a claim may be valued, and with which refusal (docs/contract.md, "quote_claims
lines"; docs/rules.md, "Claims": "Refuse, with a clear reason").

One checker for every way in (the township office, the facility's settlement, `quote_claims`),
so a refusal carries the same code everywhere. It works on plain facts (`ClaimFacts`) and on
what the database knows about the member, the facility and the member's other claims, handed in
as small records (`MemberInfo`, `FacilityInfo`, `Stay`): `claims.lookups` reads them for one
claim, `claims.quoting` preloads them for thousands of lines at once. The checks of dates and
stays need no database (`check_dates`, `check_deadline`, `stays_overlap`); the amounts' check is
step 1 of the valuation (`claims.rules.check_amounts`), which `check_claim` runs first.

A claim must also be plausible: discharged no later than today, the county's date (`bad_dates`),
and with a total cost no larger than settings.CLAIM_TOTAL_COST_MAX (`bad_amounts`), whichever
way it comes in (`parse_facts` for the lines of quote_claims and import_claims, `check_claim`
for every way).

Refusal codes, in the order they are checked:
`bad_input` (an addition: a line that is not a claim at all), `bad_amounts`, `bad_dates`,
`no_policy`, `unknown_facility`, `unknown_member`, `not_enrolled`, `member_deceased` (a stay
admitted after the member's recorded death; one admitted on the day of death is valued), `not_yet_covered` (the
policy's `coverage`: a stay admitted before the member's cover starts), `facility_suspended`,
`facility_not_designated`, `duplicate_invoice`, `overlapping_stay`, `bad_referral` (a line
naming a `referral_no` that does not cover its stay: `check_referral`), and `past_deadline` for
township-office claims.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from core.errors import NcmsError
from core.money import FEN, ZERO
from policy.rules import DELIVERY_TYPES, Policy

from . import rules
from .rules import ceiling_message


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """The facts of a claim as the contract's quote_claims input line gives them."""

    id_number: str
    facility: str
    admission_date: date
    discharge_date: date
    total_cost: Decimal
    non_reimbursable_cost: Decimal
    referred: bool = False
    diagnosis: str = ""
    diagnosis_text: str = ""
    delivery: str | None = None
    invoice_no: str | None = None
    # the referral record (转诊单) the claim rests on; when given it must cover the stay and the
    # claim counts as referred (`check_referral`)
    referral_no: str | None = None

    @property
    def year(self) -> int:
        """The scheme year of a claim is the year of its discharge."""
        return self.discharge_date.year


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: int
    category: str
    name: str = ""
    birth_date: date | None = None  # for the newborn's cover from birth (policy `coverage`)
    died_on: date | None = None  # a stay admitted after it is refused (`member_deceased`)


@dataclass(frozen=True, slots=True)
class FacilityInfo:
    id: int
    code: str
    level: str
    status: str
    agreement_start: date
    agreement_end: date
    suspended_from: date | None = None
    name: str = ""
    suspension_reason: str = ""
    past_suspensions: tuple = ()  # ended ones: ((from, until, reason), ...), `until` not included

    def suspended_on(self, day: date) -> bool:
        """Suspended on that day: suspended, and from a date on or before it (no date: always),
        or the day falls in an ended suspension."""
        return ((self.status == "suspended" and (self.suspended_from is None or self.suspended_from <= day))
                or self.past_suspension(day) is not None)

    def past_suspension(self, day: date) -> tuple | None:
        return next((period for period in self.past_suspensions if period[0] <= day < period[1]), None)

    def covers(self, day: date) -> bool:
        return self.agreement_start <= day <= self.agreement_end


def past_periods(stored) -> tuple:
    """Facility.past_suspensions (JSON) as FacilityInfo.past_suspensions."""
    return tuple((date.fromisoformat(period["from"]), date.fromisoformat(period["until"]),
                  period.get("reason", "")) for period in stored or ())


@dataclass(frozen=True, slots=True)
class Stay:
    """Another non-rejected claim of the member: its stay, year and what it holds of the cap."""

    admission_date: date
    discharge_date: date
    year: int
    compensation: Decimal
    claim_id: int | None = None
    facility_id: int | None = None  # where the stay was (None: not known, said as elsewhere)


# An emergency referral (急诊转诊) may be filed up to this many days after the admission.
EMERGENCY_FILING_DAYS = 10


@dataclass(frozen=True, slots=True)
class ReferralInfo:
    """A referral record (`claims.models.Referral`) as a claim's check needs it."""

    id: int
    number: str
    member_id: int
    to_facility_id: int
    date: date
    emergency: bool
    cancelled: bool = False


def referral_problem(referral: ReferralInfo, *, member_id: int, facility_id: int, admission: date,
                     discharge: date) -> str | None:
    """Why `referral` does not cover a stay of member `member_id` at facility `facility_id`
    (None: it covers it). A referral covers the stay when it is not cancelled, names the member
    and the facility, is dated no later than the discharge and on or before the admission, or,
    for an emergency referral, within `EMERGENCY_FILING_DAYS` days after it."""
    number = referral.number
    if referral.cancelled:
        return f"转诊单 {number} 已作废"
    if referral.member_id != member_id:
        return f"转诊单 {number} 不是该参合人员的转诊单"
    if referral.to_facility_id != facility_id:
        return f"转诊单 {number} 转入的不是本次住院的医疗机构"
    if referral.date > discharge:
        return f"转诊单 {number} 的日期 {referral.date} 晚于出院日期 {discharge}"
    if referral.emergency:
        last = admission + timedelta(days=EMERGENCY_FILING_DAYS)
        if referral.date > last:
            return (f"急诊转诊单 {number} 的日期 {referral.date} 超过入院（{admission}）后 "
                    f"{EMERGENCY_FILING_DAYS} 天，最迟应在 {last} 补办")
    elif referral.date > admission:
        return (f"转诊单 {number} 的日期 {referral.date} 晚于入院日期 {admission}："
                "非急诊转诊应在入院前办理")
    return None


def check_referral(*, facts: ClaimFacts, referral: ReferralInfo | None, member_id: int,
                   facility_id: int) -> None:
    """Refuse (`bad_referral`) a claim whose `referral_no` names no referral record, or one that
    does not cover its stay (`referral_problem`)."""
    if not facts.referral_no:
        return
    if referral is None:
        raise NcmsError(f"找不到转诊单号为 {facts.referral_no} 的转诊单", code="bad_referral")
    problem = referral_problem(referral, member_id=member_id, facility_id=facility_id,
                               admission=facts.admission_date, discharge=facts.discharge_date)
    if problem is not None:
        raise NcmsError(problem, code="bad_referral")


# ---------------------------------------------------------------------------------------------
# Reading the facts


def _text(data: dict, key: str, *, required: bool, what: str, limit: int) -> str:
    value = data.get(key)
    if value.__class__ is str and 0 < len(value) <= limit and not value[0].isspace() and not value[-1].isspace():
        return value  # the usual case, checked in one go
    if value is None:
        if required:
            raise NcmsError(f"缺少{what}（{key}）", code="bad_input")
        return ""
    if not isinstance(value, str):
        raise NcmsError(f"{what}（{key}）应为文字，而不是「{value}」", code="bad_input")
    value = value.strip()
    if required and not value:
        raise NcmsError(f"缺少{what}（{key}）", code="bad_input")
    if len(value) > limit:
        raise NcmsError(f"{what}（{key}）最多{limit}个字符", code="bad_input")
    return value


def _date(data: dict, key: str, what: str) -> date:
    value = data.get(key)
    if value is None:
        raise NcmsError(f"缺少{what}（{key}）", code="bad_dates")
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise NcmsError(f"{what}「{value}」应写成 YYYY-MM-DD", code="bad_dates")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise NcmsError(f"{what}「{value}」不是有效的日期", code="bad_dates") from None


def total_cost_max() -> Decimal:
    """The largest total cost a claim may state (settings.CLAIM_TOTAL_COST_MAX, read at each call
    so a changed setting applies at once)."""
    return settings.CLAIM_TOTAL_COST_MAX


def _money(data: dict, key: str, what: str, *, ceiling: Decimal, default: Decimal | None = None) -> Decimal:
    value = data.get(key)
    if value.__class__ is str:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = None
        # the usual case: a plain amount with two places ("123.45")
        if (amount is not None and amount.is_finite() and amount >= 0 and amount.as_tuple().exponent == -2
                and amount <= ceiling):
            return amount
    if value is None:
        if default is not None:
            return default
        raise NcmsError(f"缺少{what}（{key}）", code="bad_amounts")
    if isinstance(value, bool) or isinstance(value, float):
        raise NcmsError(f'{what}「{value}」请写成带引号的十进制字符串，如 "123.45"', code="bad_amounts")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise NcmsError(f"{what}「{value}」不是有效的金额", code="bad_amounts") from None
    else:
        raise NcmsError(f"{what}「{value}」不是有效的金额", code="bad_amounts")
    if not amount.is_finite():
        raise NcmsError(f"{what}「{value}」不是有效的金额", code="bad_amounts")
    if amount < 0:
        raise NcmsError(f"{what}不能为负数（{value}）", code="bad_amounts")
    # before the fen check: quantizing an amount of 27 digits or more fails instead of answering
    if amount > ceiling:
        raise NcmsError(ceiling_message(what, value, ceiling), code="bad_amounts")
    if amount != amount.quantize(FEN):
        raise NcmsError(f"{what}最多两位小数（{value}）", code="bad_amounts")
    return amount.quantize(FEN)


def parse_facts(data) -> ClaimFacts:
    """Read a claim's facts from a contract input line (a dict); refuse what cannot be a claim.

    Missing or malformed identity fields give `bad_input`, dates `bad_dates`, amounts
    `bad_amounts` (an amount above `total_cost_max()` too: the non-reimbursable cost can never
    exceed the total). `non_reimbursable_cost` defaults to 0, `referred` to false, `delivery` to none,
    `referral_no` to none.
    """
    if not isinstance(data, dict):
        raise NcmsError("每一行应为一个 JSON 对象 {...}", code="bad_input")
    id_number = _text(data, "id_number", required=True, what="身份证号", limit=18).upper()
    facility = _text(data, "facility", required=True, what="机构代码", limit=20)
    invoice = data.get("invoice_no")
    invoice_no = _text(data, "invoice_no", required=False, what="发票号", limit=60) if invoice is not None else None
    referred = data.get("referred", False)
    if referred is None:
        referred = False
    if not isinstance(referred, bool):
        raise NcmsError(f"是否转诊（referred）应为 true 或 false，而不是「{referred}」", code="bad_input")
    delivery = data.get("delivery")
    if delivery is not None and delivery not in DELIVERY_TYPES:
        raise NcmsError(f"分娩方式（delivery）「{delivery}」应为 null、normal 或 caesarean", code="bad_input")
    diagnosis = _text(data, "diagnosis", required=False, what="诊断编码", limit=20).upper()
    diagnosis_text = _text(data, "diagnosis_text", required=False, what="诊断", limit=200)
    referral_no = _text(data, "referral_no", required=False, what="转诊单号", limit=30)
    ceiling = total_cost_max()
    total = _money(data, "total_cost", "住院总费用", ceiling=ceiling)
    excluded = _money(data, "non_reimbursable_cost", "目录外（自费）费用", ceiling=ceiling, default=ZERO)
    admission = _date(data, "admission_date", "入院日期")
    discharge = _date(data, "discharge_date", "出院日期")
    return ClaimFacts(
        id_number=id_number, facility=facility, admission_date=admission, discharge_date=discharge,
        total_cost=total, non_reimbursable_cost=excluded, referred=referred, diagnosis=diagnosis,
        diagnosis_text=diagnosis_text, delivery=delivery, invoice_no=invoice_no or None,
        referral_no=referral_no or None,
    )


# ---------------------------------------------------------------------------------------------
# Dates and stays, without the database


def check_dates(*, admission: date, discharge: date, year: int | None = None,
                today: date | None = None) -> None:
    """Refuse (`bad_dates`) a discharge before the admission, a discharge outside the scheme
    year being claimed (the scheme year of a claim is the year of its discharge), or a
    discharge in the future."""
    if discharge < admission:
        raise NcmsError(f"出院日期 {discharge} 早于入院日期 {admission}", code="bad_dates")
    if year is not None and discharge.year != year:
        raise NcmsError(f"出院日期 {discharge} 不在 {year} 年度内", code="bad_dates")
    if today is not None and discharge > today:
        raise NcmsError(f"出院日期 {discharge} 晚于今天 {today}", code="bad_dates")


def claim_deadline(*, discharge: date, deadline_days: int) -> date:
    """The last day a township-office claim (回乡报销) may be brought in."""
    return date.fromordinal(discharge.toordinal() + deadline_days)


def check_deadline(*, discharge: date, submitted_on: date, deadline_days: int) -> None:
    """Refuse (`past_deadline`) a claim brought in more than `claim_deadline_days` after the
    discharge; the last day itself is still in time."""
    last_day = claim_deadline(discharge=discharge, deadline_days=deadline_days)
    if submitted_on > last_day:
        raise NcmsError(
            f"已超过报销期限：出院 {discharge} 后 {deadline_days} 天内（{last_day} 前）应申请报销",
            code="past_deadline",
        )


def stays_overlap(a_admission: date, a_discharge: date, b_admission: date, b_discharge: date) -> bool:
    """Two stays overlap when each was admitted before the other was discharged; a discharge and
    an admission on the same day do not overlap (contract, quote_claims)."""
    return a_admission < b_discharge and b_admission < a_discharge


# ---------------------------------------------------------------------------------------------
# Checking and valuing


def check_claim(
    *,
    facts: ClaimFacts,
    year: int | None,
    policy: Policy | None,
    facility: FacilityInfo | None,
    member: MemberInfo | None,
    paid_date: date | None,
    stays: list[Stay] | tuple[Stay, ...],
    invoice_taken: bool,
    channel: str = "facility",
    submitted_on: date | None = None,
    today: date | None = None,
    ceiling: Decimal | None = None,
    referral: ReferralInfo | None = None,
) -> None:
    """Raise `NcmsError` with the contract's code for the first rule the claim breaks.

    `year` is the scheme year being claimed (None: the discharge's year); `paid_date` the day the
    member's contribution for that year was paid (None: not enrolled); `stays` the member's
    other non-rejected claims; `invoice_taken` whether the facility already has a claim with this
    invoice number. `past_deadline` applies to township-office claims only (`submitted_on`).
    `today` is the county's date (None: `timezone.localdate()`): a discharge after it is refused
    (`bad_dates`); `ceiling` the largest total cost (None: `total_cost_max()`), above it `bad_amounts`;
    `referral` the record of `facts.referral_no` (None: none by that number), checked when the facts
    name one (`bad_referral`).
    """
    rules.check_amounts(total_cost=facts.total_cost, non_reimbursable_cost=facts.non_reimbursable_cost,
                        ceiling=total_cost_max() if ceiling is None else ceiling)
    check_dates(admission=facts.admission_date, discharge=facts.discharge_date, year=year,
                today=today or timezone.localdate())
    if policy is None:
        raise NcmsError(f"{facts.year} 年度尚未载入补偿方案", code="no_policy")
    if facility is None:
        raise NcmsError(f"找不到定点医疗机构「{facts.facility}」", code="unknown_facility")
    if member is None:
        raise NcmsError(f"找不到身份证号为 {facts.id_number} 的参合人员", code="unknown_member")
    if paid_date is None:
        raise NcmsError(f"{member.name or facts.id_number} 未参加 {facts.year} 年度合作医疗（未缴费）",
                        code="not_enrolled")
    if member.died_on is not None and facts.admission_date > member.died_on:
        raise NcmsError(deceased_message(member.name or facts.id_number, member.died_on), code="member_deceased")
    if policy.coverage is not None:
        check_cover(facts=facts, policy=policy, member=member, paid_date=paid_date)
    if facility.suspended_on(facts.admission_date):
        ended = facility.past_suspension(facts.admission_date)
        if ended is not None:
            since, reason = f"{ended[0]} 至 {ended[1] - timedelta(days=1)} ", ended[2]
        else:
            since = f"自 {facility.suspended_from} 起" if facility.suspended_from else ""
            reason = facility.suspension_reason
        raise NcmsError(
            f"{facility.name or facility.code} {since}暂停定点结算（原因：{reason or '未注明'}），"
            f"入院日期 {facts.admission_date} 的住院不能在该机构结算",
            code="facility_suspended")
    if not facility.covers(facts.admission_date):
        raise NcmsError(
            f"入院日期 {facts.admission_date} 不在 {facility.name or facility.code} 的定点协议期"
            f"（{facility.agreement_start} 至 {facility.agreement_end}）内",
            code="facility_not_designated",
        )
    if facts.invoice_no and invoice_taken:
        raise NcmsError(f"发票号 {facts.invoice_no} 在 {facility.code} 已报销过", code="duplicate_invoice")
    for stay in stays:
        if stays_overlap(facts.admission_date, facts.discharge_date, stay.admission_date,
                               stay.discharge_date):
            if stay.facility_id is not None and stay.facility_id == facility.id:
                other = f"另一次住院（{stay.admission_date} 至 {stay.discharge_date}）"
            else:
                # a stay at another facility is that facility's business and the member's: the
                # refusal says only that there is one, never where or when
                other = "在其他机构的一次住院"
            raise NcmsError(
                f"住院期间 {facts.admission_date} 至 {facts.discharge_date} 与该人员{other}重叠",
                code="overlapping_stay",
            )
    if facts.referral_no:
        check_referral(facts=facts, referral=referral, member_id=member.id, facility_id=facility.id)
    if channel == "township" and submitted_on is not None:
        check_deadline(discharge=facts.discharge_date, submitted_on=submitted_on,
                       deadline_days=policy.claim_deadline_days)


def deceased_message(who: str, died_on: date) -> str:
    return f"参合人员 {who} 已于 {died_on:%Y-%m-%d} 死亡，此后入院的住院费用不能报销"


def check_cover(*, facts: ClaimFacts, policy: Policy, member: MemberInfo, paid_date: date) -> None:
    """Refuse (`not_yet_covered`) a stay admitted before the member's cover starts (the policy's
    `coverage`: a contribution paid after the collection deadline waits; a newborn is covered from
    birth). The admission date decides: a stay admitted on the first day of cover is covered."""
    starts = policy.cover_starts(paid_date=paid_date, birth_date=member.birth_date)
    if starts is None or facts.admission_date >= starts:
        return
    who = member.name or facts.id_number
    coverage = policy.coverage
    if starts == member.birth_date:
        why = f"新生儿自出生之日 {starts} 起享受待遇"
    elif not coverage.waiting_days:
        why = f"晚于缴费截止日 {coverage.collection_end}，自缴费之日 {starts} 起享受待遇"
    else:
        why = (f"晚于缴费截止日 {coverage.collection_end}，待遇等待期 {coverage.waiting_days} 天，"
               f"自 {starts} 起享受待遇")
    raise NcmsError(
        f"{who} 于 {paid_date} 缴纳 {facts.year} 年度参合费用，{why}；"
        f"本次入院日期 {facts.admission_date} 在此之前，不能报销",
        code="not_yet_covered",
    )


def used_in_year(stays, year: int) -> Decimal:
    """What the member's other non-rejected claims of the year hold of the annual cap."""
    return sum((stay.compensation for stay in stays if stay.year == year), ZERO)


def value_facts(*, facts: ClaimFacts, policy: Policy, facility: FacilityInfo, member: MemberInfo,
                used: Decimal) -> rules.Valuation:
    return rules.value_claim(
        policy=policy, level=facility.level, category=member.category, total_cost=facts.total_cost,
        non_reimbursable_cost=facts.non_reimbursable_cost, referred=facts.referred or bool(facts.referral_no),
        diagnosis=facts.diagnosis, delivery=facts.delivery, used_this_year=used,
    )
