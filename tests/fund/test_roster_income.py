"""A roster import books its recorded contributions as individual income, dated by paid date,
in the import's own transaction; importing the same file again books nothing more."""
from datetime import date
from decimal import Decimal

import pytest

from enrollment.roster import RosterInvalid, roster_import
from fund.selectors import reconciliation
from ledger.selectors import income_total
from tests.enrollment.roster_data import csv_bytes, family


@pytest.mark.django_db
def test_roster_contributions_are_booked_as_individual_income_by_paid_date(village, policy_2026, clerk):
    rows = family()
    rows[3]["paid_date"] = "2026-02-10"  # the 低保 head paid later (civil affairs)
    data = csv_bytes(rows)

    roster_import(data=data, filename="roster.csv", year=2026, user=clerk)

    assert income_total(year=2026, until=date(2026, 1, 31)) == Decimal("1140.00")
    assert income_total(year=2026, until=date(2026, 2, 28)) == Decimal("1520.00")
    assert reconciliation(2026) == []

    roster_import(data=data, filename="roster.csv", year=2026, user=clerk)  # unchanged: nothing booked
    assert income_total(year=2026, until=date(2026, 12, 31)) == Decimal("1520.00")
    assert reconciliation(2026) == []


@pytest.mark.django_db
def test_a_refused_roster_books_nothing(village, policy_2026, clerk):
    rows = family()
    rows.append(dict(rows[3], household_no="H003"))  # the same ID twice: the whole file is refused
    with pytest.raises(RosterInvalid):
        roster_import(data=csv_bytes(rows), filename="roster.csv", year=2026, user=clerk)
    assert income_total(year=2026, until=date(2026, 12, 31)) == Decimal("0.00")
