"""Referral rates (转诊率) per facility and per township: of the claims at the levels the year's
policy reduces for the unreferred (`unreferred_reduction.levels`), the share that came referred
(a referral record covering the admission, `claims.models.Referral`, or the referred flag of a
claim that carries no record).

A claim counts by its discharge date and only when not rejected, like the facilities'
indicators (oversight.indicators); a facility's by the facility it stayed at, a township's by
`Claim.township`, the member's township when the claim was made. Levels the policy does not
list count in neither figure (referral changes nothing there).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q

from claims.models import Claim, ClaimStatus
from core.money import to_ratio
from policy.models import PolicyVersion


@dataclass
class ReferralRate:
    claims: int = 0  # claims at levels the policy reduces for the unreferred
    referred: int = 0  # of them, the referred ones

    @property
    def rate(self) -> Decimal | None:
        """referred / claims, to 4 places (None without claims)."""
        return to_ratio(Decimal(self.referred) / Decimal(self.claims)) if self.claims else None


@dataclass
class ReferralRates:
    facilities: dict[int, ReferralRate]
    townships: dict[int, ReferralRate]
    levels: dict[int, frozenset[str]]  # year -> the levels its policy lists


def listed_levels(first_year: int, last_year: int) -> dict[int, frozenset[str]]:
    """Each year's levels whose unreferred stays are reduced (years without a policy: none)."""
    return {version.year: frozenset(version.policy().unreferred_reduction.levels)
            for version in PolicyVersion.objects.filter(year__gte=first_year, year__lte=last_year)}


def referral_rates(*, first: date, last: date) -> ReferralRates:
    """The rates of the claims discharged from `first` to `last` (both included), in one
    aggregate query by facility, township, year and level."""
    levels = listed_levels(first.year, last.year)
    result = ReferralRates(facilities={}, townships={}, levels=levels)
    rows = (Claim.objects.exclude(status=ClaimStatus.REJECTED)
            .filter(discharge_date__gte=first, discharge_date__lte=last)
            .values_list("facility_id", "township_id", "year", "facility__level")
            .annotate(n=Count("id"), referred=Count("id", filter=Q(referred=True))).order_by())
    for facility_id, township_id, year, level, count, referred in rows:
        if level not in levels.get(year, ()):
            continue
        for key, per in ((facility_id, result.facilities), (township_id, result.townships)):
            rate = per.setdefault(key, ReferralRate())
            rate.claims += count
            rate.referred += referred
    return result
