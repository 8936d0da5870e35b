"""How an inpatient claim (住院补偿) is valued: docs/contract.md, "Policy file", steps 1 to 6. Pure:
no ORM, Decimal only.

- `value_claim` values one claim by a parsed `claims.policy.Policy` and returns a `Valuation`, the
  figures that explain every fen of it; `formula_bands` is step 4's band arithmetic.
- `contract_breakdown` writes a valuation as the contract's `breakdown` object (docs/contract.md,
  "quote_claims lines"), `quote_line` as the contract's output line, `stored_breakdown` as
  the breakdown a claim keeps (the contract's object plus what a page needs to explain it line by
  line). Every breakdown, quoted, returned by the API or stored, is built by `contract_breakdown`.
- `check_amounts` is step 1's refusal (`bad_amounts`); the other refusals, which need the claim's
  dates and the member's other stays, are `claims.eligibility`.

Money is Decimal yuan; the contract rounds once, at the end of a computation, ROUND_HALF_UP to the
fen (`core.money.to_fen`). Nothing here rounds before that point.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from core.errors import NcmsError
from core.money import FEN, ZERO, to_fen
from policy.rules import ONE, Band, Policy, SingleDisease

RULE_FORMULA = "formula"
RULE_SINGLE_DISEASE = "single_disease"
RULE_DELIVERY = "delivery"



@dataclass(frozen=True)
class BandShare:
    """One band's part of a formula valuation.

    `start`/`end` bound the reimbursable cost the band pays on: start = max(D, band's from),
    end = min(R, band's up_to). `ratio` is the effective ratio (the policy's `base_ratio` with
    group points added and the unreferred reduction taken off, kept within [0, 1]). `amount` is
    EXACT (ratio × (end − start), not rounded): the claim's figure is the sum of these rounded
    once, never a sum of rounded parts.
    """

    start: Decimal
    end: Decimal
    ratio: Decimal
    amount: Decimal
    base_ratio: Decimal


@dataclass(frozen=True)
class Valuation:
    """How a claim was valued: every figure needed to explain the compensation line by line.

    Money figures other than `BandShare.amount` are exact to the fen. `before_cap` is the
    rule's amount rounded once (ROUND_HALF_UP); `cap_remaining` is what the member's annual cap
    still held before this claim; `compensation` = min(before_cap, cap_remaining);
    `patient_pays` = total_cost − compensation.
    """

    rule: str
    total_cost: Decimal
    reimbursable: Decimal
    deductible: Decimal
    bands: tuple[BandShare, ...]
    before_cap: Decimal
    cap_remaining: Decimal
    compensation: Decimal
    patient_pays: Decimal
    ratio_points: Decimal = ZERO  # the group's points added to every band (formula only)
    reduction_points: Decimal = ZERO  # the unreferred reduction taken off (formula only)
    deductible_waived: bool = False
    single_disease: SingleDisease | None = None
    delivery: str | None = None
    rule_amount: Decimal | None = None  # the delivery amount or single-disease payment applied
    capped: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "capped", self.compensation < self.before_cap)

    def as_breakdown(self) -> dict:
        """The contract's `breakdown` object (`contract_breakdown`)."""
        return contract_breakdown(self)


def money_text(value: Decimal) -> str:
    """A money figure as the contract writes it: a decimal string with two places."""
    return str(to_fen(value))


def ratio_text(value: Decimal) -> str:
    """A ratio as a decimal string with at least two places ("0.75", "1.00", "0.755")."""
    value = Decimal(value)
    if value.as_tuple().exponent > -2:
        value = value.quantize(FEN)
    return str(value)


def _fen_text(value: Decimal) -> str:
    # money_text for a Decimal, without its conversion: it runs ten times a line of quote_claims
    return str(value.quantize(FEN, ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------------
# The breakdown: one builder for the quote, the API and the stored claim


def contract_breakdown(valuation: Valuation) -> dict:
    """The contract's `breakdown` object (docs/contract.md, "quote_claims lines"), decimal
    strings throughout: `{"rule", "reimbursable", "deductible", "bands": [{"from", "to", "ratio",
    "amount"}], "before_cap", "cap_remaining"}`.

    Band amounts are shown rounded to the fen each, for reading; `before_cap` is the exact band
    amounts' sum rounded once, so in a rare claim whose bands carry sub-fen parts the shown band
    amounts may add up to a fen more or less than `before_cap`.
    """
    return {
        "rule": valuation.rule,
        "reimbursable": _fen_text(valuation.reimbursable),
        "deductible": _fen_text(valuation.deductible),
        "bands": [{"from": _fen_text(share.start), "to": _fen_text(share.end), "ratio": ratio_text(share.ratio),
                   "amount": _fen_text(share.amount)} for share in valuation.bands],
        "before_cap": _fen_text(valuation.before_cap),
        "cap_remaining": _fen_text(valuation.cap_remaining),
    }


def quote_line(ref, valuation: Valuation) -> dict:
    """The contract's output line of a claim that is not refused: what `quote_claims` writes and
    the API's quote returns."""
    return {"ref": ref, "ok": True, "compensation": _fen_text(valuation.compensation),
            "patient_pays": _fen_text(valuation.patient_pays), "breakdown": contract_breakdown(valuation)}


def stored_breakdown(valuation: Valuation) -> dict:
    """The breakdown a claim keeps: the contract's object plus what a page needs to explain it
    line by line (`claims.selectors.explain_breakdown`): each band's policy ratio, the figures,
    the group's points and the unreferred reduction, the rule's amount."""
    data = contract_breakdown(valuation)
    for band, share in zip(data["bands"], valuation.bands, strict=True):
        band["base_ratio"] = ratio_text(share.base_ratio)
    data.update({
        "total_cost": money_text(valuation.total_cost),
        "compensation": money_text(valuation.compensation),
        "patient_pays": money_text(valuation.patient_pays),
        "capped": valuation.capped,
        "ratio_points": ratio_text(valuation.ratio_points),
        "reduction_points": ratio_text(valuation.reduction_points),
        "deductible_waived": valuation.deductible_waived,
        "delivery": valuation.delivery,
        "rule_amount": None if valuation.rule_amount is None else money_text(valuation.rule_amount),
        "single_disease": None if valuation.single_disease is None else {
            "code": valuation.single_disease.code, "name": valuation.single_disease.name,
            "level": valuation.single_disease.level,
            "payment": money_text(valuation.single_disease.payment),
        },
    })
    return data


def _as_decimal(value, what: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    return Decimal(value)


def value_claim(
    *,
    policy: Policy,
    level: str,
    category: str,
    total_cost: Decimal,
    non_reimbursable_cost: Decimal,
    referred: bool,
    diagnosis: str | None,
    delivery: str | None,
    used_this_year: Decimal,
) -> Valuation:
    """Value an inpatient claim by the scheme-year policy: the contract's six steps, in order.

    1. R = total_cost − non_reimbursable_cost; negative amounts, non-reimbursable above total or
       amounts finer than the fen are refused (`bad_amounts`).
    2. A delivery (normal/caesarean): min(the policy's delivery amount, R). Rule `delivery`.
    3. Else a diagnosis starting with a single-disease code at that code's level:
       min(payment, R). Rule `single_disease`. A matching code at another level falls through.
    4. Else the formula at the facility's level: deductible D (0 when the member's group waives
       it); each band covers R from the previous band's up_to (the first from 0) to its own
       (null: no end) and pays ratio × max(0, min(R, up_to) − max(D, from)), its ratio raised by
       the group's points, lowered by the unreferred reduction when the level is listed and the
       claim was not referred, and kept within [0, 1]. Only bands that cover some cost
       (min(R, up_to) > max(D, from)) appear in the breakdown.
    5. Round the exact amount once, ROUND_HALF_UP to the fen (`before_cap`), then cap it:
       min(before_cap, annual_cap − used_this_year), never below 0. `used_this_year` is what the
       member's other non-rejected claims of the year already hold.
    6. patient_pays = total_cost − compensation.
    """
    total = _as_decimal(total_cost, "total_cost")
    excluded = _as_decimal(non_reimbursable_cost, "non_reimbursable_cost")
    used = _as_decimal(used_this_year, "used_this_year")
    check_amounts(total_cost=total, non_reimbursable_cost=excluded)
    if level not in policy.levels:
        raise NcmsError(f"未知的医院级别「{level}」", code="unknown_level")
    if delivery is not None and delivery not in policy.delivery:
        raise NcmsError(f"未知的分娩方式「{delivery}」，应为 normal 或 caesarean", code="bad_delivery")

    reimbursable = total - excluded
    cap_remaining = max(ZERO, policy.annual_cap - used)
    details: dict = {}
    bands: tuple[BandShare, ...] = ()
    deductible = ZERO

    if delivery is not None:
        rule = RULE_DELIVERY
        amount = min(policy.delivery[delivery], reimbursable)
        details = {"delivery": delivery, "rule_amount": policy.delivery[delivery]}
    elif (disease := policy.single_disease_for(diagnosis, level)) is not None:
        rule = RULE_SINGLE_DISEASE
        amount = min(disease.payment, reimbursable)
        details = {"single_disease": disease, "rule_amount": disease.payment}
    else:
        rule = RULE_FORMULA
        group = policy.groups.get(category)
        waived = bool(group and group.waive_deductible)
        deductible = ZERO if waived else policy.levels[level].deductible
        points = group.ratio_points if group else ZERO
        reduction = (
            policy.unreferred_reduction.ratio_points
            if not referred and level in policy.unreferred_reduction.levels
            else ZERO
        )
        bands = formula_bands(
            policy.levels[level].bands, reimbursable=reimbursable, deductible=deductible,
            ratio_adjustment=points - reduction,
        )
        amount = sum((share.amount for share in bands), ZERO)
        details = {"ratio_points": points, "reduction_points": reduction, "deductible_waived": waived}

    before_cap = to_fen(amount)
    compensation = max(ZERO, min(before_cap, cap_remaining))
    return Valuation(
        rule=rule, total_cost=total, reimbursable=reimbursable, deductible=deductible, bands=bands,
        before_cap=before_cap, cap_remaining=cap_remaining, compensation=compensation,
        patient_pays=total - compensation, **details,
    )


def formula_bands(
    bands: tuple[Band, ...], *, reimbursable: Decimal, deductible: Decimal, ratio_adjustment: Decimal
) -> tuple[BandShare, ...]:
    """Step 4's band shares, exact (unrounded); bands that cover nothing are left out."""
    shares: list[BandShare] = []
    start_of_band = ZERO
    for band in bands:
        start = max(deductible, start_of_band)
        end = reimbursable if band.up_to is None else min(reimbursable, band.up_to)
        if end > start:
            ratio = min(ONE, max(ZERO, band.ratio + ratio_adjustment))
            shares.append(BandShare(start=start, end=end, ratio=ratio, amount=ratio * (end - start),
                                    base_ratio=band.ratio))
        if band.up_to is None or band.up_to >= reimbursable:
            break
        start_of_band = band.up_to
    return tuple(shares)


def ceiling_message(label: str, value, ceiling: Decimal) -> str:
    """The refusal of an amount above the largest total cost a claim may state."""
    return f"{label}「{value}」超过单次住院总费用的上限 {ceiling} 元，请核对金额"


def check_amounts(*, total_cost: Decimal, non_reimbursable_cost: Decimal, ceiling: Decimal | None = None) -> None:
    """Refuse (`bad_amounts`) negative amounts, amounts above `ceiling` (the largest total cost a
    claim may state; None: no ceiling), amounts finer than the fen, and a non-reimbursable cost
    above the total cost (the reimbursable cost would be negative)."""
    for label, value in (("住院总费用", total_cost), ("目录外（自费）费用", non_reimbursable_cost)):
        value = Decimal(value)
        if not value.is_finite():
            raise NcmsError(f"{label}不是有效的金额", code="bad_amounts")
        if value < 0:
            raise NcmsError(f"{label}不能为负数（{value}）", code="bad_amounts")
        # before the fen check: quantizing an amount of 27 digits or more fails instead of answering
        if ceiling is not None and value > ceiling:
            raise NcmsError(ceiling_message(label, value, ceiling), code="bad_amounts")
        if value != value.quantize(FEN):
            raise NcmsError(f"{label}最多两位小数（{value}）", code="bad_amounts")
    if Decimal(non_reimbursable_cost) > Decimal(total_cost):
        raise NcmsError(
            f"目录外（自费）费用 {non_reimbursable_cost} 超过了住院总费用 {total_cost}", code="bad_amounts"
        )
