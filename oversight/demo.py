"""The oversight part of the demo county (`seed_demo`): facilities whose patterns trip the flags.

It plugs into the two stages of demo/county.py after the claims part (claims/demo.py), and keeps
the number of claims as asked:

- `build_flag_patterns` (a builder, pure Python) reshapes some of the planned claims:
  - split stays (分解住院) at one township health centre (the busiest one open all year): a few
    claims are moved to a member who was just discharged from there, for the same diagnosis,
    admitted again 2–14 days later — `readmission_15d`;
  - padded bills (虚高收费) at one facility: in the largest (level, diagnosis group) of the year,
    when it holds at least `oversight.rules.MIN_GROUP` claims (the default demo of 300 claims
    has one; a small demo has none and is left alone), three of that facility's claims get a
    total cost 1.5 × the group's outlier bound — `cost_outlier`.
  Invoice numbers are then drawn again (per facility, in discharge order).
- `write_flags` (a writer, after the claims) stores every month's flags
  (`oversight.tasks.claim_flags_refresh(all_months=True)`), so the reviewers' queue, the claim
  pages and the scorecards show them at once.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta

from claims.demo import cost_lines_for, money_from_fen, number_invoices, open_on

from . import rules

SPLIT_EVERY = 60  # one split stay per 60 planned claims, at least one
PADDED = 3


def _busiest_health_centre(claims, facilities, year):
    from datetime import date

    open_all_year = {f.code for f in facilities if f.level == "township"
                     and open_on(f, date(year, 1, 1)) and open_on(f, date(year, 12, 31))}
    counts = Counter(c.facility_code for c in claims if c.facility_code in open_all_year)
    return min(counts, key=lambda code: (-counts[code], code)) if counts else None


def _plan_split_stays(claims, county, rng: random.Random, planned_last, everyone) -> list:
    code = _busiest_health_centre(claims, county.facilities, county.config.year)
    if code is None:
        return []
    stays = defaultdict(list)
    for claim in everyone:
        stays[claim.id_number].append((claim.admission_date, claim.discharge_date))
    firsts = [c for c in claims if c.facility_code == code and c.diagnosis.delivery is None
              and c.state != "rejected"]
    movable = [c for c in claims if c.level == "township" and c.channel == "facility" and c.state != "rejected"
               and c.diagnosis.delivery is None and c not in firsts]
    wanted = max(1, len(claims) // SPLIT_EVERY)
    moved = []
    for first in sorted(firsts, key=lambda c: (c.discharge_date, c.id_number)):
        if len(moved) >= wanted or not movable:
            break
        second = movable.pop(0)
        days = (second.discharge_date - second.admission_date).days
        admission = first.discharge_date + timedelta(days=rng.randint(2, 14))
        discharge = admission + timedelta(days=days)
        taken = stays[first.id_number]
        if discharge > planned_last or any(rules.overlaps(admission, discharge, a, b) for a, b in taken):
            movable.insert(0, second)
            continue
        stays[second.id_number].remove((second.admission_date, second.discharge_date))
        taken.append((admission, discharge))
        second.id_number, second.township_code = first.id_number, first.township_code
        second.facility_code, second.diagnosis = code, first.diagnosis
        second.admission_date, second.discharge_date = admission, discharge
        total = int(second.total_cost * 100)
        outside = int(second.non_reimbursable_cost * 100)
        second.cost_lines = cost_lines_for(rng, diagnosis=first.diagnosis, level="township", days=days,
                                        total=total, outside=outside)
        moved.append(second)
    return moved


def _plan_padded_bills(claims, rng: random.Random) -> list:
    groups = defaultdict(list)
    for claim in claims:
        if claim.state != "rejected":
            groups[(claim.level, rules.diagnosis_group(claim.diagnosis.code))].append(claim)
    if not groups:
        return []
    key = max(groups, key=lambda k: (len(groups[k]), k))
    group = groups[key]
    if len(group) < rules.MIN_GROUP + PADDED:
        return []
    stats = rules.robust([int(c.total_cost * 100) for c in group])
    bound = rules.cost_threshold(stats)
    by_facility = Counter(c.facility_code for c in group)
    code = min(by_facility, key=lambda k: (-by_facility[k], k))
    padded = [c for c in group if c.facility_code == code and c.diagnosis.delivery is None][:PADDED]
    for claim in padded:
        total = int(bound * 1.5) + rng.randint(0, 50000)
        outside = round(total * rng.uniform(0.05, 0.15))
        days = (claim.discharge_date - claim.admission_date).days
        claim.total_cost, claim.non_reimbursable_cost = money_from_fen(total), money_from_fen(outside)
        claim.cost_lines = cost_lines_for(rng, diagnosis=claim.diagnosis, level=claim.level, days=days,
                                       total=total, outside=outside)
    return padded


def build_flag_patterns(county, rng: random.Random) -> None:
    """Reshape planned claims so the demo has split stays and padded bills (module docstring)."""
    claims = county.extras.get("claims", [])
    if not claims:
        return
    planned_last = max(c.discharge_date for c in claims)
    # the patterns reshape the workflow's claims (the year's settled volume, claims.demo.plan_settled,
    # is left as planned); every claim's stay counts against overlaps
    workflow = [c for c in claims if not c.settled]
    split = _plan_split_stays(workflow, county, rng, planned_last, everyone=claims)
    padded = _plan_padded_bills(workflow, rng)
    number_invoices(rng, claims, county.config.year)
    county.extras["flag_patterns"] = {"split_stays": [c.invoice_no for c in split],
                                      "padded_bills": [c.invoice_no for c in padded]}


def write_flags(ctx) -> None:
    """Store the flags of every month with claims (the nightly job, all months at once)."""
    from .tasks import claim_flags_refresh

    counts = claim_flags_refresh(all_months=True)
    ctx.summary["claim_flags"] = counts["created"]
