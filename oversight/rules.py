"""Claim flags (疑点) as pure rules: no ORM, no database; `oversight.flags` feeds them rows.

Which claims count: every claim that is not rejected (submitted, returned, reviewed, approved,
paid). A rejected claim is neither flagged nor anyone's "previous stay" or reference: the fund
pays nothing for it. A claim belongs to the month of its discharge (contract: "claims
discharged in that month").

Kinds (`KINDS`):

- `readmission_15d` (分解住院, contract): the claim's admission comes within 15 days after the
  same member's previous discharge, at any facility. "Previous" is the member's claim just
  before it, ordered by admission date (then discharge date, then id). The gap is
  admission − previous discharge in whole days and the claim is flagged when 0 ≤ gap ≤ 15:
  15 days is flagged, 16 is not. A transfer on the discharge day (gap 0, usually another
  facility) *is* flagged — it is "within 15 days after" the discharge and the contract names no
  exception; the detail says "同日转入" so the reviewer sees at once it is a same-day transfer.
  (A negative gap is an overlap, see `overlapping_stay`.)
- `cost_outlier` (费用畸高): total cost far above what facilities of the same level charge for the
  same diagnosis group (ICD-10's first 3 characters, upper case). Reference: the group's
  non-rejected claims discharged in the 12 months ending with the flagged month. Only groups of
  at least `MIN_GROUP` (20) claims are judged. Flagged when
  total_cost > median + K × max(1.4826 × MAD, 10 % of the median), K = 5 — MAD is the median
  absolute deviation, scaled by 1.4826 to estimate a standard deviation robustly (a few padded
  bills cannot drag the yardstick up the way they would a mean and standard deviation); the
  10 % floor keeps a group of near-identical bills from flagging every fen above the median.
- `long_stay` (住院日异常): length of stay (discharge − admission, days) above the same group's
  median + K × max(1.4826 × MAD, 1 day), same reference and minimum group; or, whatever the group,
  more than `LONG_STAY_DAYS` (60) days.
- `non_reimbursable_share` (目录外费用占比过高): the claim's non-reimbursable share of its total
  cost above its facility level's median share + K × max(1.4826 × MAD, 0.04) (so at least 20
  points above the norm), reference the level's claims of the same 12 months, at least
  `MIN_GROUP` of them.
- `overlapping_stay` (同时住院): another non-rejected stay of the same member overlaps this one
  (each admitted before the other was discharged; a discharge and an admission on the same day
  do not overlap — contract, quote_claims).
- `no_daily_charges` (挂床住院嫌疑): a stay of at least one night whose cost lines carry no bed
  charge (no `beds` line, or beds adding up to 0). Claims without cost lines are not judged.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_noop  # marks words for makemessages; returns them as given

READMISSION_DAYS = 15
K = 5
MAD_SCALE = 1.4826
MIN_GROUP = 20
LONG_STAY_DAYS = 60
COST_FLOOR_SHARE = 0.10  # the scaled MAD is at least 10 % of the median cost
LOS_FLOOR_DAYS = 1.0
SHARE_FLOOR = 0.04
REFERENCE_MONTHS = 12

READMISSION = "readmission_15d"
COST_OUTLIER = "cost_outlier"
LONG_STAY = "long_stay"
NON_REIMBURSABLE_SHARE = "non_reimbursable_share"
OVERLAPPING_STAY = "overlapping_stay"
NO_DAILY_CHARGES = "no_daily_charges"
KINDS = (READMISSION, COST_OUTLIER, LONG_STAY, NON_REIMBURSABLE_SHARE, OVERLAPPING_STAY, NO_DAILY_CHARGES)
KIND_WORDS = {
    READMISSION: gettext_noop("15日内再住院"),
    COST_OUTLIER: gettext_noop("费用畸高"),
    LONG_STAY: gettext_noop("住院日异常"),
    NON_REIMBURSABLE_SHARE: gettext_noop("目录外费用占比过高"),
    OVERLAPPING_STAY: gettext_noop("同时住院"),
    NO_DAILY_CHARGES: gettext_noop("无床位费"),
}


def diagnosis_group(code: str) -> str:
    """ICD-10 category: the first 3 characters, upper case ("k35.8" → "K35"); "" when none."""
    return (code or "").strip().upper()[:3]


@dataclass(frozen=True)
class Robust:
    """A group's robust yardstick: size, median and (unscaled) median absolute deviation."""

    n: int
    median: float
    mad: float

    def threshold(self, floor: float) -> float:
        return self.median + K * max(MAD_SCALE * self.mad, floor)


def robust(values) -> Robust:
    """Median and MAD of the values (PostgreSQL's percentile_cont(0.5) gives the same median)."""
    values = [float(v) for v in values]
    if not values:
        return Robust(0, 0.0, 0.0)
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return Robust(len(values), float(median), float(mad))


def cost_threshold(stats: Robust) -> float | None:
    """Total cost in fen above which a claim of the group is an outlier; None for a small group."""
    if stats.n < MIN_GROUP:
        return None
    return stats.threshold(COST_FLOOR_SHARE * stats.median)


def los_threshold(stats: Robust) -> float:
    """Days above which a stay is long: the group's robust bound (large groups), at most 60."""
    if stats.n < MIN_GROUP:
        return float(LONG_STAY_DAYS)
    return min(stats.threshold(LOS_FLOOR_DAYS), float(LONG_STAY_DAYS))


def share_threshold(stats: Robust) -> float | None:
    if stats.n < MIN_GROUP:
        return None
    return stats.threshold(SHARE_FLOOR)


# The words of each flag's detail, one template each: the flag stores them filled in Chinese (the
# county's record); `detail_parse` finds a stored detail's template and values again, so a page can
# show it in the reader's language (ClaimFlag.detail_words).
DETAIL_COST = gettext_noop("总费用 %(total)s 元，高于同级别同病种（%(group)s，%(n)s 例）中位数 %(median)s 元的异常上限 %(bound)s 元")
DETAIL_LONG_STAY = gettext_noop("住院 %(days)s 天，超过 %(limit)s 天")
DETAIL_LONG_STAY_GROUP = gettext_noop("住院 %(days)s 天，高于同级别同病种（%(group)s，%(n)s 例）中位数 %(median)s 天的异常上限 %(bound)s 天")
DETAIL_SHARE = gettext_noop("目录外费用占 %(share)s，同级别机构中位数 %(median)s，异常上限 %(bound)s")
DETAIL_NO_BEDS = gettext_noop("住院 %(days)s 天，费用明细中没有床位费")
DETAIL_SAME_DAY = gettext_noop("出院当日同日转入（上次住院 %(invoice)s，%(where)s）")
DETAIL_READMISSION = gettext_noop("距上次出院 %(gap)s 天再次入院（上次住院 %(invoice)s，%(where)s）")
DETAIL_OVERLAP = gettext_noop("与同一人员的另一次住院（%(invoice)s）时间重叠")
DETAIL_OVERLAP_UNNAMED = gettext_noop("与同一人员的另一次住院时间重叠")
THIS_FACILITY = gettext_noop("本院")
DETAILS = (DETAIL_COST, DETAIL_LONG_STAY, DETAIL_LONG_STAY_GROUP, DETAIL_SHARE, DETAIL_NO_BEDS, DETAIL_SAME_DAY,
           DETAIL_READMISSION, DETAIL_OVERLAP, DETAIL_OVERLAP_UNNAMED)


def _detail_pattern(template: str) -> re.Pattern:
    escaped = re.escape(template)
    return re.compile("^" + re.sub(r"%\\\(([a-z_]+)\\\)s", r"(?P<\1>.+?)", escaped) + "$")


_DETAIL_PATTERNS = [(template, _detail_pattern(template)) for template in DETAILS]


def detail_parse(detail: str) -> tuple[str, dict[str, str]] | None:
    """The template a stored flag detail was written from and its values; None for other words."""
    for template, pattern in _DETAIL_PATTERNS:
        match = pattern.match(detail)
        if match:
            return template, match.groupdict()
    return None


def overlap_detail(other_invoice: str) -> str:
    return DETAIL_OVERLAP % {"invoice": other_invoice} if other_invoice else DETAIL_OVERLAP_UNNAMED


def yuan(fen: float) -> str:
    """A threshold in fen as yuan with two places (for the words of a flag)."""
    return str((Decimal(str(fen)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def percent(ratio: float) -> str:
    return f"{Decimal(str(ratio * 100)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def readmission(admission: date, previous_discharge: date | None) -> int | None:
    """The gap in days when the stay is a readmission within 15 days (0 ≤ gap ≤ 15), else None."""
    if previous_discharge is None:
        return None
    gap = (admission - previous_discharge).days
    return gap if 0 <= gap <= READMISSION_DAYS else None


def readmission_detail(gap: int, previous_invoice: str, previous_facility: str, same_facility: bool) -> str:
    where = THIS_FACILITY if same_facility else previous_facility
    if gap == 0:
        return DETAIL_SAME_DAY % {"invoice": previous_invoice, "where": where}
    return DETAIL_READMISSION % {"gap": gap, "invoice": previous_invoice, "where": where}


def overlaps(a_in: date, a_out: date, b_in: date, b_out: date) -> bool:
    """Two stays overlap when each was admitted before the other was discharged."""
    return a_in < b_out and b_in < a_out


@dataclass(slots=True)
class ClaimFacts:
    """What the rules read of one claim (money in fen, integers)."""

    id: int
    invoice_no: str
    facility_code: str
    level: str
    member_id: int
    admission: date
    discharge: date
    diagnosis_code: str
    total_fen: int
    non_reimbursable_fen: int
    cost_lines: int = 0  # how many cost lines the claim has
    beds_fen: int = 0  # what its bed lines add up to
    facility_id: int = 0

    @property
    def los(self) -> int:
        return (self.discharge - self.admission).days

    @property
    def group(self) -> tuple[str, str]:
        return (self.level, diagnosis_group(self.diagnosis_code))

    @property
    def share(self) -> float:
        return self.non_reimbursable_fen / self.total_fen if self.total_fen else 0.0


@dataclass
class Yardsticks:
    """The bounds of a reference window, computed once: per (level, diagnosis group) the cost
    bound in fen and the length-of-stay bound in days (with their stats, for the words), per
    level the share bound."""

    groups: dict[tuple[str, str], tuple[Robust, Robust]]
    shares: dict[str, Robust]

    def __post_init__(self):
        self.cost = {key: (cost_threshold(c), c) for key, (c, _) in self.groups.items()}
        self.los = {key: (los_threshold(l), l) for key, (_, l) in self.groups.items()}
        self.share = {level: (share_threshold(stats), stats) for level, stats in self.shares.items()}


NO_BOUND = (None, Robust(0, 0.0, 0.0))


def claim_flags(claim: ClaimFacts, *, groups: dict[tuple[str, str], tuple[Robust, Robust]] | None = None,
                shares: dict[str, Robust] | None = None, yardsticks: Yardsticks | None = None) -> list[tuple[str, str]]:
    """(kind, detail) of the flags that do not need the member's other stays: cost_outlier,
    long_stay, non_reimbursable_share, no_daily_charges. Give `yardsticks`, or `groups` mapping
    (level, diagnosis group) to the (cost in fen, length of stay) stats and `shares` mapping a
    level to its share stats."""
    if yardsticks is None:
        yardsticks = Yardsticks(groups or {}, shares or {})
    flags = []
    dx = diagnosis_group(claim.diagnosis_code)
    key = (claim.level, dx)
    los = (claim.discharge - claim.admission).days
    if dx:
        bound, stats = yardsticks.cost.get(key, NO_BOUND)
        if bound is not None and claim.total_fen > bound:
            flags.append((COST_OUTLIER, DETAIL_COST % {"total": yuan(claim.total_fen), "group": dx, "n": stats.n,
                                                       "median": yuan(stats.median), "bound": yuan(bound)}))
        bound, stats = yardsticks.los.get(key, (float(LONG_STAY_DAYS), None))
    else:
        bound, stats = float(LONG_STAY_DAYS), None
    if los > bound:
        if bound >= LONG_STAY_DAYS:
            words = DETAIL_LONG_STAY % {"days": los, "limit": LONG_STAY_DAYS}
        else:
            words = DETAIL_LONG_STAY_GROUP % {"days": los, "group": dx, "n": stats.n,
                                              "median": f"{stats.median:g}", "bound": f"{bound:.1f}"}
        flags.append((LONG_STAY, words))
    bound, stats = yardsticks.share.get(claim.level, NO_BOUND)
    if bound is not None and claim.total_fen and claim.non_reimbursable_fen / claim.total_fen > bound:
        share = claim.non_reimbursable_fen / claim.total_fen
        flags.append((NON_REIMBURSABLE_SHARE, DETAIL_SHARE % {"share": percent(share), "median": percent(stats.median),
                                                              "bound": percent(bound)}))
    if claim.cost_lines and los >= 1 and claim.beds_fen == 0:
        flags.append((NO_DAILY_CHARGES, DETAIL_NO_BEDS % {"days": los}))
    return flags
