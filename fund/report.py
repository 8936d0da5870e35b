"""The monthly fund report (基金运行月报), exactly per docs/contract.md, "Monthly fund report".

Every figure is counted in the database, grouped by township (or by village for a township's
drill-down): one aggregate query for populations, one for participants and one for the paid
claims, with conditional aggregation for "the month" against "year to date" — never a Python loop
over claims. Sums come back as Decimal; ratios and averages are computed from the exact sums by
`fund.rules` and rounded once.

Which claims count: claims of scheme year Y (`Claim.year`, the discharge year) with status paid,
placed in the month of their paid date. `Claim.paid_at` is a timestamp; its date is the local
(Asia/Shanghai) date, so month boundaries are local midnights turned into aware datetimes, which
keeps the filter a plain range on the column. A claim of year Y paid after December of year Y
falls in no month of year Y's reports. A township's claims are those made in it (`Claim.township`,
the member's township when the claim was made, set by claims.services).

Recoveries (追回) are two columns of their own, `recovered` and `recovered_ytd`: the recoveries
of the township's claims of year Y by the recovery's date (in month M; from January 1 to the end
of month M). Compensation stays what was paid.
"""
from calendar import monthrange
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_noop

from claims.models import Claim, ClaimStatus, Recovery
from core.dates import local_midnight
from core.errors import NcmsError
from core.money import to_fen
from enrollment.models import Enrollment, Member
from ledger.selectors import income_total
from places.models import Township, Village, VillagePopulation
from policy.models import PolicyVersion

from . import rules

MONEY_COLUMNS = ("total_cost", "reimbursable_cost", "compensation")

# The contract's columns in order (township rows carry the county-only ones as null).
COLUMNS = [
    "population", "participants", "participation_rate",
    "admissions", "admissions_ytd", "total_cost", "total_cost_ytd",
    "reimbursable_cost", "reimbursable_cost_ytd", "compensation", "compensation_ytd",
    "recovered", "recovered_ytd",
    "avg_cost_per_admission", "compensation_ratio", "beneficiary_rate",
    "fund_raised", "fund_available", "fund_usage_rate",
]

# Chinese column headers (XLSX, PDF, dashboard); msgids for the English catalogue.
HEADERS = {
    "township": gettext_noop("乡镇"), "population": gettext_noop("农业人口"), "participants": gettext_noop("参合人数"), "participation_rate": gettext_noop("参合率"),
    "admissions": gettext_noop("本月住院人次"), "admissions_ytd": gettext_noop("累计住院人次"),
    "total_cost": gettext_noop("本月住院总费用"), "total_cost_ytd": gettext_noop("累计住院总费用"),
    "reimbursable_cost": gettext_noop("本月可报费用"), "reimbursable_cost_ytd": gettext_noop("累计可报费用"),
    "compensation": gettext_noop("本月补偿金额"), "compensation_ytd": gettext_noop("累计补偿金额"),
    "recovered": gettext_noop("本月追回金额"), "recovered_ytd": gettext_noop("累计追回金额"),
    "avg_cost_per_admission": gettext_noop("次均住院费用"), "compensation_ratio": gettext_noop("实际补偿比"), "beneficiary_rate": gettext_noop("受益面"),
    "fund_raised": gettext_noop("累计筹集基金"), "fund_available": gettext_noop("可用基金"), "fund_usage_rate": gettext_noop("基金使用率"),
}
RATIO_COLUMNS = {"participation_rate", "compensation_ratio", "beneficiary_rate", "fund_usage_rate"}
MONEY_OUT = {"total_cost", "total_cost_ytd", "reimbursable_cost", "reimbursable_cost_ytd", "compensation",
             "compensation_ytd", "recovered", "recovered_ytd", "avg_cost_per_admission", "fund_raised",
             "fund_available"}


def _check_period(year: int, month: int) -> None:
    if not 1 <= int(month) <= 12:
        raise NcmsError(f"月份 {month} 不对，应为 1 到 12。", code="invalid_month")
    if not 2000 <= int(year) <= 2100:
        raise NcmsError(f"年度 {year} 不对。", code="invalid_year")


def month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def paid_claims(*, year: int, month: int):
    """Paid claims of scheme year Y paid from January 1 to the end of month M (local dates)."""
    until = local_midnight(month_end(year, month) + timedelta(days=1))
    return Claim.objects.filter(year=year, status=ClaimStatus.PAID, paid_at__lt=until)


def _zero_money():
    return Value(Decimal("0.00"), output_field=DecimalField(max_digits=18, decimal_places=2))


def claim_figures(*, year: int, month: int, group: str) -> dict:
    """{group id: {admissions, admissions_ytd, <money>, <money>_ytd, beneficiaries}}.

    `group` is the path from Claim to the grouping key: "township" (the claim's own column, the
    member's township when the claim was made) or a path through the member, e.g.
    "member__household__village". Grouped by a column of the claim, everything is one single-table
    aggregate, the beneficiaries a COUNT(DISTINCT member_id) in it (bench/fund_report.py: 1.0 s on
    a million claims, against 2.5 s + 1.2 s for the join to the member's township and a separate
    semi-join); through the member, the sums join and the beneficiaries are a semi-join on members
    (`beneficiary_figures`).
    """
    in_month = Q(paid_at__gte=local_midnight(date(year, month, 1)))
    # not COUNT(id): every column read is in the covering index claim_township_year_status (and a
    # paid claim always has its paid_at)
    aggregates = {
        "admissions": Count("paid_at", filter=in_month),
        "admissions_ytd": Count("*"),
    }
    through_member = group.startswith("member__")
    if not through_member:
        aggregates["beneficiaries"] = Count("member", distinct=True)
    for column in MONEY_COLUMNS:  # aliased: an annotation may not shadow the field it sums
        aggregates[f"m__{column}"] = Coalesce(Sum(column, filter=in_month), _zero_money())
        aggregates[f"y__{column}"] = Coalesce(Sum(column), _zero_money())
    rows = (paid_claims(year=year, month=month).order_by().values(key=F(group)).annotate(**aggregates))
    if through_member:
        beneficiaries = beneficiary_figures(year=year, month=month, group=group.removeprefix("member__"))
    result = {}
    for row in rows:
        figures = {name: row[name] for name in ("admissions", "admissions_ytd")}
        figures["beneficiaries"] = beneficiaries.get(row["key"], 0) if through_member else row["beneficiaries"]
        for column in MONEY_COLUMNS:
            figures[column] = row[f"m__{column}"]
            figures[f"{column}_ytd"] = row[f"y__{column}"]
        result[row["key"]] = figures
    return result


def recovery_figures(*, year: int, month: int) -> dict:
    """{township id: (recovered in month M, recovered from January 1 to the end of month M)}: the
    recoveries (追回) of claims of scheme year Y made in the township (`Claim.township`), placed
    by the recovery's own date. One grouped query; the claims' own columns keep their meaning
    (a recovery takes nothing off `compensation`)."""
    in_month = Q(date__gte=date(year, month, 1))
    rows = (Recovery.objects.filter(claim__year=year, date__gte=date(year, 1, 1), date__lte=month_end(year, month))
            .order_by().values(key=F("claim__township"))
            .annotate(month=Coalesce(Sum("amount", filter=in_month), _zero_money()),
                      ytd=Coalesce(Sum("amount"), _zero_money())))
    return {row["key"]: (to_fen(row["month"]), to_fen(row["ytd"])) for row in rows}


def beneficiary_figures(*, year: int, month: int, group: str) -> dict:
    """{group id: distinct members with a paid claim ytd}; group is the path from Member.

    A semi-join (members for which such a claim exists) rather than COUNT(DISTINCT) in the claims
    aggregate: the distinct count makes PostgreSQL sort every claim row by group, which on a
    million claims took longer than everything else together (bench/fund_report.py).
    """
    has_claim = paid_claims(year=year, month=month).filter(member=OuterRef("pk"))
    rows = (Member.objects.filter(Exists(has_claim)).order_by().values(key=F(group))
            .annotate(total=Count("pk")))
    return {row["key"]: row["total"] for row in rows}


def population_figures(*, year: int, group: str) -> dict:
    """{group id: agricultural population of the year}; group is the path from VillagePopulation."""
    rows = (VillagePopulation.objects.filter(year=year).order_by().values(key=F(group))
            .annotate(total=Sum("population")))
    return {row["key"]: row["total"] or 0 for row in rows}


def participant_figures(*, year: int, month: int, group: str) -> dict:
    """{group id: members enrolled for Y whose contribution was paid on or before the month's end}."""
    rows = (Enrollment.objects.filter(year=year, paid_date__lte=month_end(year, month)).order_by()
            .values(key=F(group)).annotate(total=Count("pk")))
    return {row["key"]: row["total"] for row in rows}


def _empty_claims() -> dict:
    figures = {"admissions": 0, "admissions_ytd": 0, "beneficiaries": 0}
    for column in MONEY_COLUMNS:
        figures[column] = figures[f"{column}_ytd"] = Decimal("0.00")
    return figures


def _row(population: int, participants: int, claims: dict) -> dict:
    """Exact figures of one row (Decimal/int/None), rounded per the contract."""
    row = {
        "population": population,
        "participants": participants,
        "participation_rate": rules.ratio(participants, population),
        "admissions": claims["admissions"],
        "admissions_ytd": claims["admissions_ytd"],
    }
    for column in MONEY_COLUMNS:
        row[column] = to_fen(claims[column])
        row[f"{column}_ytd"] = to_fen(claims[f"{column}_ytd"])
    row["avg_cost_per_admission"] = rules.average_fen(claims["total_cost_ytd"], claims["admissions_ytd"])
    row["compensation_ratio"] = rules.ratio(claims["compensation_ytd"], claims["total_cost_ytd"])
    row["beneficiary_rate"] = rules.ratio(claims["beneficiaries"], participants)
    row["fund_raised"] = row["fund_available"] = row["fund_usage_rate"] = None
    return row


def _fund_raised(year: int, until: date) -> Decimal:
    return Decimal(income_total(year=year, until=until))


def _risk_reserve_rate(year: int) -> Decimal | None:
    version = PolicyVersion.objects.filter(year=year).first()
    return None if version is None else version.policy().risk_reserve_rate


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def monthly_report_figures(*, year: int, month: int) -> dict:
    """The report with Python values (Decimal, int, None): rows keyed "township" (code or
    "county") plus "name"; used by the JSON form and by the dashboard."""
    _check_period(year, month)
    # claims by the township they were made in (Claim.township, no join); participants by the
    # member's township now (enrollment → member → household → village, one join chain)
    claims = claim_figures(year=year, month=month, group="township")
    populations = population_figures(year=year, group="village__township")
    participants = participant_figures(year=year, month=month, group="member__household__village__township")

    recovered = recovery_figures(year=year, month=month)

    rows = []
    county_claims = _empty_claims()
    county_population = county_participants = 0
    county_recovered = [Decimal("0.00"), Decimal("0.00")]
    for township in Township.objects.order_by("code").values("pk", "code", "name"):
        figures = claims.get(township["pk"], _empty_claims())
        population = populations.get(township["pk"], 0)
        enrolled = participants.get(township["pk"], 0)
        in_month, ytd = recovered.get(township["pk"], (Decimal("0.00"), Decimal("0.00")))
        county_recovered[0] += in_month
        county_recovered[1] += ytd
        rows.append({"township": township["code"], "name": township["name"], **_row(population, enrolled, figures),
                     "recovered": in_month, "recovered_ytd": ytd})
        for key, value in figures.items():
            county_claims[key] += value
        county_population += population
        county_participants += enrolled
    if county_claims["beneficiaries"]:
        # a member who moved township within the year counts in each township they had a paid
        # claim in, but once in the county: counted over the county's claims, not summed
        county_claims["beneficiaries"] = paid_claims(year=year, month=month).aggregate(
            total=Count("member", distinct=True))["total"]

    county = {"township": "county", "name": settings.COUNTY_NAME,
              **_row(county_population, county_participants, county_claims),
              "recovered": county_recovered[0], "recovered_ytd": county_recovered[1]}
    fund_raised = _fund_raised(year, month_end(year, month))
    county["fund_raised"] = to_fen(fund_raised)
    rate = _risk_reserve_rate(year)
    if rate is not None:
        available = rules.net_of_reserve(fund_raised, rate)
        county["fund_available"] = to_fen(available)
        county["fund_usage_rate"] = rules.ratio(county_claims["compensation_ytd"], available)
    rows.append(county)

    warnings = rules.warnings_for(
        month=month, fund_usage_rate=county["fund_usage_rate"],
        townships=[(row["township"], row["name"], row["participation_rate"]) for row in rows[:-1]],
    )
    return {"year": year, "month": month, "rows": rows, "warnings": [w.as_dict() for w in warnings]}


def to_contract_json(figures: dict) -> dict:
    """Python figures -> the contract's JSON: numbers as decimal strings, nulls kept."""
    return {
        "year": figures["year"],
        "month": figures["month"],
        "rows": [{"township": row["township"], **{c: _as_text(row[c]) for c in COLUMNS}} for row in figures["rows"]],
        "warnings": list(figures["warnings"]),
    }


def monthly_report(*, year: int, month: int) -> dict:
    """The contract's JSON of the monthly fund report for scheme year Y and month M."""
    return to_contract_json(monthly_report_figures(year=year, month=month))


def township_drilldown(*, year: int, month: int, township) -> list[dict]:
    """One township's villages: population, participants, participation and claims figures
    (same definitions as the report's township rows), ordered by village code."""
    _check_period(year, month)
    village_key = "member__household__village"
    claims = claim_figures(year=year, month=month, group=village_key)
    populations = population_figures(year=year, group="village")
    participants = participant_figures(year=year, month=month, group=village_key)
    rows = []
    for village in Village.objects.filter(township=township).order_by("code").values("pk", "code", "name"):
        row = _row(populations.get(village["pk"], 0), participants.get(village["pk"], 0),
                   claims.get(village["pk"], _empty_claims()))
        rows.append({"village": village["code"], "name": village["name"], **row})
    return rows


# The columns a village's row carries: recoveries are counted by the claim's township only, the
# fund's columns by the county only.
VILLAGE_COLUMNS = [column for column in COLUMNS
                   if column not in ("recovered", "recovered_ytd", "fund_raised", "fund_available",
                                     "fund_usage_rate")]


def township_report_figures(*, year: int, month: int, township) -> dict:
    """The report as the township's own office reads it: the township's row exactly as in the
    county's report, its villages (`township_drilldown`) and the warnings that name the township.
    Nothing of the county's row or of another township: the county's fund figures and warnings
    (usage, overspending) are the county's to read."""
    figures = monthly_report_figures(year=year, month=month)
    row = next(row for row in figures["rows"] if row["township"] == township.code)
    return {
        "year": year, "month": month, "township": township.code,
        "rows": [row],
        "villages": township_drilldown(year=year, month=month, township=township),
        "warnings": [w for w in figures["warnings"] if w["township"] == township.code],
    }


def township_report_json(figures: dict) -> dict:
    """township_report_figures as JSON: the township's row with the contract's columns, its
    villages with VILLAGE_COLUMNS, numbers as decimal strings."""
    data = to_contract_json(figures)
    data["township"] = figures["township"]
    data["villages"] = [{"village": row["village"], "name": row["name"],
                         **{c: _as_text(row[c]) for c in VILLAGE_COLUMNS}} for row in figures["villages"]]
    return {key: data[key] for key in ("year", "month", "township", "rows", "villages", "warnings")}


def villages_above_population(*, year: int, month: int, township=None) -> list[dict]:
    """Villages whose participants by the month's end outnumber their agricultural population
    (a rate above 100%): their population is probably wrong. For the report's page, not the
    contract's JSON; with `township`, of that township only. Each: township and village names and
    codes, population, participants, rate."""
    populations = population_figures(year=year, group="village")
    participants = participant_figures(year=year, month=month, group="member__household__village")
    over = [pk for pk, count in participants.items() if count > populations.get(pk, 0) > 0]
    villages = Village.objects.filter(pk__in=over)
    if township is not None:
        villages = villages.filter(township=township)
    rows = []
    for village in villages.select_related("township").order_by("code"):
        population, count = populations[village.pk], participants[village.pk]
        rows.append({"township": village.township.name, "village": village.name, "code": village.code,
                     "population": population, "participants": count,
                     "rate": rules.ratio(count, population)})
    return rows


# --- stored reports (a stored report never changes; regenerating makes a new version) --------

def fund_report_store(*, year: int, month: int, user=None):
    """Computes the report now and stores it as the next version of (year, month)."""
    from fund.models import FundReport

    data = monthly_report(year=year, month=month)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                latest = FundReport.objects.filter(year=year, month=month).order_by("-version").first()
                return FundReport.objects.create(
                    year=year, month=month, version=(latest.version + 1) if latest else 1,
                    data=data, created_by=user,
                )
        except IntegrityError:  # another process stored the same version at the same moment
            continue
    raise NcmsError("同时有其他人在保存该月报告，请稍后重试。", code="report_busy")


def fund_report_store_first(*, year: int, month: int):
    """Stores version 1 of (year, month) unless a version exists; returns (report, created)."""
    from fund.models import FundReport

    existing = FundReport.objects.filter(year=year, month=month).order_by("version").first()
    if existing is not None:
        return existing, False
    data = monthly_report(year=year, month=month)
    try:
        with transaction.atomic():
            return FundReport.objects.create(year=year, month=month, version=1, data=data), True
    except IntegrityError:  # stored by a concurrent run
        return FundReport.objects.get(year=year, month=month, version=1), False


def monthly_compensation(*, year: int, month: int, township=None) -> list[tuple[int, Decimal]]:
    """[(m, compensation paid in month m)] for months 1..M of scheme year Y, one grouped query;
    with `township`, of the claims made in it only (`Claim.township`, as its report row)."""
    _check_period(year, month)
    claims = paid_claims(year=year, month=month)
    if township is not None:
        claims = claims.filter(township=township)
    rows = (claims.order_by()
            .annotate(paid_month=TruncMonth("paid_at", tzinfo=timezone.get_default_timezone()))  # the county's month
            .values("paid_month").annotate(total=Sum("compensation")))
    totals = {row["paid_month"].month: row["total"] for row in rows if row["paid_month"].year == year}
    return [(m, to_fen(totals.get(m) or Decimal("0.00"))) for m in range(1, month + 1)]
