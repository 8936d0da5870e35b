"""Hypothesis: any sequence of allowed operations keeps every transaction balanced, every money
account ≥ 0 (the expenditure account above all), the stored balances equal to the lines, the
reserve at round(rate × income); and every forbidden movement is refused, writing nothing."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import NcmsError
from fund import services
from fund.selectors import reconciliation
from ledger import services as ledger_services
from ledger.models import AccountBalance, LedgerLine, LedgerTransaction
from ledger.selectors import account_balance
from tests.fund.conftest import approved_claim

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000.00"), places=2)
operations = st.lists(st.one_of(
    st.tuples(st.just("income"), st.sampled_from(["central", "provincial", "county", "other", "interest"]), money),
    st.tuples(st.just("transfer"), st.just(""), money),
    st.tuples(st.just("interest_return"), st.just(""), money),
    st.tuples(st.just("pay"), st.just(""), money),
    st.tuples(st.just("reverse"), st.just(""), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("forbidden"), st.sampled_from(["back", "payout_from_special", "reserve_out", "unbalanced",
                                                     "income_to_expenditure"]), money),
), min_size=1, max_size=12)

FORBIDDEN = {
    "back": ("transfer", [("expenditure", -1), ("special", 1)]),
    "payout_from_special": ("payout", [("special", -1), ("compensation", 1)]),
    "reserve_out": ("transfer", [("reserve", -1), ("expenditure", 1)]),
    "unbalanced": ("transfer", [("special", -1), ("expenditure", 2)]),
    "income_to_expenditure": ("income", [("expenditure", 1), ("income_other", -1)]),
}


def counts():
    return LedgerTransaction.objects.count(), LedgerLine.objects.count()


def run(step, index, village, cashier):
    kind, detail, value = step
    on = date(2026, 3, 1)
    if kind == "income":
        ledger_services.income_record(user=None, year=2026, date=on, source=detail, amount=value, ref=f"I{index}")
    elif kind == "transfer":
        ledger_services.funds_transfer(user=None, year=2026, date=on, amount=value, ref=f"T{index}")
    elif kind == "interest_return":
        ledger_services.interest_return(user=None, year=2026, date=on, amount=value, ref=f"R{index}")
    elif kind == "pay":
        services.claim_pay(user=cashier, claim=approved_claim(village, str(value)))
    elif kind == "reverse":
        entries = list(LedgerTransaction.objects.order_by("pk"))
        if entries:
            ledger_services.transaction_reverse(user=None, transaction=entries[value % len(entries)], memo="测试")
    else:
        ledger_kind, movements = FORBIDDEN[detail]
        accounts = ledger_services.chart_ensure()
        movements = [(code, value * sign) for code, sign in movements]
        ledger_services.post(user=None, year=2026, on=on, kind=ledger_kind, ref="", memo="", accounts=accounts,
                       balances=ledger_services.lock_balances(accounts, [c for c, _ in movements], 2026),
                       movements=movements)
        raise AssertionError(f"forbidden movement {detail} was booked")


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=operations)
def test_any_sequence_keeps_the_closed_fund(steps, policy_2026, village, cashier):
    with transaction.atomic():
        for index, step in enumerate(steps):
            before = counts()
            try:
                with transaction.atomic():
                    run(step, index, village, cashier)
            except NcmsError:
                assert counts() == before  # a refusal writes nothing
                if step[0] == "pay":
                    from claims.models import Claim
                    assert not Claim.objects.filter(status="paid", pk__in=[]).exists()
            for entry in LedgerTransaction.objects.prefetch_related("lines"):
                assert sum((line.amount for line in entry.lines.all()), Decimal("0")) == 0
            for code in ("special", "reserve", "expenditure", "compensation"):
                assert account_balance(code) >= 0, code
            for row in AccountBalance.objects.select_related("account"):
                assert row.balance == account_balance(row.account, year=row.year)
        assert [d for d in reconciliation(2026) if d.kind != "contributions"] == []
        transaction.set_rollback(True)
