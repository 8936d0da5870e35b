"""Reads and report queries of enrollment, with scoping applied."""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from accounts.scoping import is_county_wide
from core.money import to_ratio
from enrollment.models import Enrollment, Household, Member, MemberStatus
from places.models import Village, VillagePopulation

# --- participation (参合率) -----------------------------------------------------------------
# The target is participation ≥ 95% of the agricultural population per village, township and
# county. Participants are members with an Enrollment of the year (the contribution recorded).
# Figures are counted in the database (one aggregate query per page); townships and the county
# are sums of their village rows, so every figure adds up on the page.
PARTICIPATION_TARGET = Decimal(settings.PARTICIPATION_TARGET)


@dataclass(frozen=True)
class ParticipationRow:
    """One line of the participation table: a village, a township (sum of villages) or the county."""

    level: str  # "village", "township" or "county"
    township_code: str
    township_name: str
    village_code: str  # "" for township and county rows
    village_name: str
    population: int
    participants: int
    # members on the households' register for the year: not died or moved out before it began
    # (the rate's denominator stays the agricultural population the county enters)
    on_roll: int = 0

    @property
    def rate(self) -> Decimal | None:
        """participants / population, ROUND_HALF_UP to 4 places; None when the population is 0."""
        if not self.population:
            return None
        return to_ratio(Decimal(self.participants) / Decimal(self.population))

    @property
    def rate_percent(self) -> Decimal | None:
        """The rate as a percentage with 2 decimals (0.9600 -> 96.00)."""
        rate = self.rate
        return None if rate is None else (rate * 100).quantize(Decimal("0.01"))

    @property
    def needed(self) -> int:
        """Participants the target asks for: 95% of the population, rounded up to a whole person."""
        return int((PARTICIPATION_TARGET * self.population).to_integral_value(rounding=ROUND_CEILING))

    @property
    def gap(self) -> int:
        """How many more members must join to reach the 95% target (0 when reached)."""
        return max(0, self.needed - self.participants)

    @property
    def above_population(self) -> bool:
        """More participants than agricultural population (a rate above 100%): the population
        figure is probably wrong."""
        return self.population > 0 and self.participants > self.population

    @property
    def below_target(self) -> bool:
        return self.population > 0 and self.gap > 0


@dataclass(frozen=True)
class ParticipationReport:
    year: int
    county: ParticipationRow | None  # only for county-wide users
    townships: list[ParticipationRow]
    villages: list[ParticipationRow]

    @property
    def rows(self) -> list[ParticipationRow]:
        """County first, then townships, then villages (each worst first)."""
        return ([self.county] if self.county else []) + self.townships + self.villages


def _worst_first(row: ParticipationRow):
    rate = row.rate
    # lowest rate first; rows without a population (no rate) last
    return (rate is None, rate if rate is not None else Decimal(0), row.township_code, row.village_code)


def participation_village_figures(*, user, year: int, township=None):
    """Villages in the user's scope annotated with `population` and `participants` for the year.

    Only villages with a population of the year or at least one participant are kept.
    """
    population = VillagePopulation.objects.filter(village=OuterRef("pk"), year=year).values("population")[:1]
    participants = (
        Enrollment.objects.filter(year=year, member__household__village=OuterRef("pk"))
        .order_by()
        .values("member__household__village")
        .annotate(count=Count("pk"))
        .values("count")
    )
    on_roll = (
        Member.objects.filter(household__village=OuterRef("pk"))
        .filter(Q(status=MemberStatus.ACTIVE) | Q(status_date__gte=date(year, 1, 1)))
        .order_by()
        .values("household__village")
        .annotate(count=Count("pk"))
        .values("count")
    )
    villages = Village.objects.for_user(user)
    if township is not None:
        villages = villages.filter(township=township)
    return (
        villages.annotate(
            population=Coalesce(Subquery(population, output_field=IntegerField()), 0),
            has_population=Exists(VillagePopulation.objects.filter(village=OuterRef("pk"), year=year)),
            participants=Coalesce(Subquery(participants, output_field=IntegerField()), 0),
            on_roll=Coalesce(Subquery(on_roll, output_field=IntegerField()), 0),
        )
        .filter(Q(has_population=True) | Q(participants__gt=0))
        .select_related("township")
        .order_by("township__code", "code")
    )


def participation_report(*, user, year: int, township=None) -> ParticipationReport:
    """The participation report of a year in the user's scope.

    A township clerk gets their township's villages and township row, no county row; county roles
    get every township and the county. `township` narrows the report to one township (already
    checked to be in scope by the caller).
    """
    villages: list[ParticipationRow] = []
    totals: dict[str, list] = {}
    for village in participation_village_figures(user=user, year=year, township=township).values(
        "code", "name", "township__code", "township__name", "population", "participants", "on_roll"
    ):
        row = ParticipationRow(
            level="village", township_code=village["township__code"], township_name=village["township__name"],
            village_code=village["code"], village_name=village["name"],
            population=village["population"], participants=village["participants"], on_roll=village["on_roll"],
        )
        villages.append(row)
        total = totals.setdefault(row.township_code, [row.township_name, 0, 0, 0])
        total[1] += row.population
        total[2] += row.participants
        total[3] += row.on_roll
    townships = [
        ParticipationRow(level="township", township_code=code, township_name=name, village_code="",
                         village_name="", population=pop, participants=part, on_roll=roll)
        for code, (name, pop, part, roll) in totals.items()
    ]
    county = None
    if is_county_wide(user) and township is None:
        county = ParticipationRow(
            level="county", township_code="", township_name=settings.COUNTY_NAME, village_code="",
            village_name="", population=sum(t.population for t in townships),
            participants=sum(t.participants for t in townships), on_roll=sum(t.on_roll for t in townships),
        )
    return ParticipationReport(
        year=year, county=county,
        townships=sorted(townships, key=_worst_first), villages=sorted(villages, key=_worst_first),
    )


def participation_years() -> list[int]:
    """Years that have populations or enrollments, newest first."""
    years = set(VillagePopulation.objects.values_list("year", flat=True).distinct())
    years |= set(Enrollment.objects.order_by().values_list("year", flat=True).distinct())
    return sorted(years, reverse=True)


# --- households (家庭户查询, household page) -------------------------------------------------
# Appended by the household pages; reads start from `for_user(user)` so scoping holds here too.


def household_search(*, user, q: str = "", village=None):
    """Households in the user's scope matching `q`: a member's name (part of it), a member's ID
    number (whole, or its first characters when 6 or more are typed) or the household/card number
    (part of it). Newest numbering order; the head and village come along for the result list.
    """
    from django.db.models import Exists, OuterRef, Q


    households = Household.objects.for_user(user)
    if village is not None:
        households = households.filter(village=village)
    text = (q or "").strip()
    if text:
        members = Q(name__contains=text)
        id_text = text.upper()
        if len(id_text) >= 6 and id_text[:-1].isdigit() and (id_text[-1].isdigit() or id_text[-1] == "X"):
            # "starts with" as a range on the unique index: an ID is digits and X, all below "Z"
            members |= Q(id_number__gte=id_text, id_number__lt=id_text + "Z")
        households = households.filter(
            Q(number__icontains=text) | Q(card_number__icontains=text)
            | Exists(Member.objects.filter(members, household=OuterRef("pk")))
        )
    return (
        households.select_related("village__township", "head")
        # the members on the roll: one who died or moved out of the county is not counted
        .annotate(member_count=Count("members", filter=Q(members__status=MemberStatus.ACTIVE), distinct=True))
        .order_by("number")
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One saved change of a household, a member or an enrollment, for the household page."""

    when: object  # aware datetime
    who: str  # the user's display name; "" when the change was made by the system (no user)
    kind: str  # "household", "member" or "enrollment"
    subject: str  # which one: the household number, the member's name, "2026 张三"
    action: str  # "+" created, "~" changed, "-" deleted
    changes: list  # (field label, old, new) for changes; (field label, "", value) for creations


def _history_value(field, value, names: dict):
    if value is None or value == "":
        return ""
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if field.name == "head":
        return names.get(value, str(value))
    if field.name == "village":
        return names.get(("village", value), str(value))
    return str(value)


def _history_entries(records, *, kind: str, subject, names: dict, skip=()) -> list[HistoryEntry]:
    entries = []
    previous: dict = {}
    for record in records:
        fields = [f for f in record.tracked_fields if f.editable and f.name not in skip and f.name != "id"]
        before = previous.get(record.id)
        changes = []
        for field in fields:
            new = getattr(record, field.attname)
            if record.history_type == "+":
                if new not in (None, ""):
                    changes.append((str(field.verbose_name), "", _history_value(field, new, names)))
            elif before is not None:
                old = getattr(before, field.attname)
                if old != new:
                    changes.append((str(field.verbose_name), _history_value(field, old, names),
                                    _history_value(field, new, names)))
        previous[record.id] = record
        if record.history_type == "~" and not changes:
            continue
        user = record.history_user
        entries.append(HistoryEntry(
            when=record.history_date,
            who=(getattr(user, "display_name", None) or user.get_username()) if user else "",
            kind=kind, subject=subject(record), action=record.history_type, changes=changes,
        ))
    return entries


def household_history(*, household) -> list[HistoryEntry]:
    """Every saved change of the household, its members (past and present) and their enrollments,
    newest first, with who, when and each changed field's old and new value (django-simple-history).
    """
    from enrollment.models import Enrollment, Household, Member

    household_records = list(
        Household.history.filter(id=household.pk).select_related("history_user").order_by("history_date", "history_id")
    )
    member_records = list(
        Member.history.filter(household_id=household.pk).select_related("history_user").order_by("history_date", "history_id")
    )
    member_ids = {r.id for r in member_records}
    enrollment_records = list(
        Enrollment.history.filter(member_id__in=member_ids).select_related("history_user").order_by("history_date", "history_id")
    )
    names = {r.id: r.name for r in member_records}
    village_ids = {r.village_id for r in household_records}
    names.update({("village", v.pk): v.name for v in Village.objects.filter(pk__in=village_ids)})
    entries = _history_entries(household_records, kind="household", subject=lambda r: r.number, names=names)
    entries += _history_entries(member_records, kind="member", subject=lambda r: r.name, names=names,
                                skip={"household"})
    entries += _history_entries(enrollment_records, kind="enrollment",
                                subject=lambda r: f"{r.year} {names.get(r.member_id, '')}".strip(),
                                names=names, skip={"member", "recorded_by"})
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
