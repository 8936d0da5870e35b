"""Reads of the fund officer's recoveries page (`/fund/recoveries/`): every recovery (追回) with
what is left to come back. A township-channel recovery is owed by the household until its refunds
(`RecoveryRefund`) cover it (`fund.refunds.outstanding`); a facility-channel one is withheld from
the facility's statements (`StatementWithholding`), so the page says how much was withheld and on
which statements."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from claims.models import Channel, Recovery
from core.money import ZERO

from .models import RecoveryRefund, StatementWithholding

LIMIT = 500


@dataclass
class RecoveryRow:
    recovery: Recovery
    facility_channel: bool
    refunded: Decimal = ZERO
    withheld: Decimal = ZERO
    refunds: list = field(default_factory=list)
    statements: list = field(default_factory=list)  # the FacilityStatements that withheld it

    @property
    def outstanding(self) -> Decimal:
        """What is still to come back: by refund (township channel) or on a statement (facility)."""
        return self.recovery.amount - (self.withheld if self.facility_channel else self.refunded)


def recovery_rows(*, user, year: int | None = None, outstanding_only: bool = False) -> list[RecoveryRow]:
    """The user's recoveries, newest first (of the claims' scheme `year` when given), with their
    refunds and withholdings: three queries whatever the number of rows."""
    recoveries = Recovery.objects.for_user(user).select_related(
        "claim__member", "claim__facility", "claim__township", "created_by").order_by("-date", "-id")
    if year:
        recoveries = recoveries.filter(claim__year=year)
    recoveries = list(recoveries[:LIMIT])
    rows = {recovery.pk: RecoveryRow(recovery, recovery.claim.channel == Channel.FACILITY) for recovery in recoveries}
    for refund in RecoveryRefund.objects.filter(recovery_id__in=rows).order_by("date", "id"):
        row = rows[refund.recovery_id]
        row.refunded += refund.amount
        row.refunds.append(refund)
    for withholding in (StatementWithholding.objects.filter(recovery_id__in=rows).select_related("statement")
                        .order_by("statement__year", "statement__month", "id")):
        row = rows[withholding.recovery_id]
        row.withheld += withholding.amount
        row.statements.append(withholding)
    result = list(rows.values())
    if outstanding_only:
        result = [row for row in result if row.outstanding > ZERO]
    return result


__all__ = ["RecoveryRow", "recovery_rows"]
