"""Quoting many claims at once, writing nothing: the engine of `quote_claims` (docs/contract.md).

Lines are successive claims of one scheme year: a member's annual cap is consumed across lines
on top of what the database already holds, and overlapping stays and duplicate invoices are
checked across lines as well as against the database. Refused lines take nothing.

Speed comes from set-based reads: facilities and the policy once; then, per chunk of lines,
the members (with their birth dates), their enrollments of the year (with the day each was
paid, for when cover starts) and their non-rejected claims for every ID number not
seen before, and the invoices of the chunk, in one query each, each key of the chunk served by
its own index probe whatever the planner's statistics. The per-line work is pure Python
(`claims.eligibility`, `claims.rules`).
"""
from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from django.utils import timezone

from core.errors import NcmsError
from core.money import ZERO
from enrollment.models import Enrollment, Member, MemberStatus
from facilities.models import Facility
from policy.models import PolicyVersion

from . import rules
from .eligibility import (
    FacilityInfo,
    MemberInfo,
    ReferralInfo,
    Stay,
    check_claim,
    parse_facts,
    past_periods,
    total_cost_max,
)
from .lookups import referrals

CHUNK = 2000


def _where_in(queryset, column: str, values):
    """`column IN values`, as one array parameter (`= ANY(%s)`) on PostgreSQL: thousands of
    placeholders cost more to build and parse than the query itself."""
    from django.db import connection

    values = list(values)
    queryset = queryset.order_by()
    if connection.vendor == "postgresql":
        table = queryset.model._meta.db_table
        return queryset.extra(where=[f'"{table}"."{column}" = ANY(%s)'], params=[values])
    return queryset.filter(**{f"{column}__in": values})


# Batch lookups (PostgreSQL). Each key of the batch (a member; a facility and invoice) drives its
# own probe of the index that leads with it, in a LATERAL subquery the planner cannot flatten into a join (LIMIT 1: at
# most one row by a unique index; OFFSET 0: any number of rows). The plan is then the same with
# or without statistics. On a table without them (right after a bulk load), a plain
# `year = Y AND member_id = ANY(...)` can be served by the (year, paid_date) index, which reads
# the whole year for every chunk.

def _enrolled(year: int, member_ids: list[int]) -> Iterable[tuple]:
    """(member id, paid date) of the members of `member_ids` enrolled in `year`."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return _where_in(Enrollment.objects.filter(year=year), "member_id", member_ids).values_list(
            "member_id", "paid_date")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.member_id, e.paid_date FROM unnest(%s::bigint[]) AS k(member_id) CROSS JOIN LATERAL"
            f" (SELECT e.paid_date FROM {Enrollment._meta.db_table} e"
            "  WHERE e.member_id = k.member_id AND e.year = %s LIMIT 1) AS e",
            [member_ids, year],
        )
        return cursor.fetchall()


def _stays(member_ids: list[int]) -> Iterable[tuple]:
    """(member id, admission, discharge, year, compensation, claim id, facility id) of every claim
    of these members that holds the cap (not rejected)."""
    from django.db import connection

    from .models import Claim, ClaimStatus, Recovery

    # what a claim holds of the cap: its compensation less its recoveries
    columns = ("member_id", "admission_date", "discharge_date", "year", "net_compensation", "pk", "facility_id")
    if connection.vendor != "postgresql":
        return _where_in(Claim.objects.holding_cap().with_recovered(), "member_id", member_ids
                         ).values_list(*columns)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.member_id, c.admission_date, c.discharge_date, c.year, c.compensation, c.id, c.facility_id"
            " FROM unnest(%s::bigint[]) AS k(member_id) CROSS JOIN LATERAL"
            " (SELECT c.admission_date, c.discharge_date, c.year, c.compensation - COALESCE("
            f"   (SELECT SUM(r.amount) FROM {Recovery._meta.db_table} r WHERE r.claim_id = c.id), 0)"
            "   AS compensation, c.id, c.facility_id"
            f"  FROM {Claim._meta.db_table} c WHERE c.member_id = k.member_id AND c.status <> %s"
            "  OFFSET 0) AS c",
            [member_ids, ClaimStatus.REJECTED],
        )
        return cursor.fetchall()


def _invoices_taken(invoices: set[tuple[str, str]], facilities: dict[str, FacilityInfo]) -> Iterable[tuple]:
    """The (facility code, invoice number) pairs of `invoices` that a claim already has."""
    from django.db import connection

    from .models import Claim

    if connection.vendor != "postgresql":
        return _where_in(Claim.objects.all(), "invoice_no", {number for _code, number in invoices}).values_list(
            "facility__code", "invoice_no")
    codes = {info.id: code for code, info in facilities.items()}
    pairs = sorted(invoices)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.facility_id, k.invoice_no FROM unnest(%s::bigint[], %s::text[]) AS k(facility_id, invoice_no)"
            f" CROSS JOIN LATERAL (SELECT 1 FROM {Claim._meta.db_table} c"
            "  WHERE c.facility_id = k.facility_id AND c.invoice_no = k.invoice_no LIMIT 1) AS c",
            [[facilities[code].id for code, _number in pairs], [number for _code, number in pairs]],
        )
        return [(codes[facility_id], number) for facility_id, number in cursor.fetchall()]


def _refusal(ref, code: str, message: str) -> dict:
    return {"ref": ref, "ok": False, "error": code, "message": message}


class BatchQuoter:
    """Quotes lines of scheme year `year` in order, remembering what earlier lines took."""

    def __init__(self, year: int, today: date | None = None):

        self.year = year
        # a line discharged after the county's today is refused (bad_dates), one above the
        # largest total cost too (bad_amounts): both read once per run
        self.today = today or timezone.localdate()
        self.ceiling = total_cost_max()
        version = PolicyVersion.objects.filter(year=year).first()
        self.policy = version.policy() if version else None
        self.facilities = {
            code: FacilityInfo(id=pk, code=code, level=level, status=status, agreement_start=start,
                               agreement_end=end, suspended_from=suspended, name=name, suspension_reason=reason,
                               past_suspensions=past_periods(past))
            for pk, code, level, status, start, end, suspended, name, reason, past in Facility.objects.values_list(
                "pk", "code", "level", "status", "agreement_start", "agreement_end", "suspended_from", "name",
                "suspension_reason", "past_suspensions")
        }
        self.members: dict[str, MemberInfo | None] = {}
        self.paid: dict[int, date] = {}  # member id → the day their contribution for the year was paid
        self.stays: dict[int, list[Stay]] = {}
        self.used: dict[int, Decimal] = {}
        self.invoices: set[tuple[str, str]] = set()
        self.referrals: dict[str, ReferralInfo] = {}  # the referral records named by the lines

    # --- preloading -------------------------------------------------------------------------

    def _preload(self, facts_list) -> None:
        new_ids = {facts.id_number for facts in facts_list} - self.members.keys()
        if new_ids:
            found = {}
            for pk, id_number, category, name, birth_date, status, status_date in _where_in(
                    Member.objects.all(), "id_number", new_ids).values_list(
                    "pk", "id_number", "category", "name", "birth_date", "status", "status_date"):
                found[id_number] = MemberInfo(id=pk, category=category, name=name, birth_date=birth_date,
                                              died_on=status_date if status == MemberStatus.DIED else None)
            for id_number in new_ids:
                self.members[id_number] = found.get(id_number)
            member_ids = [info.id for info in found.values()]
            if member_ids:
                self.paid.update(_enrolled(self.year, member_ids))
                for member_id in member_ids:
                    self.stays[member_id] = []
                    self.used[member_id] = ZERO
                for member_id, admission, discharge, year, compensation, pk, facility_id in _stays(member_ids):
                    self.stays[member_id].append(Stay(admission, discharge, year, compensation, pk, facility_id))
                    if year == self.year:
                        self.used[member_id] += compensation
        invoices = {(facts.facility, facts.invoice_no) for facts in facts_list
                    if facts.invoice_no and facts.facility in self.facilities}
        if invoices:
            self.invoices.update(_invoices_taken(invoices, self.facilities))
        numbers = {facts.referral_no for facts in facts_list if facts.referral_no} - self.referrals.keys()
        if numbers:  # one more query per chunk, only when its lines name referral records
            self.referrals.update(referrals(numbers))

    # --- quoting ----------------------------------------------------------------------------

    def quote_chunk(self, lines: list[str]) -> list[dict]:
        """One result per line, in order (the contract's output objects)."""
        parsed: list = []
        for line in lines:
            try:
                data = json.loads(line)
            except ValueError:
                parsed.append(_refusal(None, "bad_input", "这一行不是有效的 JSON"))
                continue
            ref = data.get("ref") if isinstance(data, dict) else None
            if self.policy is None:
                parsed.append(_refusal(ref, "no_policy", f"{self.year} 年度尚未载入补偿方案"))
                continue
            try:
                parsed.append((ref, parse_facts(data)))
            except NcmsError as error:
                parsed.append(_refusal(ref, error.code, error.message))
        facts_list = [item[1] for item in parsed if isinstance(item, tuple)]
        if facts_list:
            self._preload(facts_list)
        return [item if isinstance(item, dict) else self._quote(*item) for item in parsed]

    def _quote(self, ref, facts) -> dict:
        facility = self.facilities.get(facts.facility)
        member = self.members.get(facts.id_number)
        member_id = member.id if member is not None else None
        stays = self.stays.get(member_id, ())
        try:
            check_claim(
                facts=facts, year=self.year, policy=self.policy, facility=facility, member=member,
                paid_date=self.paid.get(member_id), stays=stays,
                invoice_taken=(facts.facility, facts.invoice_no) in self.invoices,
                today=self.today, ceiling=self.ceiling,
                referral=self.referrals.get(facts.referral_no) if facts.referral_no else None,
            )
            valuation = rules.value_claim(
                policy=self.policy, level=facility.level, category=member.category,
                total_cost=facts.total_cost, non_reimbursable_cost=facts.non_reimbursable_cost,
                referred=facts.referred or bool(facts.referral_no), diagnosis=facts.diagnosis,
                delivery=facts.delivery, used_this_year=self.used[member_id],
            )
        except NcmsError as error:
            return _refusal(ref, error.code, error.message)
        # The line is taken as a claim: it holds its stay, its invoice and its share of the cap.
        stays.append(Stay(facts.admission_date, facts.discharge_date, self.year, valuation.compensation,
                          facility_id=facility.id))
        self.used[member_id] += valuation.compensation
        if facts.invoice_no:
            self.invoices.add((facts.facility, facts.invoice_no))
        return rules.quote_line(ref, valuation)

    def quote_lines(self, lines: Iterable[str], chunk: int | None = None) -> Iterator[str]:
        """The output lines (JSON text, no newline) for the input lines, chunk by chunk; blank
        input lines are skipped."""
        batch: list[str] = []
        # Short-lived dicts and Decimals by the million, no cycles among them: the cycle
        # collector would only walk them again and again.
        collecting = gc.isenabled()
        gc.disable()
        try:
            yield from self._lines(lines, chunk or CHUNK, batch)
        finally:
            if collecting:
                gc.enable()

    def _lines(self, lines, chunk: int, batch: list[str]) -> Iterator[str]:
        for line in lines:
            if not line.strip():
                continue
            batch.append(line)
            if len(batch) >= chunk:
                yield from self._dump(batch)
                batch = []
        if batch:
            yield from self._dump(batch)

    def _dump(self, batch: list[str]) -> Iterator[str]:
        dumps = json.dumps
        for result in self.quote_chunk(batch):
            yield dumps(result, ensure_ascii=False)
