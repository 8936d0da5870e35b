"""The claims part of the demo county (`seed_demo`): the year's policy and claims in every state.

It plugs into the two stages of demo/county.py:

- `build_claims` (a builder, pure Python, run last on the county's random generator, so the
  people stay those of the same seed) plans `DemoClaimSpec`s in `county.extras["claims"]`, as of
  the county's date when it runs (`as_of`: today, or the year's last day once the demo year is
  over): the workflow's claims (`claim_count`, in every state, older ones further along) and, by
  default (no --claims), the year's volume so far (`plan_settled`): claims of the months whose
  facility statements are paid, enough that the fund usage (paid compensation over the year's
  fund net of the risk reserve, as the fund report counts it) is about `PACE` × the share of the
  year gone by (from June at least `MONTH_PACE` × the month's pace line, so the report does not
  warn of underuse early in a month), and as many a day since, still on their way. Each claim has an
  enrolled member, a diagnosis fitting their age and sex (ICD-10 with its Chinese name), a
  facility level and a facility, a stay of 2–20 days within the year (up to today in the current
  year), admitted once the member's cover has started (the demo policy's `coverage`), that
  overlaps no other stay of the member, costs plausible for the level with 5–20 % outside the
  catalogue and cost lines by category adding up to them, referral, the channel, an
  invoice number unique at the facility (F101-2026-000123), and the state the claim ends in.
- `write_claims` (a writer, in seed_demo's transaction) loads the policy of the year (the
  contract's example file, policy/fixtures/policy-2026.json, with its year replaced and a
  collection deadline at the end of February with a 30-day wait, `demo_coverage`) and then
  enters every planned claim through the claims services, in discharge order, one claim at a time
  from submission to its final state, so every figure is valued by the policy, the annual cap
  holds, and every step is an event with a demo user as its actor:

  - at the county hospital (F101) the `facility` clerk settles it (`claim_settle`);
  - elsewhere the township clerk of the member's township enters it (`claim_submit`), through the
    facility channel or, for some claims discharged within the claim deadline, as a
    township-office claim (回乡报销); the demo has clerks for the first two townships only, so
    claims of members of the others are entered by `admin`;
  - then `reviewer` reviews, `approver` approves; returns (with what to correct) and rejections
    (with a reason from the maintained list) come from the reviewer before review or from the
    approver after it. Paid belongs to the fund and is left out.
"""
from __future__ import annotations

import calendar
import copy
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from accounts.models import Role
from enrollment.rules import FEMALE
from facilities.models import Facility, FacilityStatus, Level
from policy.models import PolicyVersion
from policy.rules import Coverage, parse_policy
from policy.services import policy_load

from . import rules
from .eligibility import ClaimFacts
from .models import Channel, ClaimStatus, CostCategory, Delivery, RejectionReason

POLICY_FIXTURE = Path(__file__).resolve().parents[1] / "policy" / "fixtures" / "policy-2026.json"
FIXTURE_YEAR = 2026
DEFAULT_CLAIMS = 300
MEMBERS_PER_CLAIM = 20  # the default is at most one claim per 20 members (a small demo stays small)
FACILITY_CLERK_AT = "F101"  # the demo `facility` user's hospital (demo.county.COUNTY_HOSPITAL)
# The default demo's fund usage (paid compensation over the year's fund net of the risk reserve)
# is this share of the year gone by: the plan's pace, a little under it as a county keeps it.
PACE = 0.92
# ... and, from June, at least this share of the month's pace line (M/12): the fund report warns
# of underuse below 85 % of it (fund.rules.is_underuse), which early in a month the share of the
# year gone by alone would trip.
MONTH_PACE, MONTH_PACE_FROM = 0.88, 6
# Facility statements of month M are paid on the 5th after it (`STATEMENT_PAY_DAY`); a notice is
# open for objections for settings.NOTICE_OBJECTION_DAYS (7) days after it is posted. Everything
# the demo pays before `payout_cutoff` (today - 8) is posted on a notice that is closed by today.
STATEMENT_PAY_DAY = 5
CLOSED_NOTICE_DAYS = 8
# The demo county collects contributions from January to March (enrollment.demo._paid_date): most
# pay by the end of February; who pays in March waits this many days for cover.
WAITING_DAYS = 30

# --- what is planned --------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    code: str
    text: str
    levels: tuple[str, ...]  # levels a member is treated at for it
    weight: int
    stay: tuple[int, int]  # days, within 2–20
    min_age: int = 0
    max_age: int = 100
    sex: str | None = None
    severity: float = 0.4  # where in the level's cost range it usually lies (0 cheap, 1 dear)
    surgery: bool = False
    delivery: str | None = None


T, C, M, P = Level.TOWNSHIP, Level.COUNTY, Level.MUNICIPAL, Level.PROVINCIAL
DIAGNOSES = [
    Diagnosis("J18.9", "肺炎", (T, C, M), 14, (5, 12), severity=0.35),
    Diagnosis("J20.9", "急性支气管炎", (T, C), 6, (3, 7), severity=0.2),
    Diagnosis("J44.1", "慢性阻塞性肺病伴急性加重", (T, C, M), 8, (7, 15), min_age=50, severity=0.45),
    Diagnosis("A09", "感染性腹泻", (T, C), 4, (2, 5), severity=0.15),
    Diagnosis("K29.7", "胃炎", (T, C), 5, (3, 7), min_age=16, severity=0.2),
    Diagnosis("K35.8", "急性阑尾炎", (C, M), 6, (4, 8), min_age=8, max_age=70, severity=0.3, surgery=True),
    Diagnosis("K80.1", "胆囊结石伴胆囊炎", (C, M), 4, (5, 10), min_age=30, severity=0.45, surgery=True),
    Diagnosis("N20.0", "肾结石", (C, M), 3, (3, 8), min_age=25, max_age=75, severity=0.35),
    Diagnosis("I10", "高血压", (T, C), 8, (3, 10), min_age=40, severity=0.25),
    Diagnosis("I25.1", "动脉粥样硬化性心脏病", (C, M), 5, (5, 12), min_age=50, severity=0.5),
    Diagnosis("I63.9", "脑梗死", (C, M, P), 10, (10, 20), min_age=50, severity=0.6),
    Diagnosis("I21.9", "急性心肌梗死", (M, P), 3, (7, 14), min_age=45, severity=0.7, surgery=True),
    Diagnosis("E11.9", "2型糖尿病", (T, C, M), 7, (5, 12), min_age=35, severity=0.35),
    Diagnosis("H25.9", "老年性白内障", (C, M), 3, (2, 4), min_age=55, severity=0.2, surgery=True),
    Diagnosis("M51.2", "腰椎间盘突出", (C, M), 3, (7, 14), min_age=30, max_age=75, severity=0.4),
    Diagnosis("S72.0", "股骨颈骨折", (C, M, P), 4, (10, 20), min_age=60, severity=0.7, surgery=True),
    Diagnosis("C34.9", "支气管和肺恶性肿瘤", (M, P), 3, (10, 20), min_age=45, severity=0.75),
    Diagnosis("O80", "顺产", (T, C), 6, (2, 4), min_age=20, max_age=40, sex=FEMALE, severity=0.25,
              delivery=Delivery.NORMAL),
    Diagnosis("O82", "剖宫产", (C, M), 4, (5, 8), min_age=20, max_age=42, sex=FEMALE, severity=0.35,
              surgery=True, delivery=Delivery.CAESAREAN),
]
LEVEL_WEIGHTS = {T: 40, C: 40, M: 13, P: 7}
COST_RANGES = {  # total cost of a stay by level, in yuan
    T: (1500, 5000), C: (5000, 25000), M: (15000, 60000), P: (30000, 150000),
}
REFERRED_SHARE = {T: 0.0, C: 0.15, M: 0.75, P: 0.8}
TOWNSHIP_OFFICE_SHARE = {T: 0.05, C: 0.1, M: 0.45, P: 0.45}  # 回乡报销, when the deadline allows
STATE_SHARES = [  # (state, share, maturity: older claims are further along)
    (ClaimStatus.APPROVED, 0.40, 0),
    (ClaimStatus.REJECTED, 0.08, 1),
    (ClaimStatus.RETURNED, 0.10, 2),
    (ClaimStatus.REVIEWED, 0.20, 3),
    (ClaimStatus.SUBMITTED, 0.22, 4),
]
RETURN_NOTES = [
    "发票复印件不清晰，请补交发票原件",
    "缺出院小结，请补交后重新提交",
    "费用清单与发票金额不一致，请核对",
    "转诊单缺少县合管办盖章，请补盖后提交",
    "身份证复印件不清晰，请补交",
]
REJECT_REASONS = [  # (reason code of the maintained list, note)
    ("documents_missing", "多次通知补交出院小结和费用清单，逾期未补交"),
    ("outside_catalog", "主要费用为目录外药品和耗材，不予补偿"),
    ("duplicate", "同一次住院已在其他机构报销"),
    ("other", "经核查为交通事故伤，应由肇事方承担"),
]

REASON_TEXTS = {"documents_missing": "材料不全", "outside_catalog": "目录外费用", "duplicate": "重复报销",
                "other": "其他"}


@dataclass
class CostLineSpec:
    category: str
    amount: Decimal
    in_catalog: bool = True


@dataclass
class DemoClaimSpec:
    id_number: str
    township_code: str  # of the member
    facility_code: str
    level: str
    channel: str
    diagnosis: Diagnosis
    admission_date: date
    discharge_date: date
    total_cost: Decimal
    non_reimbursable_cost: Decimal
    referred: bool
    cost_lines: list[CostLineSpec]
    invoice_no: str = ""
    state: str = ClaimStatus.SUBMITTED
    note: str = ""  # what to correct (returned) or why (rejected)
    reason_code: str = ""  # rejected
    by_approver: bool = False  # returned/rejected after review, by the approver
    settled: bool = False  # planned for the year's volume (`plan_settled`), not for the workflow

    def facts(self, referral_no: str | None = None) -> ClaimFacts:
        return ClaimFacts(
            id_number=self.id_number, facility=self.facility_code, admission_date=self.admission_date,
            discharge_date=self.discharge_date, total_cost=self.total_cost,
            non_reimbursable_cost=self.non_reimbursable_cost, referred=self.referred,
            diagnosis=self.diagnosis.code, diagnosis_text=self.diagnosis.text,
            delivery=self.diagnosis.delivery, invoice_no=self.invoice_no, referral_no=referral_no,
        )


@dataclass
class _Planner:
    rng: random.Random
    first: date  # earliest admission
    last: date  # latest discharge
    window_first: date | None  # earliest discharge a township-office claim may still have
    coverage: Coverage | None = None  # the policy's: no stay is admitted before cover starts
    stays: dict[str, list[tuple[date, date]]] = field(default_factory=dict)


def claim_count(config) -> int:
    """--claims, or by default 300 but at most one per 20 members."""
    if config.claims is not None:
        return max(0, config.claims)
    return min(DEFAULT_CLAIMS, config.members // MEMBERS_PER_CLAIM)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _fen(rng: random.Random, low: float, high: float, mode: float) -> int:
    return round(rng.triangular(low, high, mode) * 100)


def money_from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _split(rng: random.Random, fen: int, weights: dict[str, float]) -> dict[str, int]:
    """`fen` split over the categories by weight, in whole fen adding up exactly."""
    whole = sum(weights.values())
    parts = {category: int(fen * weight / whole) for category, weight in weights.items()}
    first = next(iter(parts))
    parts[first] += fen - sum(parts.values())
    return parts


def cost_lines_for(rng: random.Random, *, diagnosis: Diagnosis, level: str, days: int, total: int,
                outside: int) -> list[CostLineSpec]:
    inside = total - outside
    bed_rate = {T: 30, C: 60, M: 90, P: 120}[level]
    weights = {
        CostCategory.DRUGS: rng.uniform(0.30, 0.45),
        CostCategory.TESTS: rng.uniform(0.12, 0.22),
        CostCategory.TREATMENT: rng.uniform(0.08, 0.18),
        CostCategory.BEDS: min(0.15, days * bed_rate * 100 / max(inside, 1)),
        CostCategory.MATERIALS: rng.uniform(0.04, 0.10),
        CostCategory.OTHER: rng.uniform(0.01, 0.03),
    }
    if diagnosis.surgery:
        weights[CostCategory.SURGERY] = rng.uniform(0.15, 0.30)
    lines = [CostLineSpec(category, money_from_fen(amount)) for category, amount in _split(rng, inside, weights).items()]
    out_weights = {CostCategory.DRUGS: rng.uniform(0.55, 0.8), CostCategory.MATERIALS: rng.uniform(0.2, 0.45)}
    lines += [CostLineSpec(category, money_from_fen(amount), in_catalog=False)
              for category, amount in _split(rng, outside, out_weights).items() if amount]
    return lines


def _stay(planner: _Planner, id_number: str, days: int, *, first: date, last: date):
    """An admission and discharge `days` apart within [first, last] overlapping none of the
    member's other stays (a discharge and an admission on the same day do not overlap), or None."""
    days = min(days, (last - first).days)
    if days < 1:
        return None
    taken = planner.stays.get(id_number, [])
    for _ in range(8):
        admission = first + timedelta(days=planner.rng.randint(0, (last - first).days - days))
        discharge = admission + timedelta(days=days)
        if all(not (admission < other_out and other_in < discharge) for other_in, other_out in taken):
            return admission, discharge
    return None


def _plan_one(planner: _Planner, county, member, township_code: str, facilities) -> DemoClaimSpec | None:
    rng = planner.rng
    age = _age(member.birth_date, planner.first)
    options, weights = [], []
    for diagnosis in DIAGNOSES:
        if not diagnosis.min_age <= age <= diagnosis.max_age:
            continue
        if diagnosis.sex is not None and diagnosis.sex != member.sex:
            continue
        for level in diagnosis.levels:
            options.append((diagnosis, level))
            weights.append(diagnosis.weight * LEVEL_WEIGHTS[level])
    if not options:
        return None
    diagnosis, level = rng.choices(options, weights)[0]
    office = (planner.window_first is not None and rng.random() < TOWNSHIP_OFFICE_SHARE[level])
    channel = Channel.TOWNSHIP if office else Channel.FACILITY
    days = rng.randint(*diagnosis.stay)
    first = planner.first
    if planner.coverage is not None and member.enrollment is not None:
        starts = planner.coverage.cover_starts(paid_date=member.enrollment.paid_date, birth_date=member.birth_date)
        if starts is not None:
            first = max(first, starts)
    if office:
        # discharged within the claim deadline: admitted up to `days` before the window opens
        first = max(first, planner.window_first - timedelta(days=days))
        stay = _stay(planner, member.id_number, days, first=first, last=planner.last)
        if stay and stay[1] < planner.window_first:
            stay = None
    else:
        stay = _stay(planner, member.id_number, days, first=first, last=planner.last)
    if stay is None:
        return None
    admission, discharge = stay
    facility = _facility(rng, level, township_code, admission, facilities)
    if facility is None:
        return None
    low, high = COST_RANGES[level]
    total = _fen(rng, low, high, low + (high - low) * diagnosis.severity)
    outside = round(total * rng.uniform(0.05, 0.20))
    planner.stays.setdefault(member.id_number, []).append((admission, discharge))
    return DemoClaimSpec(
        id_number=member.id_number, township_code=township_code, facility_code=facility.code,
        level=level, channel=channel, diagnosis=diagnosis, admission_date=admission,
        discharge_date=discharge, total_cost=money_from_fen(total), non_reimbursable_cost=money_from_fen(outside),
        referred=rng.random() < REFERRED_SHARE[level],
        cost_lines=cost_lines_for(rng, diagnosis=diagnosis, level=level, days=(discharge - admission).days,
                               total=total, outside=outside),
    )


def open_on(facility, day: date) -> bool:
    if not facility.agreement_start <= day <= facility.agreement_end:
        return False
    suspended = facility.status == FacilityStatus.SUSPENDED and (
        facility.suspended_from is None or facility.suspended_from <= day)
    return not suspended


def _facility(rng: random.Random, level: str, township_code: str, admission: date, facilities):
    """The member's own township health centre mostly; a county hospital, F101 most often."""
    candidates = [f for f in facilities if f.level == level and open_on(f, admission)]
    if not candidates:
        return None
    if level == T:
        own = [f for f in candidates if f.township_code == township_code]
        if own and rng.random() < 0.85:
            return own[0]
    if level == C:
        return rng.choices(candidates, [3 if f.code == FACILITY_CLERK_AT else 1 for f in candidates])[0]
    return rng.choice(candidates)


def _assign_states(rng: random.Random, claims: list[DemoClaimSpec]) -> None:
    """Every state in its share (each at least once from 5 claims on), older claims further along."""
    n = len(claims)
    counts = [int(n * share) for _, share, _ in STATE_SHARES]
    order = sorted(range(len(STATE_SHARES)), key=lambda i: n * STATE_SHARES[i][1] - counts[i], reverse=True)
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    if n >= len(STATE_SHARES):
        for i, count in enumerate(counts):
            if count == 0:
                counts[i] = 1
                counts[max(range(len(counts)), key=lambda j: counts[j])] -= 1
    keyed = [(maturity + rng.uniform(-1.5, 1.5), state)
             for (state, _, maturity), count in zip(STATE_SHARES, counts) for _ in range(count)]
    states = [state for _, state in sorted(keyed, key=lambda item: item[0])]
    for claim, state in zip(sorted(claims, key=lambda c: c.discharge_date), states):
        claim.state = state
        if state == ClaimStatus.RETURNED:
            claim.note = rng.choice(RETURN_NOTES)
            claim.by_approver = rng.random() < 0.3
        elif state == ClaimStatus.REJECTED:
            claim.reason_code, claim.note = rng.choice(REJECT_REASONS)
            claim.by_approver = rng.random() < 0.3


def number_invoices(rng: random.Random, claims: list[DemoClaimSpec], year: int) -> None:
    """Invoices per facility in discharge order, with gaps for patients outside the scheme."""
    serials: dict[str, int] = {}
    for claim in sorted(claims, key=lambda c: (c.discharge_date, c.id_number)):
        serial = serials.get(claim.facility_code, rng.randint(1, 200)) + rng.randint(1, 40)
        serials[claim.facility_code] = serial
        claim.invoice_no = f"{claim.facility_code}-{year}-{serial:06d}"


def as_of(year: int, today: date) -> date:
    """The last day the demo of `year` shows: today, or the year's last day once it is over."""
    return min(today, date(year, 12, 31))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def payout_cutoff(today: date) -> date:
    """The last day a demo payout may have been made on and still be on a notice whose objection
    period is over by today (publicity.demo posts one fresh payout after it)."""
    return today - timedelta(days=CLOSED_NOTICE_DAYS)


def statement_months(year: int, today: date) -> list[int]:
    """The months of `year` whose facility statements the demo has paid, each on the 5th after the
    month's end, by the payout cutoff."""
    cutoff = payout_cutoff(today)
    return [m for m in range(1, 13) if month_end(year, m) + timedelta(days=STATEMENT_PAY_DAY) <= cutoff]


def waiting_facility(claims: list[DemoClaimSpec]) -> str | None:
    """The facility whose statements all wait for the cashier: of the approved facility-channel
    claims, the facility with most of them, leaving out the `facility` user's own hospital (whose
    paid statements that user sees)."""
    owed: dict[str, int] = {}
    for claim in claims:
        if (claim.state == ClaimStatus.APPROVED and claim.channel == Channel.FACILITY
                and claim.facility_code != FACILITY_CLERK_AT):
            owed[claim.facility_code] = owed.get(claim.facility_code, 0) + 1
    return min(owed, key=lambda code: (-owed[code], code)) if owed else None


def build_claims(county, rng: random.Random) -> None:
    """Plan `claim_count(config)` claims of enrolled members into county.extras["claims"]; by
    default (no --claims) add the year's volume so far (`plan_settled`)."""
    config = county.config
    year = config.year
    wanted = claim_count(config)
    today = timezone.localdate()
    # never discharged after today: a claim of a later day is refused (bad_dates)
    first, last = date(year, 1, 1), as_of(year, today)
    window_first = None
    if first <= today <= date(year + 1, 3, 31):
        # a township-office claim comes in within the deadline of its discharge (90 days in the
        # example policy) and never before the discharge
        window_first = max(first, today - timedelta(days=_deadline_days()))
        if window_first > last:
            window_first = None
    planner = _Planner(rng=rng, first=first, last=last, window_first=window_first, coverage=demo_coverage(year))
    enrolled = [(m, h.village_code[:9]) for h in county.households for m in h.members if m.enrollment]
    claims: list[DemoClaimSpec] = []
    attempts = 0
    while enrolled and len(claims) < wanted and attempts < wanted * 20:
        attempts += 1
        member, township_code = rng.choice(enrolled)
        planned = _plan_one(planner, county, member, township_code, county.facilities)
        if planned is not None:
            claims.append(planned)
    number_invoices(rng, claims, year)
    # the states by channel: the township office's claims (recent, within the claim deadline)
    # reach approval too, so the cashier has households to pay
    for channel in (Channel.FACILITY, Channel.TOWNSHIP):
        _assign_states(rng, [claim for claim in claims if claim.channel == channel])
    waiting = waiting_facility(claims)
    if config.claims is None and claims:
        claims += plan_settled(planner, county, enrolled, claims, waiting=waiting, today=today)
        number_invoices(rng, claims, year)
    county.extras["claims"] = claims
    county.extras["waiting_facility"] = waiting


def fund_available(county) -> Decimal:
    """The year's fund net of the risk reserve, as the demo books it: every enrolled member's
    contribution and the policy's subsidies for them (demo.county.write_fund_income)."""
    policy = parse_policy(policy_document(county.config.year))
    enrolled = sum(1 for m in county.members() if m.enrollment is not None)
    raised = enrolled * policy.contribution.total
    return raised * (1 - policy.risk_reserve_rate)


def plan_settled(planner: _Planner, county, enrolled, workflow: list[DemoClaimSpec], *, waiting: str | None,
                 today: date) -> list[DemoClaimSpec]:
    """The year's volume so far, besides the workflow claims: facility-channel claims discharged in
    the months whose statements the demo has paid (`statement_months`), approved (publicity.demo
    pays them on those statements) until their compensation and the workflow's payouts reach
    PACE × the share of the year gone by (from June at least MONTH_PACE × M/12) × the available
    fund; then, at the same daily rate,
    claims discharged since, still on their way (approved, reviewed or submitted)."""
    rng = planner.rng
    year = county.config.year
    months = statement_months(year, today)
    last = as_of(year, today)
    if not months:
        return []
    paid_until = month_end(year, months[-1])
    elapsed = ((last - date(year, 1, 1)).days + 1) / ((date(year, 12, 31) - date(year, 1, 1)).days + 1)
    policy = parse_policy(policy_document(year))
    categories = {m.id_number: m.category for m, _ in enrolled}
    used: dict[str, Decimal] = {}

    def compensation(claim: DemoClaimSpec) -> Decimal:
        valuation = rules.value_claim(
            policy=policy, level=claim.level, category=categories[claim.id_number],
            total_cost=claim.total_cost, non_reimbursable_cost=claim.non_reimbursable_cost,
            referred=claim.referred, diagnosis=claim.diagnosis.code, delivery=claim.diagnosis.delivery,
            used_this_year=used.get(claim.id_number, Decimal("0")))
        used[claim.id_number] = used.get(claim.id_number, Decimal("0")) + valuation.compensation
        return valuation.compensation

    # what the workflow's approved claims bring: the statements pay their facility-channel ones,
    # the cashier about two thirds of the township office's
    paid = Decimal("0")
    for claim in workflow:
        value = compensation(claim) if claim.state != ClaimStatus.REJECTED else Decimal("0")
        if claim.state != ClaimStatus.APPROVED:
            continue
        if claim.channel == Channel.FACILITY and claim.facility_code != waiting and claim.discharge_date <= paid_until:
            paid += value
        elif claim.channel == Channel.TOWNSHIP:
            paid += value * Decimal("0.67")
    share = PACE * elapsed
    if last.month >= MONTH_PACE_FROM:
        share = max(share, MONTH_PACE * last.month / 12)
    target = Decimal(share) * fund_available(county)

    def plan(first: date, until: date) -> DemoClaimSpec | None:
        for _ in range(20):
            member, township_code = rng.choice(enrolled)
            window = _Planner(rng=rng, first=first, last=until, window_first=None,
                              coverage=planner.coverage, stays=planner.stays)
            planned = _plan_one(window, county, member, township_code, county.facilities)
            if planned is None:
                continue
            if planned.facility_code == waiting or planned.channel != Channel.FACILITY:
                planner.stays[planned.id_number].remove((planned.admission_date, planned.discharge_date))
                continue
            planned.settled = True
            planned.state = ClaimStatus.APPROVED
            return planned
        return None

    settled: list[DemoClaimSpec] = []
    while paid < target and len(settled) < len(enrolled):
        planned = plan(date(year, 1, 1), paid_until)
        if planned is None:
            break
        paid += compensation(planned)
        settled.append(planned)
    if last > paid_until and settled:
        rate = len(settled) / ((paid_until - date(year, 1, 1)).days + 1)
        recent = []
        for _ in range(round(rate * (last - paid_until).days)):
            planned = plan(paid_until + timedelta(days=1) - timedelta(days=20), last)
            if planned is not None and planned.discharge_date > paid_until:
                recent.append(planned)
            elif planned is not None:
                planned.settled = True  # discharged in a paid month after all: paid with it
                settled.append(planned)
        # older ones further along: approved (on the next statement), reviewed, submitted
        recent.sort(key=lambda c: c.discharge_date)
        for index, claim in enumerate(recent):
            share = index / len(recent)
            claim.state = (ClaimStatus.APPROVED if share < 0.5 else
                           ClaimStatus.REVIEWED if share < 0.75 else ClaimStatus.SUBMITTED)
        settled += recent
    if not any(c.discharge_date.month == last.month for c in workflow + settled):
        # early in a month: someone discharged today, settled at the facility's desk
        planned = plan(last - timedelta(days=2), last)
        if planned is not None and planned.discharge_date == last:
            planned.state = ClaimStatus.SUBMITTED
            settled.append(planned)
    return settled


# --- writing ----------------------------------------------------------------------------------


def demo_coverage(year: int) -> Coverage:
    """When cover starts in the demo county: contributions paid after the end of February wait
    `WAITING_DAYS`."""
    return Coverage(collection_end=date(year, 2, 28), waiting_days=WAITING_DAYS)


def policy_document(year: int) -> dict:
    """The contract's example policy (policy/fixtures/policy-2026.json) for `year`, with the demo's
    `coverage` (`demo_coverage`)."""
    document = json.loads(POLICY_FIXTURE.read_text(encoding="utf-8"))
    document = copy.deepcopy(document)
    document["year"] = year
    document["name"] = document["name"].replace(str(FIXTURE_YEAR), str(year))
    coverage = demo_coverage(year)
    document["coverage"] = {"collection_end": coverage.collection_end.isoformat(),
                            "waiting_days": coverage.waiting_days}
    return document


def _deadline_days() -> int:
    return int(json.loads(POLICY_FIXTURE.read_text(encoding="utf-8"))["claim_deadline_days"])


def write_claims(ctx) -> None:
    """Load the year's policy, then enter every planned claim through the services."""
    from . import services

    county = ctx.county
    users = ctx.users
    admin = users["admin"]
    policy_load(data=policy_document(county.config.year), user=admin)
    ctx.summary["policies"] = 1
    clerks = {user.township_id: user for user in users.values() if user.role == Role.TOWNSHIP_CLERK}
    reasons = {code: RejectionReason.objects.get_or_create(code=code, defaults={"text": text})[0]
               for code, text in REASON_TEXTS.items()}  # seeded by a migration; a flush empties it
    reviewer, approver, facility_clerk = users["reviewer"], users["approver"], users["facility"]
    counts = {state: 0 for state in ClaimStatus.values}
    reduced = PolicyVersion.objects.get(year=county.config.year).policy().unreferred_reduction.levels
    referrals = 0
    for spec in sorted(county.extras.get("claims", []), key=lambda c: (c.discharge_date, c.invoice_no)):
        lines = [{"category": line.category, "amount": line.amount, "in_catalog": line.in_catalog}
                 for line in spec.cost_lines]
        clerk = clerks.get(ctx.townships[spec.township_code], admin)
        referral_no = None
        if spec.referred and spec.level in reduced:
            referrals += 1
            referral_no = _referral_for(spec, user=clerk, township_id=ctx.townships[spec.township_code],
                                        number=f"ZZ-{county.config.year}-{referrals:05d}")
        if spec.channel == Channel.FACILITY and spec.facility_code == FACILITY_CLERK_AT:
            claim, _ = services.claim_settle(user=facility_clerk, facts=spec.facts(referral_no), cost_lines=lines)
        else:
            claim = services.claim_submit(user=clerk, facts=spec.facts(referral_no), channel=spec.channel,
                                          cost_lines=lines)
        _advance(claim, spec, reviewer=reviewer, approver=approver, reasons=reasons)
        counts[spec.state] += 1
    ctx.summary["referrals"] = referrals
    ctx.summary["claims"] = sum(counts.values())
    ctx.summary.update({f"claims_{state}": count for state, count in counts.items()})


def _referral_for(spec: DemoClaimSpec, *, user, township_id: int, number: str) -> str:
    """Issue the referral a referred claim rests on: from a township health centre of the member's
    township (any, when the township has none), the day before the admission."""
    from . import services

    centres = Facility.objects.filter(level=Level.TOWNSHIP).order_by("code")
    sender = centres.filter(township_id=township_id).first() or centres.first()
    referral = services.referral_issue(
        user=user, number=number, id_number=spec.id_number, from_facility=sender,
        to_facility=Facility.objects.get(code=spec.facility_code),
        day=spec.admission_date - timedelta(days=1), reason=f"{spec.diagnosis.text}，需上级医院诊治")
    return referral.number


def _advance(claim, spec: DemoClaimSpec, *, reviewer, approver, reasons) -> None:
    from . import services

    state = spec.state
    reviewed = state in (ClaimStatus.REVIEWED, ClaimStatus.APPROVED) or (
        state in (ClaimStatus.RETURNED, ClaimStatus.REJECTED) and spec.by_approver)
    if reviewed:
        claim = services.claim_review(user=reviewer, claim=claim)
    actor = approver if spec.by_approver else reviewer
    if state == ClaimStatus.APPROVED:
        services.claim_approve(user=approver, claim=claim)
    elif state == ClaimStatus.RETURNED:
        services.claim_return(user=actor, claim=claim, note=spec.note)
    elif state == ClaimStatus.REJECTED:
        services.claim_reject(user=actor, claim=claim, reason=reasons[spec.reason_code], note=spec.note)

