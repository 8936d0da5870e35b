"""The ledger's services: balances, the closed fund's refusals (nothing written), the risk
reserve to the fen, contributions booked with enrollment, payouts and reversals."""
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from claims.models import Claim, ClaimStatus
from core.errors import NcmsError
from enrollment.services import enrollment_record_contribution
from fund import services
from fund.selectors import reconciliation
from ledger import services as ledger_services
from ledger.models import AccountBalance, LedgerLine, LedgerTransaction
from ledger.selectors import account_balance, income_total
from tests.factories import ClaimFactory, EnrollmentFactory, HouseholdFactory, MemberFactory
from tests.fund.conftest import approved_claim

pytestmark = pytest.mark.django_db


def balances():
    return {code: account_balance(code) for code in
            ("special", "reserve", "expenditure", "compensation", "income_central", "income_individual")}


def assert_balanced():
    for entry in LedgerTransaction.objects.all():
        assert sum(line.amount for line in entry.lines.all()) == Decimal("0")


def test_income_lands_in_special_account_with_the_reserve_set_apart(policy_2026, fund_officer):
    entry = ledger_services.income_record(user=fund_officer, year=2026, date=date(2026, 2, 1), source="central",
                                   amount="12345.67", ref="CZ-2026-01")
    # 3% of 12,345.67 = 370.3701 → 370.37 to the fen
    assert balances() == {"special": Decimal("11975.30"), "reserve": Decimal("370.37"), "expenditure": Decimal("0"),
                          "compensation": Decimal("0"), "income_central": Decimal("-12345.67"), "income_individual": Decimal("0")}
    assert entry.kind == "income" and entry.ref == "CZ-2026-01" and entry.created_by == fund_officer
    assert sorted((line.account.code, line.amount) for line in entry.lines.all()) == [
        ("income_central", Decimal("-12345.67")), ("reserve", Decimal("370.37")), ("special", Decimal("-370.37")),
        ("special", Decimal("12345.67"))]
    assert income_total(year=2026, until=date(2026, 2, 1)) == Decimal("12345.67")
    assert income_total(year=2026, until=date(2026, 1, 31)) == Decimal("0")


def test_reserve_is_exact_to_the_fen_over_many_bookings(policy_2026):
    # 0.03 × 0.50 = 0.015 → each alone rounds to 0.02; the year's reserve stays round(3% of total)
    for number in range(7):
        ledger_services.income_record(user=None, year=2026, date=date(2026, 3, 1), source="other", amount="0.50",
                               ref=f"O-{number}")
    assert account_balance("reserve") == Decimal("0.11")  # 3% of 3.50 = 0.105 → 0.11
    assert account_balance("special") == Decimal("3.39")
    assert reconciliation(2026) == []


def test_without_a_policy_nothing_is_reserved_until_it_is_loaded(db):
    from tests.factories import PolicyVersionFactory

    ledger_services.income_record(user=None, year=2027, date=date(2027, 1, 5), source="county", amount="1000.00", ref="X")
    assert account_balance("reserve") == Decimal("0")
    PolicyVersionFactory(year=2027)
    assert [d.kind for d in reconciliation(2027)] == ["reserve"]
    ledger_services.reserve_settle(user=None, year=2027, date=date(2027, 1, 6))
    assert account_balance("reserve") == Decimal("30.00") and reconciliation(2027) == []


def test_a_booked_ref_is_refused_the_second_time_writing_nothing(policy_2026):
    ledger_services.income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="100.00", ref="R")
    with pytest.raises(NcmsError) as refused:
        ledger_services.income_record(user=None, year=2026, date=date(2026, 2, 2), source="county", amount="5.00", ref="R")
    assert refused.value.code == "duplicate_ref"
    assert LedgerTransaction.objects.count() == 1 and account_balance("special") == Decimal("97.00")


@pytest.mark.parametrize("changes, code", [
    ({"source": "lottery"}, "bad_source"), ({"amount": "0"}, "bad_amount"), ({"amount": "-5.00"}, "bad_amount"),
    ({"amount": "1.005"}, "bad_amount"), ({"ref": " "}, "missing_ref"), ({"year": 1900}, "bad_year"),
])
def test_bad_income_is_refused_writing_nothing(policy_2026, changes, code):
    arguments = {"user": None, "year": 2026, "date": date(2026, 2, 1), "source": "central", "amount": "1.00",
                 "ref": "R"} | changes
    with pytest.raises(NcmsError) as refused:
        ledger_services.income_record(**arguments)
    assert refused.value.code == code
    assert LedgerTransaction.objects.count() == 0 and LedgerLine.objects.count() == 0


def test_only_the_fund_officer_books_income_and_transfers(policy_2026, cashier, clerk):
    for user in (cashier, clerk):
        with pytest.raises(NcmsError, match="权限"):
            ledger_services.income_record(user=user, year=2026, date=date(2026, 2, 1), source="central", amount="1.00",
                                   ref="R")
        with pytest.raises(NcmsError, match="权限"):
            ledger_services.funds_transfer(user=user, year=2026, date=date(2026, 2, 1), amount="1.00", ref="T")
    assert LedgerTransaction.objects.count() == 0


def test_transfer_moves_special_to_expenditure_never_the_reserve(funded, fund_officer):
    assert balances()["special"] == Decimal("4700.00") and balances()["expenditure"] == Decimal("5000.00")
    with pytest.raises(NcmsError) as refused:
        ledger_services.funds_transfer(user=fund_officer, year=2026, date=date(2026, 3, 1), amount="4700.01", ref="T-2")
    assert refused.value.code == "insufficient_funds"
    assert "4700.00" in refused.value.message and "300.00" in refused.value.message
    assert LedgerTransaction.objects.count() == 2
    ledger_services.funds_transfer(user=fund_officer, year=2026, date=date(2026, 3, 1), amount="4700.00", ref="T-2")
    assert balances()["special"] == Decimal("0") and balances()["reserve"] == Decimal("300.00")
    assert balances()["expenditure"] == Decimal("9700.00")
    with pytest.raises(NcmsError) as again:
        ledger_services.funds_transfer(user=fund_officer, year=2026, date=date(2026, 3, 2), amount="1.00", ref="T-2")
    assert again.value.code == "duplicate_ref"


def test_money_of_one_year_is_not_transferred_as_another_years(funded):
    with pytest.raises(NcmsError) as refused:
        ledger_services.funds_transfer(user=None, year=2027, date=date(2027, 1, 2), amount="1.00", ref="T-9")
    assert refused.value.code == "insufficient_funds"


def test_interest_returns_from_expenditure_to_special_as_income(funded):
    ledger_services.interest_return(user=None, year=2026, date=date(2026, 6, 21), amount="100.00", ref="I-1")
    assert balances()["expenditure"] == Decimal("5000.00")
    assert balances()["special"] == Decimal("4797.00") and balances()["reserve"] == Decimal("303.00")
    assert income_total(year=2026, until=date(2026, 6, 30)) == Decimal("10100.00")
    assert reconciliation(2026) == []


def test_a_recorded_contribution_is_individual_income_dated_by_its_paid_date(clerk, village, policy_2026):
    member = MemberFactory(household=HouseholdFactory(village=village))
    enrollment = enrollment_record_contribution(user=clerk, member=member, year=2026, contribution="380.00",
                                                receipt_no="R-1", paid_date=date(2025, 12, 20))
    entry = LedgerTransaction.objects.get(ref=f"enrollment:{enrollment.pk}")
    assert (entry.kind, entry.year, entry.date, entry.created_by) == ("income", 2026, date(2025, 12, 20), clerk)
    assert account_balance("income_individual") == Decimal("-380.00") and account_balance("reserve") == Decimal("11.40")
    assert income_total(year=2026, until=date(2025, 12, 31)) == Decimal("380.00")
    assert reconciliation(2026) == []


def test_a_refused_contribution_books_nothing(clerk, village, policy_2026):
    member = MemberFactory(household=HouseholdFactory(village=village))
    EnrollmentFactory(member=member, year=2026)
    with pytest.raises(NcmsError):
        enrollment_record_contribution(user=clerk, member=member, year=2026, contribution="380.00",
                                       receipt_no="R-2", paid_date=date(2026, 1, 2))
    assert LedgerTransaction.objects.count() == 0


def test_bulk_contributions_book_one_transaction_per_paid_date(village, policy_2026):
    for paid in (date(2026, 1, 3), date(2026, 1, 3), date(2026, 1, 4)):
        EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=village)), paid_date=paid)
    booked = ledger_services.contributions_book_bulk(user=None, year=2026, ref_prefix="roster:7",
                                              amounts_by_date={date(2026, 1, 4): Decimal("380.00"),
                                                               date(2026, 1, 3): Decimal("760.00")})
    assert [(entry.ref, entry.date) for entry in booked] == [("roster:7:2026-01-03", date(2026, 1, 3)),
                                                             ("roster:7:2026-01-04", date(2026, 1, 4))]
    assert account_balance("income_individual") == Decimal("-1140.00")
    assert reconciliation(2026) == []
    with pytest.raises(NcmsError):
        ledger_services.contributions_book_bulk(user=None, year=2026, ref_prefix="roster:7",
                                         amounts_by_date={date(2026, 1, 3): Decimal("760.00")})


def test_reconciliation_lists_unbooked_contributions(village, policy_2026):
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=village)), paid_date=date(2026, 1, 3))
    [difference] = reconciliation(2026)
    assert (difference.kind, difference.key, difference.ledger, difference.expected) == (
        "contributions", "2026-01-03", Decimal("0"), Decimal("380.00"))


# --- payouts ---------------------------------------------------------------------------------


def test_paying_a_claim_books_the_payout_and_marks_it_paid_together(funded, cashier, village):
    claim = approved_claim(village, "810.00")
    paid = services.claim_pay(user=cashier, claim=claim, paid_date=date(2026, 4, 1))
    assert paid.status == ClaimStatus.PAID and paid.paid_by == cashier
    entry = LedgerTransaction.objects.get(kind="payout")
    assert (entry.ref, entry.date, entry.year) == (f"claim:{claim.pk}", date(2026, 4, 1), 2026)
    assert balances()["expenditure"] == Decimal("4190.00") and balances()["compensation"] == Decimal("810.00")
    assert reconciliation(2026) == []


def test_a_paid_claim_is_not_paid_again(funded, cashier, village):
    claim = approved_claim(village)
    services.claim_pay(user=cashier, claim=claim)
    with pytest.raises(NcmsError) as refused:
        services.claim_pay(user=cashier, claim=claim)
    assert refused.value.code == "already_paid" and "已经兑付" in refused.value.message
    assert LedgerTransaction.objects.filter(kind="payout").count() == 1


def test_the_refusal_names_the_paid_date_in_county_time(funded, cashier, village, clock):
    """Paid at 00:30 on 15 June in the county, 16:30 on 14 June in UTC: the clerk reads the 15th."""
    clock("2026-06-15 00:30")
    claim = approved_claim(village)
    services.claim_pay(user=cashier, claim=claim)
    with pytest.raises(NcmsError) as refused:
        services.claim_pay(user=cashier, claim=claim)
    assert "已经兑付（2026-06-15）" in refused.value.message


def test_an_unapproved_claim_is_not_paid(funded, cashier, village):
    claim = approved_claim(village)
    Claim.objects.filter(pk=claim.pk).update(status="reviewed")
    with pytest.raises(NcmsError) as refused:
        services.claim_pay(user=cashier, claim=claim)
    assert refused.value.code == "not_approved"
    assert LedgerTransaction.objects.filter(kind="payout").count() == 0


def test_not_enough_money_pays_nothing_of_the_batch(funded, cashier, village):
    claims = [approved_claim(village, "2000.00"), approved_claim(village, "2000.00"),
              approved_claim(village, "1000.01")]
    with pytest.raises(NcmsError) as refused:
        services.claims_pay_batch(user=cashier, claims=claims)
    assert refused.value.code == "insufficient_funds"
    assert "5000.00" in refused.value.message and "5000.01" in refused.value.message
    assert set(Claim.objects.values_list("status", flat=True)) == {"approved"}
    assert LedgerTransaction.objects.filter(kind="payout").count() == 0
    assert AccountBalance.objects.get(account__code="expenditure", year=2026).balance == Decimal("5000.00")
    paid = services.claims_pay_batch(user=cashier, claims=claims[:2], paid_date=date(2026, 5, 1))
    assert [claim.status for claim in paid] == ["paid", "paid"]
    assert balances()["expenditure"] == Decimal("1000.00")


def test_a_batch_with_one_claim_already_paid_pays_none(funded, cashier, village):
    first, second = approved_claim(village), approved_claim(village)
    services.claim_pay(user=cashier, claim=first)
    with pytest.raises(NcmsError):
        services.claims_pay_batch(user=cashier, claims=[first, second])
    assert Claim.objects.get(pk=second.pk).status == "approved"


def test_only_the_cashier_pays(funded, fund_officer, village):
    claim = approved_claim(village)
    with pytest.raises(NcmsError, match="权限"):
        services.claim_pay(user=fund_officer, claim=claim)
    assert Claim.objects.get(pk=claim.pk).status == "approved"


def test_reconciliation_lists_a_paid_claim_without_a_payout(funded, village):
    claim = ClaimFactory(member=MemberFactory(household=HouseholdFactory(village=village)), status="paid")
    [difference] = reconciliation(2026)
    assert (difference.kind, difference.key, difference.ledger, difference.expected) == (
        "payouts", str(claim.pk), Decimal("0"), Decimal("810.00"))


# --- reversals -------------------------------------------------------------------------------


def test_a_reversal_negates_every_line_and_is_booked_once(funded, fund_officer):
    original = LedgerTransaction.objects.get(kind="income")
    transfer = LedgerTransaction.objects.get(kind="transfer")
    reversal = ledger_services.transaction_reverse(user=fund_officer, transaction=transfer, memo="金额录错")
    assert reversal.kind == "reversal" and reversal.reverses == transfer
    assert balances()["special"] == Decimal("9700.00") and balances()["expenditure"] == Decimal("0")
    with pytest.raises(NcmsError) as again:
        ledger_services.transaction_reverse(user=fund_officer, transaction=transfer, memo="再冲一次")
    assert again.value.code == "already_reversed"
    with pytest.raises(NcmsError):
        ledger_services.transaction_reverse(user=fund_officer, transaction=reversal, memo="冲销冲销")
    undone = ledger_services.transaction_reverse(user=fund_officer, transaction=original, memo="重复到账")
    assert (undone.date, undone.year) == (timezone.localdate(), 2026)  # today in county time, the original's year
    assert balances()["special"] == Decimal("0") and account_balance("reserve") == Decimal("0")
    assert income_total(year=2026, until=undone.date) == Decimal("0")
    assert_balanced()
    assert reconciliation(2026) == []


def test_a_reversal_that_would_overdraw_is_refused(funded, cashier, fund_officer, village):
    services.claim_pay(user=cashier, claim=approved_claim(village, "4000.00"))
    transfer = LedgerTransaction.objects.get(kind="transfer")
    with pytest.raises(NcmsError) as refused:
        ledger_services.transaction_reverse(user=fund_officer, transaction=transfer, memo="划错")
    assert refused.value.code == "insufficient_funds"
    assert LedgerTransaction.objects.filter(kind="reversal").count() == 0
    payout = LedgerTransaction.objects.get(kind="payout")
    with pytest.raises(NcmsError, match="兑付"):
        ledger_services.transaction_reverse(user=fund_officer, transaction=payout, memo="x")


def test_forbidden_movements_are_refused(funded):
    accounts = ledger_services.chart_ensure()
    for kind, movements in [
        ("transfer", [("expenditure", Decimal("-1.00")), ("special", Decimal("1.00"))]),  # back from expenditure
        ("payout", [("special", Decimal("-1.00")), ("compensation", Decimal("1.00"))]),  # compensation from special
        ("income", [("expenditure", Decimal("1.00")), ("income_other", Decimal("-1.00"))]),  # income into expenditure
        ("transfer", [("reserve", Decimal("-1.00")), ("expenditure", Decimal("1.00"))]),  # the reserve transferred
        ("transfer", [("special", Decimal("-1.00")), ("expenditure", Decimal("2.00"))]),  # unbalanced
    ]:
        codes = [code for code, _ in movements]
        with pytest.raises(NcmsError):
            ledger_services.post(user=None, year=2026, on=date(2026, 3, 1), kind=kind, ref="", memo="", accounts=accounts,
                           balances=ledger_services.lock_balances(accounts, codes, 2026), movements=movements)
    assert LedgerTransaction.objects.count() == 2


def test_reversing_income_keeps_the_reserve_at_the_rate_to_the_fen(policy_2026):
    """Found by the property test: 0.01 + 0.16 reserves 0.01; reversing the 0.01 leaves income
    0.16, whose reserve is round(0.0048) = 0.00, not the mirrored 0.01."""
    first = ledger_services.income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="0.01",
                                   ref="A")
    ledger_services.income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="0.16", ref="B")
    assert account_balance("reserve") == Decimal("0.01")
    ledger_services.transaction_reverse(user=None, transaction=first, memo="错账")
    assert account_balance("reserve") == Decimal("0.00") and account_balance("special") == Decimal("0.16")
    assert reconciliation(2026) == []
