"""The scheme year's compensation policy (补偿方案), read-only, for every staff role.

Shows what `load_policy` loaded for a year (contribution, risk reserve, cap, deadline, each
level's deductible and bands with their percentages, the unreferred reduction, group
adjustments, delivery amounts, single diseases, when cover starts), who loaded it, when, and which
revision.
"""
from __future__ import annotations

from decimal import Decimal

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.roles import capability_required
from claims import rules
from core.money import ZERO
from enrollment.models import Category
from facilities.models import Level
from policy.models import PolicyVersion
from policy.rules import NEWBORN_DAYS, Policy

# Chinese words for the single diseases a county's policy file commonly names (its `name` is the
# file's own text, often English as in the contract's example): each language shows its own words.
SINGLE_DISEASE_NAMES = {"K35": gettext_noop("急性阑尾炎")}

SUBSIDY_NAMES = {"central": "中央财政补助", "provincial": "省级财政补助", "municipal": "市级财政补助", "county": "县级财政补助"}


def percent(ratio: Decimal) -> str:
    """0.75 → "75%", 0.755 → "75.5%", 1 → "100%"."""
    text = f"{Decimal(ratio) * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def single_disease_name(code: str, name: str) -> str:
    words = SINGLE_DISEASE_NAMES.get(code.upper()) or SINGLE_DISEASE_NAMES.get(code.upper()[:3])
    return _(words) if words else name


def points(ratio: Decimal) -> str:
    """Ratio points as percentage points: 0.10 → "10"."""
    return percent(ratio)[:-1]


def level_rows(policy: Policy) -> list[dict]:
    rows = []
    for level in Level:
        rule = policy.levels.get(level.value)
        if rule is None:
            continue
        bands, start = [], ZERO
        for band in rule.bands:
            bands.append({"from": rules.money_text(start),
                          "to": None if band.up_to is None else rules.money_text(band.up_to),
                          "ratio": percent(band.ratio)})
            if band.up_to is not None:
                start = band.up_to
        rows.append({"code": level.value, "name": level.label, "deductible": rules.money_text(rule.deductible),
                     "bands": bands,
                     "reduced": level.value in policy.unreferred_reduction.levels})
    return rows


def _context(version: PolicyVersion) -> dict:
    policy = version.policy()
    level_names = dict(Level.choices)
    category_names = dict(Category.choices)
    contribution = policy.contribution
    return {
        "policy": policy,
        "individual": rules.money_text(contribution.individual),
        "subsidies": [(_(SUBSIDY_NAMES.get(key, key)), rules.money_text(amount))
                      for key, amount in contribution.subsidy.items()],
        "contribution_total": rules.money_text(contribution.total),
        "risk_reserve": percent(policy.risk_reserve_rate),
        "annual_cap": rules.money_text(policy.annual_cap),
        "coverage": policy.coverage,
        "newborn_days": NEWBORN_DAYS,
        "levels": level_rows(policy),
        "reduction_levels": [level_names.get(code, code) for code in Level.values
                             if code in policy.unreferred_reduction.levels],
        "reduction_points": points(policy.unreferred_reduction.ratio_points),
        "groups": [{"name": category_names.get(code, code), "waive_deductible": group.waive_deductible,
                    "points": points(group.ratio_points)}
                   for code, group in sorted(policy.groups.items(),
                                             key=lambda item: list(category_names).index(item[0])
                                             if item[0] in category_names else 99)],
        "deliveries": [(_("顺产") if kind == "normal" else _("剖宫产") if kind == "caesarean" else kind,
                        rules.money_text(amount)) for kind, amount in policy.delivery.items()],
        "single_diseases": [{"code": sd.code, "name": single_disease_name(sd.code, sd.name), "level": level_names.get(sd.level, sd.level),
                             "payment": rules.money_text(sd.payment)} for sd in policy.single_disease],
        "revisions": version.history.select_related("loaded_by").order_by("-revision", "-history_date"),
    }


@capability_required("policy.view")
def policy_detail(request):
    """The policy of `?year=` (default: this year's, else the latest loaded), with a year selector."""
    years = list(PolicyVersion.objects.order_by("-year").values_list("year", flat=True))
    asked = request.GET.get("year", "").strip()
    year = int(asked) if asked.isdigit() and len(asked) == 4 else None
    if year is None:
        this_year = timezone.localdate().year
        year = this_year if this_year in years or not years else years[0]
    version = PolicyVersion.objects.select_related("loaded_by").filter(year=year).first()
    context = {"years": years, "year": year, "version": version}
    if version is not None:
        context.update(_context(version))
    return render(request, "claims/policy.html", context)
