"""The scheme year's policy for villagers (/public/policy/ and its leaflet): the rules in plain
words and amounts, and the calculator of what a stay would pay.

The calculator values a bill with the claims' own valuation (`claims.rules.value_claim`, the
contract's six steps) and explains it with the staff quote panel's lines
(`claims.selectors.explain_breakdown`); it refuses amounts as every claim is refused
(`claims.rules.check_amounts` with the plausibility ceiling `claims.eligibility.total_cost_max`).
It knows no member: the level, the amounts, the referral and the group are all it is told, and
the annual cap is taken as not yet used. Nothing is read about anyone and nothing is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from claims import rules as claim_rules
from claims.eligibility import total_cost_max
from claims.selectors import Line, explain_breakdown
from claims.views_policy import SUBSIDY_NAMES, level_rows, points, single_disease_name
from core.money import ZERO
from enrollment.models import Category
from facilities.models import Level
from policy.models import PolicyVersion
from policy.rules import NEWBORN_DAYS, Policy

ORDINARY = Category.ORDINARY.value


def policy_years() -> list[int]:
    """The years whose policy is loaded, newest first."""
    return list(PolicyVersion.objects.order_by("-year").values_list("year", flat=True))


def policy_version(year: int | None) -> PolicyVersion | None:
    """The policy of `year`; None: the latest loaded (None when nothing is loaded)."""
    versions = PolicyVersion.objects.order_by("-year")
    if year is not None:
        versions = versions.filter(year=year)
    return versions.first()


def group_choices(policy: Policy) -> list[tuple[str, str]]:
    """The calculator's groups: everyone else first, then each group the policy names, in the
    order of the member categories."""
    names = dict(Category.choices)
    choices = [(ORDINARY, _("普通参合人员"))]
    choices += [(code, names.get(code, code)) for code in _group_codes(policy) if code != ORDINARY]
    return choices


def level_choices(policy: Policy) -> list[tuple[str, str]]:
    return [(level.value, level.label) for level in Level if level.value in policy.levels]


def _group_codes(policy: Policy) -> list[str]:
    """The policy's groups in the order of the member categories, any other code after them."""
    return ([code for code in Category.values if code in policy.groups]
            + sorted(code for code in policy.groups if code not in Category.values))


def described(version: PolicyVersion) -> dict:
    """Every rule of the year's policy as the page and the leaflet say it: figures as money text
    (for the `yuan` filter) and percentages, names in the reader's language."""
    policy = version.policy()
    level_names = dict(Level.choices)
    category_names = dict(Category.choices)
    reduction = policy.unreferred_reduction
    return {
        "version": version,
        "policy": policy,
        "individual": claim_rules.money_text(policy.contribution.individual),
        "subsidy_total": claim_rules.money_text(sum(policy.contribution.subsidy.values(), ZERO)),
        "subsidies": [(_(SUBSIDY_NAMES.get(key, key)), claim_rules.money_text(amount))
                      for key, amount in policy.contribution.subsidy.items()],
        "annual_cap": claim_rules.money_text(policy.annual_cap),
        "deadline_days": policy.claim_deadline_days,
        "coverage": policy.coverage,
        "newborn_days": NEWBORN_DAYS,
        "levels": level_rows(policy),
        "reduction_levels": [level_names.get(code, code) for code in Level.values if code in reduction.levels],
        "reduction_points": points(reduction.ratio_points),
        "groups": [{"name": category_names.get(code, code), "waive_deductible": policy.groups[code].waive_deductible,
                    "points": points(policy.groups[code].ratio_points)}
                   for code in _group_codes(policy)],
        "deliveries": [(_("顺产") if kind == "normal" else _("剖宫产") if kind == "caesarean" else kind,
                        claim_rules.money_text(amount)) for kind, amount in policy.delivery.items()],
        "single_diseases": [{"code": sd.code, "name": single_disease_name(sd.code, sd.name),
                             "level": level_names.get(sd.level, sd.level),
                             "payment": claim_rules.money_text(sd.payment)} for sd in policy.single_disease],
    }


@dataclass(frozen=True)
class Quote:
    """What the calculator answers: the compensation, what the patient pays, and every step."""

    compensation: Decimal
    patient_pays: Decimal
    reimbursable: Decimal
    lines: list[Line]


def quote(*, policy: Policy, level: str, total_cost: Decimal, self_paid: Decimal, referred: bool,
          group: str) -> Quote:
    """Value a bill as a claim of `group` at a facility of `level` would be valued, with nothing
    of the annual cap used yet. Raises `NcmsError` (`bad_amounts`) for amounts no claim may
    state: negative, finer than the fen, self-paid above the total, above the ceiling."""
    claim_rules.check_amounts(total_cost=total_cost, non_reimbursable_cost=self_paid, ceiling=total_cost_max())
    valuation = claim_rules.value_claim(
        policy=policy, level=level, category=group or ORDINARY, total_cost=total_cost,
        non_reimbursable_cost=self_paid, referred=referred, diagnosis=None, delivery=None,
        used_this_year=ZERO)
    lines = explain_breakdown(claim_rules.stored_breakdown(valuation), total_cost=total_cost,
                              non_reimbursable_cost=self_paid, level=level, category=group or ORDINARY)
    return Quote(compensation=valuation.compensation, patient_pays=valuation.patient_pays,
                 reimbursable=valuation.reimbursable, lines=lines)
