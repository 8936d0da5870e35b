"""Reads of the claims pages, with scoping applied: the workbench queue, the member lookup of
township-office entry, and a claim's breakdown explained in words (the page and the slip).

Every read starts from `Model.objects.for_user(user)`: a clerk asking for another township's
claim or member simply finds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, Sum, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from claims.models import Claim, ClaimEvent, ClaimStatus, Recovery
from claims.workflow import ACTION_WORDS
from core.money import ZERO, format_yuan, to_fen
from enrollment.models import Category, Enrollment, Member
from facilities.models import Level

# --- the workbench queue ---------------------------------------------------------------------


def claim_queue(*, user, q: str = "", township=None, facility=None, level: str = "", status: str = "",
                amount_min: Decimal | None = None, amount_max: Decimal | None = None,
                flagged: bool = False):
    """The claims the user reaches, filtered. A work queue (a status that waits for someone's step:
    submitted, reviewed, approved, returned) is oldest first, so January's claims are not buried
    on page 4; the whole list (no status, or a final one) newest first. `amount_*` bound the
    compensation.

    `flagged`: claims that stand out: those carrying a flag stored by facility oversight's nightly job.
    """
    claims = Claim.objects.for_user(user).select_related(
        "member__household__village__township", "facility", "reviewed_by")
    q = (q or "").strip()
    if q:
        claims = claims.filter(Q(invoice_no__icontains=q) | Q(member__name__contains=q)
                               | Q(member__id_number__startswith=q.upper()))
    if township is not None:
        claims = claims.filter(township=township)
    if facility is not None:
        claims = claims.filter(facility=facility)
    if level:
        claims = claims.filter(facility__level=level)
    if status:
        claims = claims.filter(status=status)
    if amount_min is not None:
        claims = claims.filter(compensation__gte=amount_min)
    if amount_max is not None:
        claims = claims.filter(compensation__lte=amount_max)
    if flagged:
        # claims carrying a stored flag; the flags are oversight's (a layer above), reached
        # through their foreign key to the claim rather than by importing their model
        flag = Claim._meta.get_field("flags").related_model
        claims = claims.filter(Exists(flag.objects.filter(claim=OuterRef("pk"))))
    order = ("created_at", "id") if status in WAITING else ("-created_at", "-id")
    return claims.prefetch_related("flags").order_by(*order)


# the states a claim waits in for someone's step: their queues serve the oldest first
WAITING = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.REVIEWED, ClaimStatus.APPROVED, ClaimStatus.RETURNED})


def queue_summary(claims) -> dict:
    """How many claims the filtered queue holds and what they add up to."""
    totals = claims.order_by().aggregate(count=Count("id"), total_cost=Sum("total_cost"),
                                         compensation=Sum("compensation"))
    # SQLite and PostgreSQL sums may come back with eight or more decimals: back to the fen
    return {"count": totals["count"], "total_cost": to_fen(totals["total_cost"] or ZERO),
            "compensation": to_fen(totals["compensation"] or ZERO)}


# --- entry: finding the member ----------------------------------------------------------------


# Which field of a member the entry page's finder matched (ID and card first, then the exact name).
MATCH_WORDS = {"id_number": gettext_lazy("身份证号"), "card": gettext_lazy("合作医疗证号"),
               "name": gettext_lazy("姓名")}


def member_lookup(*, user, text: str, limit: int = 20):
    """Members of the user's township with this resident ID number, co-op card number (the whole
    household) or name (a part of it will do), each with `enrolled_years` and `matched` (which field
    matched: "id_number", "card" or "name"; `matched_words` says it); ID and card matches first.
    None for an empty text."""
    text = (text or "").strip().replace(" ", "").replace("\u3000", "")
    key = text.upper()
    if not text:
        return []
    if getattr(user, "role", None) == Role.FACILITY_CLERK and not user.is_superuser:
        # a facility's desk: any member of the county, by the exact ID or card number the patient
        # shows; never by name (a facility browses nobody's household)
        found = Member.objects.filter(Q(id_number=key) | Q(household__card_number__iexact=key))
    else:
        found = Member.objects.for_user(user).filter(
            Q(id_number=key) | Q(household__card_number__iexact=key) | Q(name__contains=text))
    members = list(
        found
        .select_related("household__village__township")
        .prefetch_related(Prefetch("enrollments", queryset=Enrollment.objects.order_by("-year")))
        .annotate(match_rank=Case(When(id_number=key, then=Value(0)),
                                  When(household__card_number__iexact=key, then=Value(1)),
                                  When(name=text, then=Value(2)), default=Value(3)))
        .order_by("match_rank", "household__number", "id")[:limit]
    )
    for member in members:
        member.enrolled_years = [enrollment.year for enrollment in member.enrollments.all()]
        if member.id_number == key:
            member.matched = "id_number"
        elif member.household.card_number.upper() == key:
            member.matched = "card"
        else:
            member.matched = "name"
        member.matched_words = MATCH_WORDS[member.matched]
    return members


def claim_events(claim: Claim) -> list[ClaimEvent]:
    """The claim's steps, oldest first, each with `action_words` (who, when, from, to)."""
    events = list(claim.events.select_related("user").order_by("at", "id"))
    for event in events:
        event.action_words = _(ACTION_WORDS.get(event.action, event.action))
    return events


def claim_recoveries(claim: Claim) -> list[Recovery]:
    """The claim's recoveries (追回), newest first, with who recorded each."""
    return list(claim.recoveries.select_related("created_by").order_by("-date", "-id"))


def recoveries_from(*, user, source: str, source_id: int) -> list[Recovery]:
    """The recoveries an objection, report or inspection led to, that the user may see."""
    return list(Recovery.objects.for_user(user).filter(source=source, source_id=source_id)
                .select_related("claim__member", "claim__facility", "created_by").order_by("-date", "-id"))


def recovery_figures(claim: Claim) -> dict:
    """compensation, recovered and net (实际补偿) of a claim, 0.00 recovered when none."""
    recovered = to_fen(claim.recoveries.aggregate(total=Sum("amount"))["total"] or ZERO)
    return {"compensation": claim.compensation, "recovered": recovered, "net": claim.compensation - recovered}


# --- the breakdown in words -----------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of an explained breakdown: what it is, how it was reached, the figure."""

    label: str
    how: str
    amount: str
    strong: bool = False


def _percent(ratio) -> str:
    value = (Decimal(str(ratio)) * 100).normalize()
    return f"{value:f}%"


def _points(ratio) -> str:
    value = (Decimal(str(ratio)) * 100).normalize()
    return f"{value:f}"


def explain_breakdown(breakdown: dict, *, total_cost, non_reimbursable_cost, level: str,
                      category: str) -> list[Line]:
    """The stored breakdown (`claims.rules.stored_breakdown`) as lines a clerk can check
    with a calculator: every figure with the figures it comes from.

    `level` is the facility's level and `category` the member's (their codes). Amounts in the
    explanations read as on every page: to the fen with thousands separators (core.money.format_yuan).
    """
    m = format_yuan
    b = breakdown
    total = b.get("total_cost") or f"{Decimal(total_cost):.2f}"
    excluded = f"{Decimal(non_reimbursable_cost):.2f}"
    level_words = str(Level(level).label) if level in Level.values else level
    category_words = str(Category(category).label) if category in Category.values else category
    reimbursable = b["reimbursable"]
    lines = [
        Line(_("住院总费用"), "", total),
        Line(_("目录外费用"), _("自费，不予报销"), excluded),
        Line(_("可报销费用"), _("可报销费用 %(r)s = 总费用 %(t)s − 目录外费用 %(n)s")
             % {"r": m(reimbursable), "t": m(total), "n": m(excluded)}, reimbursable),
    ]
    rule = b.get("rule")
    if rule == "delivery":
        kind = {"normal": _("顺产"), "caesarean": _("剖宫产")}.get(b.get("delivery"), b.get("delivery") or "")
        lines.append(Line(_("住院分娩定额"), _("住院分娩（%(kind)s）按定额补偿") % {"kind": kind},
                          b.get("rule_amount") or ""))
        lines.append(Line(_("计算补偿额"), _("取定额 %(a)s 与可报销费用 %(r)s 中较小者")
                          % {"a": m(b.get("rule_amount")), "r": m(reimbursable)}, b["before_cap"]))
    elif rule == "single_disease":
        disease = b.get("single_disease") or {}
        lines.append(Line(_("单病种定额"), _("%(code)s %(name)s（%(level)s）按单病种定额补偿")
                          % {"code": disease.get("code", ""), "name": disease.get("name", ""),
                             "level": level_words}, disease.get("payment") or b.get("rule_amount") or ""))
        lines.append(Line(_("计算补偿额"), _("取定额 %(a)s 与可报销费用 %(r)s 中较小者")
                          % {"a": m(disease.get("payment") or b.get("rule_amount")), "r": m(reimbursable)},
                          b["before_cap"]))
    else:
        if b.get("deductible_waived"):
            how = _("%(category)s人员免起付线") % {"category": category_words}
        else:
            how = _("起付线 %(d)s（%(level)s）") % {"d": m(b["deductible"]), "level": level_words}
        lines.append(Line(_("起付线"), how, b["deductible"]))
        points = Decimal(b.get("ratio_points") or "0")
        if points:
            lines.append(Line(_("比例调整"), _("%(category)s人员各段比例提高 %(p)s 个百分点")
                              % {"category": category_words, "p": _points(points)}, ""))
        reduction = Decimal(b.get("reduction_points") or "0")
        if reduction:
            lines.append(Line(_("比例调整"), _("未办理转诊，各段比例降低 %(p)s 个百分点")
                              % {"p": _points(reduction)}, ""))
        for index, band in enumerate(b.get("bands", []), start=1):
            how = _("%(from)s–%(to)s 部分：(%(to)s − %(from)s) × %(ratio)s = %(amount)s") % {
                "from": m(band["from"]), "to": m(band["to"]), "ratio": _percent(band["ratio"]),
                "amount": m(band["amount"])}
            base = band.get("base_ratio")
            if base is not None and Decimal(base) != Decimal(band["ratio"]):
                how += _("（方案比例 %(base)s）") % {"base": _percent(base)}
            lines.append(Line(_("第%(n)s段") % {"n": index}, how, band["amount"]))
        if not b.get("bands"):
            lines.append(Line(_("分段补偿"), _("可报销费用未超过起付线，不予补偿"), "0.00"))
        lines.append(Line(_("计算补偿额"), _("各段合计，四舍五入到分"), b["before_cap"]))
    compensation = b.get("compensation")
    if b.get("capped"):
        how = _("已达年度封顶线：取计算补偿额 %(a)s 与封顶线剩余 %(c)s 中较小者") % {
            "a": m(b["before_cap"]), "c": m(b["cap_remaining"])}
    else:
        how = _("未超过年度封顶线剩余额度 %(c)s") % {"c": m(b["cap_remaining"])}
    lines.append(Line(_("年度封顶线剩余"), _("本年度已获补偿之外的剩余额度"), b["cap_remaining"]))
    lines.append(Line(_("补偿金额"), how, compensation, strong=True))
    lines.append(Line(_("个人自付"), _("个人自付 %(p)s = 总费用 %(t)s − 补偿金额 %(c)s")
                      % {"p": m(b.get("patient_pays")), "t": m(total), "c": m(compensation)},
                      b.get("patient_pays"), strong=True))
    return lines


def explain_claim(claim: Claim) -> list[Line]:
    return explain_breakdown(claim.breakdown, total_cost=claim.total_cost,
                             non_reimbursable_cost=claim.non_reimbursable_cost,
                             level=claim.facility.level, category=claim.member.category)
