"""Policy simulation (补偿方案测算) as the fund sees it: a draft policy's figures for a scheme year
and what they would do to the fund (docs/contract.md, "Policy simulation").

`claims.simulation` values the year's claims under the draft; here they are set against what the
year would raise under the draft's contribution block, participants × (individual + subsidies)
× (1 − risk reserve rate), participants being the members enrolled for the year, and judged in
the monthly report's terms (`fund.rules.simulation_warnings`). Nothing is written.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from claims.simulation import Simulation, simulate_year
from core.money import to_fen
from enrollment.models import Enrollment
from policy.rules import LEVELS, Policy, parse_policy

from . import rules


def months_gone(year: int, today: date) -> int:
    """How far scheme year `year` has gone on `today` (the county's date): 12 for a past year."""
    if year < today.year:
        return 12
    return today.month if year == today.year else 0


def simulate_policy(*, data: dict, year: int, today: date | None = None) -> dict:
    """The contract's JSON of `simulate_policy` for the draft policy document `data`.

    Refuses a draft `load_policy` would refuse (`policy.rules.PolicyInvalid`, every problem
    listed) before reading any claim, and a year without claims to value (NcmsError `no_claims`).
    """
    policy = parse_policy(data)
    simulation = simulate_year(policy, year)
    return simulation_json(policy, simulation, participants=Enrollment.objects.filter(year=year).count(),
                           month=months_gone(year, today or timezone.localdate()))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def simulation_json(policy: Policy, simulation: Simulation, *, participants: int, month: int) -> dict:
    raised = participants * policy.contribution.total
    available = rules.net_of_reserve(raised, policy.risk_reserve_rate)
    draft_rate = rules.ratio(simulation.draft, available)
    current_rate = rules.ratio(simulation.current, available)
    warnings = rules.simulation_warnings(draft_compensation=simulation.draft, available=available, month=month)
    return {
        "year": simulation.year,
        "claims": simulation.claims,
        "total_cost": str(simulation.total_cost),
        "current": {"compensation": str(simulation.current), "fund_usage_rate": _text(current_rate)},
        "draft": {
            "compensation": str(simulation.draft),
            "members_at_cap": simulation.members_at_cap,
            "by_level": {level: {"claims": simulation.by_level[level][0],
                                 "compensation": str(simulation.by_level[level][1])} for level in LEVELS},
            "fund_usage_rate": _text(draft_rate),
        },
        "fund": {"participants": participants, "raised": str(to_fen(raised)),
                 "available": str(to_fen(available)), "month": month},
        "warnings": [warning.as_dict() for warning in warnings],
    }
