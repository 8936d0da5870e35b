"""Facilities' monthly statements (结算单), recoveries (追回), penalties withheld and households'
refunds: the services and the contract's commands (docs/rules.md, "Money flow")."""
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from claims.models import ClaimEvent, ClaimStatus, MemberYearCap, Recovery
from claims.services import claim_recover
from core.errors import NcmsError
from fund.models import FacilityStatement, RecoveryRefund
from fund.refunds import outstanding, refund_record
from fund.selectors import payout_queue, reconciliation
from fund.services import claims_pay_batch
from fund.statements import statement_compute, statement_pay
from ledger.models import LedgerTransaction
from ledger.selectors import account_balance
from tests.factories import InspectionFactory
from tests.fund.conftest import approved_claim


@pytest.fixture
def today(clock):
    clock("2026-06-15 10:00")
    return date(2026, 6, 15)


def _facility_claim(village, facility, compensation, discharge=date(2026, 3, 8), **extra):
    return approved_claim(village, compensation, facility=facility, channel="facility",
                          admission_date=discharge.replace(day=1), discharge_date=discharge, **extra)


def _statement_json(**options):
    out = io.StringIO()
    call_command("facility_statement", stdout=out, **options)
    return json.loads(out.getvalue())


def _paid_claim(village, facility, compensation, cashier, channel="township"):
    claim = approved_claim(village, compensation, facility=facility, channel=channel)
    if channel == "township":
        return claims_pay_batch(user=cashier, claims=[claim], paid_date=date(2026, 4, 1))[0]
    return claims_pay_batch(user=cashier, claims=[claim], paid_date=date(2026, 4, 1), to_facility=True)[0]


def test_the_cashiers_batch_pays_households_only(db, funded, village, facility, cashier, today):
    household = approved_claim(village, "100.00", facility=facility, channel="township")
    at_facility = _facility_claim(village, facility, "200.00")
    assert list(payout_queue(user=cashier)) == [household]
    with pytest.raises(NcmsError) as refused:
        claims_pay_batch(user=cashier, claims=[household, at_facility])
    assert refused.value.code == "facility_channel" and at_facility.invoice_no in refused.value.message
    at_facility.refresh_from_db()
    household.refresh_from_db()
    assert household.status == at_facility.status == ClaimStatus.APPROVED


def test_statement_holds_approved_facility_claims_to_the_months_end(db, funded, village, facility, today):
    march = _facility_claim(village, facility, "300.00", discharge=date(2026, 3, 31))
    april = _facility_claim(village, facility, "400.00", discharge=date(2026, 4, 1))
    approved_claim(village, "50.00", facility=facility, channel="township")  # the household's
    _facility_claim(village, facility, "70.00", status="reviewed")  # not approved yet

    statement = statement_compute(facility, 2026, 3)
    assert statement.claims == [march]
    assert _statement_json(year="2026", month="3") == {"statements": [{
        "facility": facility.code, "year": 2026, "month": 3, "claims": 1, "compensation": "300.00",
        "penalties": "0.00", "recoveries": "0.00", "net": "300.00", "paid": False}]}
    assert statement_compute(facility, 2026, 4).claims == [march, april]
    assert _statement_json(year="2026", month="2") == {"statements": []}


def test_paying_a_statement_books_each_claim_in_full_and_the_withheld_as_income(
        db, funded, village, facility, cashier, today):
    first = _facility_claim(village, facility, "600.00")
    second = _facility_claim(village, facility, "400.00")
    paid_before = _paid_claim(village, facility, "250.00", cashier, channel="facility")
    claim_recover(user=None, claim=paid_before, amount="100.00", reason="重复收费", on=date(2026, 4, 2),
                  check_user=False)
    inspection = InspectionFactory(facility=facility, date=date(2026, 3, 20), penalty_amount=Decimal("150.00"),
                                   deduct_from_settlements=True)
    before = account_balance("expenditure", year=2026)

    out = io.StringIO()
    call_command("pay_statement", facility=facility.code, year="2026", month="4", date="2026-05-06", ref="YH-1",
                 stdout=out)
    assert json.loads(out.getvalue()) == {"statements": [{
        "facility": facility.code, "year": 2026, "month": 4, "claims": 2, "compensation": "1000.00",
        "penalties": "150.00", "recoveries": "100.00", "net": "750.00", "paid": True}]}

    for claim in (first, second):
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.PAID and str(claim.paid_at.date()) == "2026-05-06"
    assert account_balance("expenditure", year=2026) == before - Decimal("750.00")
    assert account_balance("recovered", year=2026) == Decimal("-100.00")
    assert account_balance("penalty", year=2026) == Decimal("-150.00")
    payouts = LedgerTransaction.objects.filter(kind="payout", ref__in=[f"claim:{first.pk}", f"claim:{second.pk}"])
    assert sorted(line.amount for t in payouts for line in t.lines.filter(account__code="compensation")) == [
        Decimal("400.00"), Decimal("600.00")]
    assert LedgerTransaction.objects.filter(kind="withholding").count() == 1
    inspection.refresh_from_db()
    assert inspection.deducted_amount == Decimal("150.00")
    assert reconciliation(2026) == []
    # what was withheld is not withheld again
    assert statement_compute(facility, 2026, 5) is None


def test_the_same_ref_again_changes_nothing_and_another_ref_is_refused(db, funded, village, facility, today):
    _facility_claim(village, facility, "300.00")
    first = statement_pay(user=None, facility=facility, year=2026, month=3, on=date(2026, 4, 5), ref="YH-9")
    again = statement_pay(user=None, facility=facility, year=2026, month=3, on=date(2026, 4, 5), ref="YH-9")
    assert not first.replayed and again.replayed
    assert again.statement.as_json() == first.statement.as_json()
    out = io.StringIO()
    call_command("pay_statement", facility=facility.code, year="2026", month="3", date="2026-04-05", ref="YH-9",
                 stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["statements"][0]["paid"] is True
    with pytest.raises(CommandError, match="不能重复支付"):
        call_command("pay_statement", facility=facility.code, year="2026", month="3", date="2026-04-06",
                     ref="YH-10")
    assert FacilityStatement.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="payout").count() == 1


def test_a_negative_net_withholds_recoveries_first_up_to_the_compensation(
        db, funded, village, facility, cashier, today):
    paid_before = _paid_claim(village, facility, "500.00", cashier, channel="facility")
    claim_recover(user=None, claim=paid_before, amount="300.00", reason="超标准收费", on=date(2026, 4, 2),
                  check_user=False)
    InspectionFactory(facility=facility, date=date(2026, 4, 3), penalty_amount=Decimal("200.00"),
                      deduct_from_settlements=True)
    _facility_claim(village, facility, "350.00", discharge=date(2026, 4, 20))

    paid = statement_pay(user=None, facility=facility, year=2026, month=4, on=date(2026, 5, 5), ref="A").statement
    assert (paid.compensation, paid.recoveries, paid.penalties, paid.net) == (
        Decimal("350.00"), Decimal("300.00"), Decimal("50.00"), Decimal("0.00"))
    # the rest of the penalty waits for the next statement
    _facility_claim(village, facility, "500.00", discharge=date(2026, 5, 20))
    may = statement_compute(facility, 2026, 5)
    assert (may.penalties, may.recoveries, may.net) == (Decimal("150.00"), Decimal("0.00"), Decimal("350.00"))
    assert reconciliation(2026) == []


def test_statement_refusals_write_nothing(db, funded, village, facility, make_user, today):
    claim = _facility_claim(village, facility, "300.00")
    with pytest.raises(NcmsError) as nothing:
        statement_pay(user=None, facility=facility, year=2026, month=2, on=date(2026, 3, 5), ref="N")
    assert nothing.value.code == "nothing_to_pay"
    approver = make_user("cashier", username="cashier-approver")
    claim.approved_by = approver
    claim.save()
    with pytest.raises(NcmsError) as own:
        statement_pay(user=approver, facility=facility, year=2026, month=3, on=date(2026, 4, 5), ref="X")
    assert own.value.code == "payer_is_approver"
    with pytest.raises(CommandError, match="--month"):
        call_command("facility_statement", year="2026", month="13")
    with pytest.raises(CommandError, match="找不到"):
        call_command("pay_statement", facility="NOPE", year="2026", month="3", date="2026-04-05", ref="Y")
    assert FacilityStatement.objects.count() == 0
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED


def test_recovery_releases_the_cap_and_is_recorded_with_its_event(db, funded, village, facility, cashier, today):
    claim = _paid_claim(village, facility, "800.00", cashier)
    cap = MemberYearCap.objects.filter(member=claim.member, year=2026).first()
    out = io.StringIO()
    call_command("recover_claim", facility=facility.code, invoice=claim.invoice_no, amount="300.00",
                 date="2026-05-01", reason="挂床住院", stdout=out)
    assert "300.00" in out.getvalue()
    recovery = Recovery.objects.get()
    assert (recovery.amount, recovery.date, recovery.source) == (Decimal("300.00"), date(2026, 5, 1), "review")
    assert ClaimEvent.objects.filter(claim=claim, action="recover").exists()
    used = MemberYearCap.objects.get(member=claim.member, year=2026).used
    assert used == (cap.used if cap else Decimal("800.00")) - Decimal("300.00") or used == Decimal("500.00")
    with pytest.raises(CommandError, match="超过"):
        call_command("recover_claim", facility=facility.code, invoice=claim.invoice_no, amount="500.01",
                     date="2026-05-02", reason="再次")
    call_command("recover_claim", facility=facility.code, invoice=claim.invoice_no, amount="500.00",
                 date="2026-05-02", reason="全额追回", stdout=io.StringIO())
    assert Recovery.objects.count() == 2


def test_recovery_of_an_unpaid_claim_or_a_future_date_is_refused(db, funded, village, facility, cashier, today):
    unpaid = approved_claim(village, "300.00", facility=facility)
    with pytest.raises(CommandError, match="已兑付"):
        call_command("recover_claim", facility=facility.code, invoice=unpaid.invoice_no, amount="1.00",
                     date="2026-05-01", reason="x")
    paid = _paid_claim(village, facility, "300.00", cashier)
    for amount, date_text in (("0", "2026-05-01"), ("1.001", "2026-05-01"), ("abc", "2026-05-01"),
                              ("1.00", "2026-06-16"), ("1.00", "2026-03-31")):
        with pytest.raises(CommandError):
            call_command("recover_claim", facility=facility.code, invoice=paid.invoice_no, amount=amount,
                         date=date_text, reason="x")
    assert Recovery.objects.count() == 0


def test_a_households_refund_is_booked_up_to_what_it_owes(db, funded, village, facility, cashier, fund_officer,
                                                          today):
    claim = _paid_claim(village, facility, "800.00", cashier)
    recovery = claim_recover(user=fund_officer, claim=claim, amount="300.00", reason="虚报", on=date(2026, 5, 1))
    assert outstanding(recovery) == Decimal("300.00")
    with pytest.raises(NcmsError) as too_much:
        refund_record(user=fund_officer, recovery=recovery, amount="300.01", on=date(2026, 5, 3), ref="R-1")
    assert too_much.value.code == "too_much"
    refund_record(user=fund_officer, recovery=recovery, amount="200.00", on=date(2026, 5, 3), ref="R-1")
    with pytest.raises(NcmsError) as twice:
        refund_record(user=fund_officer, recovery=recovery, amount="50.00", on=date(2026, 5, 4), ref="R-1")
    assert twice.value.code == "duplicate_ref"
    assert outstanding(recovery) == Decimal("100.00")
    assert account_balance("recovered", year=2026) == Decimal("-200.00")
    assert RecoveryRefund.objects.count() == 1
    with pytest.raises(NcmsError):
        refund_record(user=cashier, recovery=recovery, amount="10.00", on=date(2026, 5, 4), ref="R-2")
    assert reconciliation(2026) == []


def test_a_facilitys_recovery_is_not_refunded_but_withheld(db, funded, village, facility, cashier, fund_officer,
                                                           today):
    claim = _paid_claim(village, facility, "800.00", cashier, channel="facility")
    recovery = claim_recover(user=fund_officer, claim=claim, amount="300.00", reason="虚报", on=date(2026, 5, 1))
    assert outstanding(recovery) == Decimal("0.00")
    with pytest.raises(NcmsError) as refused:
        refund_record(user=fund_officer, recovery=recovery, amount="10.00", on=date(2026, 5, 3), ref="R-1")
    assert refused.value.code == "facility_channel"


def test_recovery_needs_the_role(db, funded, village, facility, cashier, make_user, today):
    claim = _paid_claim(village, facility, "800.00", cashier)
    for role in ("cashier", "approver", "auditor"):
        with pytest.raises(NcmsError) as refused:
            claim_recover(user=make_user(role, username=f"u-{role}"), claim=claim, amount="1.00", reason="x")
        assert refused.value.code == "forbidden"
    claim_recover(user=make_user("reviewer", username="rev"), claim=claim, amount="1.00", reason="x")
