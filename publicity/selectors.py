"""Reads of the public site. Nothing here returns a full name or ID number: notices carry
masked snapshots, the fund summary only county totals, the lookup only the member's own claims
once both ID number and full name matched."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from accounts.scoping import scope_by_township
from claims.models import Claim, ClaimStatus
from core.dates import month_span
from core.money import ZERO, to_fen
from enrollment.models import Enrollment, Member
from ledger.models import COMPENSATION
from ledger.selectors import account_balance, income_total
from places.models import Township, Village

from .models import Notice, NoticeCorrection, NoticeLine


def townships_with_villages():
    """[(township, [villages with their notice count])] in code order."""
    counts = dict(Notice.objects.values_list("village").annotate(n=Count("pk")).values_list("village", "n"))
    villages = list(Village.objects.select_related("township").order_by("code"))
    result = []
    for township in Township.objects.order_by("code"):
        rows = [(v, counts.get(v.pk, 0)) for v in villages if v.township_id == township.pk]
        result.append((township, rows))
    return result


def village_notices(village):
    return (Notice.objects.filter(village=village).annotate(line_count=Count("lines"),
                                                            total=Sum("lines__compensation"))
            .order_by("-year", "-month", "number"))


def notice_lines(notice):
    return list(NoticeLine.objects.filter(notice=notice).order_by("order")
                .only("order", "masked_name", "village_name", "facility_name", "admission_date",
                      "discharge_date", "total_cost", "reimbursable_cost", "compensation", "notice_id"))


def notice_corrections(notice):
    """The notice's correction lines (更正), public fields only (never the claim or the recovery)."""
    return list(NoticeCorrection.objects.filter(notice=notice).order_by("order")
                .only("order", "masked_name", "year", "month", "compensation", "recovered", "net", "notice_id"))


@dataclass(frozen=True)
class Quarter:
    quarter: int
    start: date
    end: date
    income: Decimal
    compensation: Decimal
    balance: Decimal  # income to date less compensation to date, at the quarter's end


def fund_summary(year: int) -> list[Quarter]:
    """The county fund of scheme year `year` by quarter, from the ledger (fund.selectors): income
    booked, compensation paid, and what remains at each quarter's end. Quarters not yet begun
    are left out."""
    today = timezone.localdate()
    quarters = []
    income_before = compensation_before = ZERO
    for q in range(1, 5):
        start = date(year, 3 * q - 2, 1)
        if start > today:
            break
        end = date(year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
        income_to = income_total(year=year, until=end)
        compensation_to = account_balance(COMPENSATION, end, year=year)
        quarters.append(Quarter(q, start, end, income_to - income_before, compensation_to - compensation_before,
                                income_to - compensation_to))
        income_before, compensation_before = income_to, compensation_to
    return quarters


LOOKUP_YEARS = 3


@dataclass(frozen=True)
class YearOfCover:
    """A scheme year as the villager's own page shows it: their own contribution (None: not
    paid), and how many of their household's members have paid."""

    year: int
    own: Enrollment | None
    household_paid: int
    household_size: int


@dataclass(frozen=True)
class VillagerPage:
    """What a villager sees of themselves after the lookup: their claims of the last three years
    (this year first), their household's cover this year and next, and the co-op card number.
    Nothing about anyone else: the household only as counts."""

    member: Member
    claims_by_year: list[tuple[int, list[Claim]]]
    cover: list[YearOfCover]
    card_number: str


def villager_page(*, id_number: str, name: str, today: date) -> VillagerPage | None:
    """The villager's own page when the ID number and the full name both match, else None. The
    caller gives the same answer for an unknown ID number as for a mismatch."""
    found = _matching_member(id_number, name)
    if found is None:
        return None
    member = found
    years = list(range(today.year, today.year - LOOKUP_YEARS, -1))
    claims = _in_fen(Claim.objects.filter(member=member, year__in=years).with_recovered()
                     .select_related("facility", "rejection_reason").order_by("-admission_date", "-pk"))
    by_year = [(year, [claim for claim in claims if claim.year == year]) for year in years]
    cover_years = [today.year, today.year + 1]
    household = list(Member.objects.filter(household_id=member.household_id).values_list("pk", flat=True))
    paid = list(Enrollment.objects.filter(member_id__in=household, year__in=cover_years))
    own = {enrollment.year: enrollment for enrollment in paid if enrollment.member_id == member.pk}
    counts = {year: sum(1 for enrollment in paid if enrollment.year == year) for year in cover_years}
    cover = [YearOfCover(year=year, own=own.get(year), household_paid=counts[year], household_size=len(household))
             for year in cover_years]
    return VillagerPage(member=member, claims_by_year=by_year, cover=cover,
                        card_number=member.household.card_number)


def _matching_member(id_number: str, name: str) -> Member | None:
    id_number = (id_number or "").strip().upper()
    name = (name or "").strip()
    if not id_number or not name:
        return None
    member = (Member.objects.filter(id_number=id_number).select_related("household")
              .only("pk", "name", "id_number", "household__card_number").first())
    if member is None or member.name != name:
        return None
    return member


def _in_fen(claims) -> list[Claim]:
    """Claims of `with_recovered()` with both figures in fen (SQLite sums without the two places)."""
    claims = list(claims)
    for claim in claims:
        claim.recovered = to_fen(Decimal(claim.recovered))
        claim.net_compensation = claim.compensation - claim.recovered
    return claims


def case_claims(kind: str, case) -> list[Claim]:
    """The paid claims an objection or report concerns, which a recovery may be recorded against:
    an objection's posted line's claim; a report's claims by its invoice number (at its facility
    when it names one)."""
    if kind == "objection":
        claims = Claim.objects.filter(pk=case.line.claim_id)
    else:
        invoice = (case.invoice_no or "").strip()
        if not invoice:
            return []
        claims = Claim.objects.filter(invoice_no=invoice)
        if case.facility_id:
            claims = claims.filter(facility_id=case.facility_id)
    return _in_fen(claims.filter(status=ClaimStatus.PAID).with_recovered()
                   .select_related("member", "facility").order_by("pk"))


@dataclass(frozen=True)
class NoticeMonth:
    """One month of a year on the staff's notices page, over the villages the user reaches."""

    month: int
    notices: int
    lines: int
    compensation: Decimal
    waiting: int  # paid claims of the month (by paid date) on no notice yet
    begun: bool  # the month has begun (a month to come cannot be posted)


def _notices_for(user):
    return scope_by_township(Notice.objects.all(), user, "village__township")


def notice_months(*, user, year: int, today: date) -> list[NoticeMonth]:
    """Each month of `year`: the notices posted (originals and addenda), their lines and what they
    posted, and the paid claims still waiting; a township clerk's villages only."""
    posted = {row["month"]: row for row in _notices_for(user).filter(year=year).values("month").annotate(
        notice_count=Count("pk", distinct=True), line_count=Count("lines"),
        posted_total=Sum("lines__compensation"))}
    claims = Claim.objects.for_user(user).filter(status=ClaimStatus.PAID, notice_line__isnull=True)
    rows = []
    for month in range(1, 13):
        start, end = month_span(year, month)
        begun = (year, month) <= (today.year, today.month)
        waiting = claims.filter(paid_at__gte=start, paid_at__lt=end).count() if begun else 0
        row = posted.get(month, {})
        rows.append(NoticeMonth(month=month, notices=row.get("notice_count", 0), lines=row.get("line_count", 0),
                                compensation=to_fen(Decimal(row.get("posted_total") or 0)), waiting=waiting,
                                begun=begun))
    return rows


def month_notices(*, user, year: int, month: int):
    """The month's notices of the villages the user reaches, with their line count and total."""
    return (_notices_for(user).filter(year=year, month=month).select_related("village__township")
            .annotate(line_count=Count("lines"), total=Sum("lines__compensation"))
            .order_by("village__code", "number"))
