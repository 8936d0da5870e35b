"""The demo county's policy simulation (补偿方案测算): next year's plan drafted two ways by the fund
officer, each tried on the demo year's claims, so the simulation pages and their comparison show
results from the first click."""
from __future__ import annotations

import copy
from decimal import Decimal

from enrollment.demo_writing import WriteContext
from policy.models import PolicyVersion

from .drafts import draft_create, simulation_run_here
from .models import SimulationRun

STEP = Decimal("0.05")


def _raised_ratios(document: dict, level: str) -> dict:
    """The level's every band 5 points higher (at most 100%)."""
    raised = copy.deepcopy(document)
    for band in raised["levels"][level]["bands"]:
        band["ratio"] = str(min(Decimal(band["ratio"]) + STEP, Decimal("1.00")))
    return raised


def _lower_deductibles_higher_cap(document: dict) -> dict:
    """Township and county deductibles halved, the annual cap half as high again."""
    changed = copy.deepcopy(document)
    for level in ("township", "county"):
        rule = changed["levels"][level]
        rule["deductible"] = str((Decimal(rule["deductible"]) / 2).quantize(Decimal("0.01")))
    changed["annual_cap"] = str((Decimal(changed["annual_cap"]) * Decimal("1.5")).quantize(Decimal("0.01")))
    return changed


def write_simulation(ctx: WriteContext) -> None:
    year = ctx.county.config.year
    version = PolicyVersion.objects.filter(year=year).first()
    if version is None:
        return
    officer = ctx.users.get("fund")
    drafts = [
        draft_create(name=f"{year + 1}年方案草案甲：县级补偿比例上调5个百分点", base_year=year,
                     document={**_raised_ratios(version.document, "county"), "year": year + 1},
                     assumptions={"cost_growth": "5.00", "participation_change": "0.50"}, user=officer),
        draft_create(name=f"{year + 1}年方案草案乙：起付线减半、封顶线提高", base_year=year,
                     document={**_lower_deductibles_higher_cap(version.document), "year": year + 1},
                     assumptions={"cost_growth": "5.00"}, user=officer),
    ]
    for draft in drafts:
        simulation_run_here(draft=draft, user=officer)
    ctx.summary["simulation_drafts"] = len(drafts)
    ctx.summary["simulation_runs"] = SimulationRun.objects.filter(status=SimulationRun.Status.DONE).count()
