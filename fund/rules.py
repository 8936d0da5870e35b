"""Pure rules of the monthly fund report (基金运行月报): ratios, averages, pacing and warnings.

No ORM here. The contract ("Monthly fund report"): money ROUND_HALF_UP to the fen, ratios
ROUND_HALF_UP to 4 places, each from the exact figures; a ratio or average whose denominator is
zero is None (null in JSON). Warnings compare the reported (4-place) ratios, the figures a reader
sees, against exact thresholds (M/12 is never rounded: `rate × 12 > M × 1.10` instead of
`rate > M/12 × 1.10`).
"""
from dataclasses import dataclass
from decimal import Decimal

from core.money import to_fen, to_ratio

PARTICIPATION_TARGET = Decimal("0.95")
OVERSPENDING_FACTOR = Decimal("1.10")
UNDERUSE_FACTOR = Decimal("0.85")
UNDERUSE_FROM_MONTH = 6


def ratio(numerator, denominator) -> Decimal | None:
    """numerator / denominator ROUND_HALF_UP to 4 places; None when the denominator is zero."""
    denominator = Decimal(denominator)
    if not denominator:
        return None
    return to_ratio(Decimal(numerator) / denominator)


def average_fen(total, count) -> Decimal | None:
    """total / count ROUND_HALF_UP to the fen; None when count is zero."""
    count = Decimal(count)
    if not count:
        return None
    return to_fen(Decimal(total) / count)


def net_of_reserve(fund_raised: Decimal, risk_reserve_rate: Decimal) -> Decimal:
    """fund_raised × (1 − risk_reserve_rate), exact (round with to_fen for display)."""
    return Decimal(fund_raised) * (Decimal(1) - Decimal(risk_reserve_rate))


def pacing(month: int) -> Decimal:
    """The share of the year gone by at the end of month M (M/12), to 4 places for display."""
    return to_ratio(Decimal(month) / Decimal(12))


@dataclass(frozen=True)
class ReportWarning:
    kind: str  # overspending, underuse, low_participation
    township: str  # township code or "county"
    message: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "township": self.township, "message": self.message}


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'))}%"


def is_overspending(fund_usage_rate: Decimal | None, month: int) -> bool:
    """fund_usage_rate > M/12 × 1.10 (never when the rate is null)."""
    if fund_usage_rate is None:
        return False
    return fund_usage_rate * 12 > Decimal(month) * OVERSPENDING_FACTOR


def is_underuse(fund_usage_rate: Decimal | None, month: int) -> bool:
    """M ≥ 6 and fund_usage_rate < M/12 × 0.85 (never when the rate is null)."""
    if fund_usage_rate is None or month < UNDERUSE_FROM_MONTH:
        return False
    return fund_usage_rate * 12 < Decimal(month) * UNDERUSE_FACTOR


def is_low_participation(participation_rate: Decimal | None) -> bool:
    """participation_rate < 0.95 (never when the rate is null: no population recorded)."""
    return participation_rate is not None and participation_rate < PARTICIPATION_TARGET


def warnings_for(*, month: int, fund_usage_rate: Decimal | None,
                 townships: list[tuple[str, str, Decimal | None]]) -> list[ReportWarning]:
    """The report's warnings: county ones first, then townships in the order given.

    `townships` is a list of (code, name, participation_rate).
    """
    found: list[ReportWarning] = []
    line = Decimal(month) / Decimal(12)
    if is_overspending(fund_usage_rate, month):
        found.append(ReportWarning(
            "overspending", "county",
            f"全县基金使用率 {_percent(fund_usage_rate)} 超过 {month} 月进度 {_percent(to_ratio(line))} 的 110%"
            f"（{_percent(to_ratio(line * OVERSPENDING_FACTOR))}），基金有超支风险。",
        ))
    if is_underuse(fund_usage_rate, month):
        found.append(ReportWarning(
            "underuse", "county",
            f"全县基金使用率 {_percent(fund_usage_rate)} 低于 {month} 月进度 {_percent(to_ratio(line))} 的 85%"
            f"（{_percent(to_ratio(line * UNDERUSE_FACTOR))}），基金结余过多。",
        ))
    for code, name, rate in townships:
        if is_low_participation(rate):
            found.append(ReportWarning(
                "low_participation", code,
                f"{name}参合率 {_percent(rate)} 低于 95%。",
            ))
    return found


def simulation_warnings(*, draft_compensation: Decimal, available: Decimal, month: int) -> list[ReportWarning]:
    """A draft policy's warnings (policy simulation), in the monthly report's terms, for the county.

    `available` is what the year would raise net of the risk reserve, `month` how far the year
    has gone (12 for a past year). Overspending: the draft pays more than `available` (exact
    money), or its usage rate (4 places, as the report shows it) is above the report's pace,
    M/12 × 1.10; too large a surplus: the report's underuse, M ≥ 6 and a rate below M/12 × 0.85
    (a whole year: below 85%).
    """
    found: list[ReportWarning] = []
    rate = ratio(draft_compensation, available)
    line = Decimal(month) / Decimal(12)
    if rate is None:
        if draft_compensation > 0:
            found.append(ReportWarning(
                "overspending", "county",
                f"该年度没有参合筹资，测算补偿 {to_fen(draft_compensation)} 元将全部超支。"))
        return found
    if draft_compensation > available:
        found.append(ReportWarning(
            "overspending", "county",
            f"测算补偿 {to_fen(draft_compensation)} 元超过当年可用基金 {to_fen(available)} 元"
            f"（基金使用率 {_percent(rate)}），方案将超支。"))
    elif is_overspending(rate, month):
        found.append(ReportWarning(
            "overspending", "county",
            f"测算基金使用率 {_percent(rate)} 超过 {month} 月进度 {_percent(to_ratio(line))} 的 110%"
            f"（{_percent(to_ratio(line * OVERSPENDING_FACTOR))}），基金有超支风险。"))
    if is_underuse(rate, month):
        found.append(ReportWarning(
            "underuse", "county",
            f"测算基金使用率 {_percent(rate)} 低于 {month} 月进度 {_percent(to_ratio(line))} 的 85%"
            f"（{_percent(to_ratio(line * UNDERUSE_FACTOR))}），基金结余过多。"))
    return found
