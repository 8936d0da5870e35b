"""Only the right money comes in: a contribution is the year's policy amount, a receipt number is
used once a year (clerk's form, the whole household's form, roster import), and a mistaken
contribution is voided by the fund officer as a reversing entry, the reconciliation staying clean.
Runs on SQLite and on PostgreSQL (DATABASE_URL)."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from claims.lookups import member_of_year
from core.errors import NcmsError
from enrollment import services
from enrollment.forms import receipt_sequence
from enrollment.models import Category, ContributionVoid, Enrollment, Payer
from enrollment.roster import RosterInvalid, roster_import
from enrollment.selectors import participation_report
from fund.selectors import reconciliation
from ledger.models import AccountBalance, LedgerLine, LedgerTransaction
from policy.models import PolicyVersion
from tests.enrollment.roster_data import HEAD_ID, OTHER_HEAD_ID, SON_ID, SPOUSE_ID, csv_bytes, family
from tests.factories import (
    ClaimFactory,
    EnrollmentFactory,
    HouseholdFactory,
    MemberFactory,
    VillagePopulationFactory,
)

YEAR = 2026


@pytest.fixture
def fund_officer(make_user):
    return make_user(Role.FUND_OFFICER, username="fundofficer")


def written():
    """Everything a contribution writes: enrollments, their history, the ledger, the voids."""
    return (Enrollment.objects.count(), Enrollment.history.count(), LedgerTransaction.objects.count(),
            LedgerLine.objects.count(), ContributionVoid.objects.count(),
            sorted(AccountBalance.objects.values_list("account__code", "year", "balance")))


def balance(code: str, year: int = YEAR) -> Decimal:
    return AccountBalance.objects.filter(account__code=code, year=year).values_list("balance", flat=True).first() \
        or Decimal("0.00")


def record(clerk, member, *, receipt_no="R-1", contribution="380.00", year=YEAR, paid_date=date(2026, 1, 10)):
    return services.enrollment_record_contribution(user=clerk, member=member, year=year, contribution=contribution,
                                                   receipt_no=receipt_no, paid_date=paid_date)


# --- the amount -------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["38.00", "379.99", "380.01", "0.00", "9999999999999999.99"])
def test_an_amount_other_than_the_policys_is_refused_and_nothing_written(clerk, village, amount):
    member = MemberFactory(household=HouseholdFactory(village=village))
    before = written()
    with pytest.raises(NcmsError) as caught:
        record(clerk, member, contribution=amount)
    assert caught.value.code == "bad_contribution"
    assert caught.value.message == (
        f"缴费金额应为2026年度补偿方案规定的个人缴费 380.00 元，个人缴纳或民政代缴都是这个金额"
        f"（填写的是 {Decimal(amount):.2f} 元）")
    assert written() == before


@pytest.mark.parametrize("category", [Category.WUBAO, Category.DIBAO, Category.POOR])
def test_civil_affairs_pays_the_same_amount_and_no_other(clerk, village, category):
    member = MemberFactory(household=HouseholdFactory(village=village), category=category)
    with pytest.raises(NcmsError) as caught:
        record(clerk, member, contribution="190.00")  # half: not a rule of the scheme
    assert caught.value.code == "bad_contribution"
    enrollment = record(clerk, member)
    assert (enrollment.contribution, enrollment.payer) == (Decimal("380.00"), Payer.CIVIL_AFFAIRS)


def test_the_amount_follows_the_years_policy(clerk, village):
    version = PolicyVersion.objects.get(year=2027)
    version.document = {**version.document, "contribution": {**version.document["contribution"], "individual": "400.00"}}
    version.save()
    member = MemberFactory(household=HouseholdFactory(village=village))
    with pytest.raises(NcmsError):
        record(clerk, member, year=2027, receipt_no="R-27", contribution="380.00")
    assert record(clerk, member, year=2027, receipt_no="R-27", contribution="400.00").contribution == Decimal("400.00")


def test_no_contribution_before_the_years_policy_is_loaded(clerk, village):
    PolicyVersion.objects.filter(year=YEAR).delete()
    member = MemberFactory(household=HouseholdFactory(village=village))
    before = written()
    with pytest.raises(NcmsError) as caught:
        record(clerk, member)
    assert caught.value.code == "no_policy"
    assert caught.value.message == "2026年度的补偿方案还没有导入，不能登记缴费：请先导入2026年度的补偿方案"
    assert written() == before


# --- the receipt number -----------------------------------------------------------------------


def test_a_receipt_number_is_used_once_a_year(clerk, village):
    first = MemberFactory(household=HouseholdFactory(village=village, number="H-A"), name="甲")
    second = MemberFactory(household=HouseholdFactory(village=village, number="H-B"), name="乙")
    record(clerk, first, receipt_no="SJ-0001")
    before = written()
    with pytest.raises(NcmsError) as caught:
        record(clerk, second, receipt_no=" SJ-0001 ")
    assert caught.value.code == "duplicate_receipt_no"
    assert caught.value.message == "收据号SJ-0001在2026年度已用于户号H-A的甲，一个收据号每年只能用一次"
    assert written() == before
    # the same number in another scheme year is another receipt
    assert record(clerk, second, receipt_no="SJ-0001", year=2027, paid_date=date(2026, 12, 1)).year == 2027


def test_the_database_holds_one_receipt_per_year(village):
    EnrollmentFactory(year=YEAR, receipt_no="R-DB")
    EnrollmentFactory(year=2027, receipt_no="R-DB")
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory(year=YEAR, receipt_no="R-DB")
    # an empty receipt number (rows from before receipts were kept) is not a receipt
    EnrollmentFactory(year=YEAR, receipt_no="")
    EnrollmentFactory(year=YEAR, receipt_no="")
    assert Enrollment.objects.filter(year=YEAR, receipt_no="").count() == 2


# --- the whole household pays -----------------------------------------------------------------


@pytest.fixture
def family_of_four(village):
    household = HouseholdFactory(village=village, number="H-FAM")
    head = MemberFactory(household=household, name="户主", relation="head")
    household.head = head
    household.save(update_fields=["head"])
    wife = MemberFactory(household=household, name="妻", relation="spouse", category=Category.DIBAO)
    son = MemberFactory(household=household, name="子", relation="son")
    grandmother = MemberFactory(household=household, name="祖母", relation="parent")
    EnrollmentFactory(member=grandmother, year=YEAR, receipt_no="SJ-0000")  # paid already
    return household, head, wife, son, grandmother


def test_the_whole_household_pays_in_one_go(clerk, family_of_four):
    household, head, wife, son, _grandmother = family_of_four
    enrollments = services.household_record_contributions(
        user=clerk, household=household, year=YEAR, paid_date=date(2026, 1, 12),
        receipts={head.pk: "SJ-0001", wife.pk: "SJ-0002", son.pk: "SJ-0003"})
    assert [(e.member.name, e.contribution, e.receipt_no, e.paid_date, e.payer, e.recorded_by) for e in enrollments] == [
        ("户主", Decimal("380.00"), "SJ-0001", date(2026, 1, 12), Payer.SELF, clerk),
        ("妻", Decimal("380.00"), "SJ-0002", date(2026, 1, 12), Payer.CIVIL_AFFAIRS, clerk),
        ("子", Decimal("380.00"), "SJ-0003", date(2026, 1, 12), Payer.SELF, clerk),
    ]
    assert sorted(LedgerTransaction.objects.values_list("ref", flat=True)) == sorted(
        f"enrollment:{e.pk}" for e in enrollments)
    assert balance("income_individual") == Decimal("-1140.00")
    assert services.members_to_enroll(household, YEAR) == []
    with pytest.raises(NcmsError) as caught:
        services.household_record_contributions(user=clerk, household=household, year=YEAR,
                                                paid_date=date(2026, 1, 12), receipts={})
    assert caught.value.code == "nobody_to_enroll"


@pytest.mark.parametrize("receipts, code", [
    ({"head": "SJ-0001", "wife": "SJ-0002"}, "bad_receipt_no"),  # the son has none
    ({"head": "SJ-0001", "wife": "SJ-0002", "son": "SJ-0002"}, "duplicate_receipt_no"),  # twice in the form
    ({"head": "SJ-0001", "wife": "SJ-0002", "son": "SJ-0000"}, "duplicate_receipt_no"),  # the grandmother's
    ({"head": "SJ-0001", "wife": "SJ-0002", "son": "SJ-0003", "grandmother": "SJ-0004"}, "bad_receipt_no"),
])
def test_the_whole_household_pays_all_or_nothing(clerk, family_of_four, receipts, code):
    household, head, wife, son, grandmother = family_of_four
    members = {"head": head, "wife": wife, "son": son, "grandmother": grandmother}
    before = written()
    with pytest.raises(NcmsError) as caught:
        services.household_record_contributions(
            user=clerk, household=household, year=YEAR, paid_date=date(2026, 1, 12),
            receipts={members[name].pk: receipt for name, receipt in receipts.items()})
    assert caught.value.code == code
    assert written() == before


def test_the_whole_household_pays_only_with_the_years_policy(clerk, family_of_four):
    household, head, wife, son, _grandmother = family_of_four
    PolicyVersion.objects.filter(year=YEAR).delete()
    before = written()
    with pytest.raises(NcmsError) as caught:
        services.household_record_contributions(
            user=clerk, household=household, year=YEAR, paid_date=date(2026, 1, 12),
            receipts={head.pk: "SJ-0001", wife.pk: "SJ-0002", son.pk: "SJ-0003"})
    assert caught.value.code == "no_policy"
    assert written() == before


def test_receipt_sequence_counts_up_like_a_receipt_book():
    assert receipt_sequence("SJ2026001000099", 3) == ["SJ2026001000099", "SJ2026001000100", "SJ2026001000101"]
    assert receipt_sequence("0998", 3) == ["0998", "0999", "1000"]
    assert receipt_sequence("MZ-A", 2) == []


def test_household_page_form_records_every_member_from_the_first_receipt(client, clerk, family_of_four):
    household, head, wife, son, _grandmother = family_of_four
    year = timezone.localdate().year
    client.force_login(clerk)
    url = reverse("enrollment:household_pay", args=[household.pk])
    page = client.get(reverse("enrollment:household_detail", args=[household.pk])).content.decode()
    assert url in page
    response = client.get(url)
    assert [member.name for member, _payer, _field in response.context["rows"]] == (
        ["户主", "妻", "子"] if year == YEAR else ["户主", "妻", "子", "祖母"])
    response = client.post(url, {"paid_date": f"{year}-01-12", "first_receipt": "SJ0098",
                                 f"receipt_{son.pk}": "SJ0200"})
    assert response.status_code == 302
    assert sorted(Enrollment.objects.filter(year=year, member__in=[head, wife, son])
                  .values_list("member__name", "receipt_no")) == sorted([("户主", "SJ0098"), ("妻", "SJ0099"),
                                                                         ("子", "SJ0200")])


def test_household_page_form_refuses_a_receipt_taken_and_writes_nothing(client, clerk, family_of_four):
    household, head, wife, son, _grandmother = family_of_four
    year = timezone.localdate().year
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=household.village)), year=year,
                      receipt_no="SJ0099")
    client.force_login(clerk)
    before = written()
    response = client.post(reverse("enrollment:household_pay", args=[household.pk]),
                           {"paid_date": f"{year}-01-12", "first_receipt": "SJ0098"})
    assert response.status_code == 200
    assert "收据号SJ0099" in response.content.decode()
    assert written() == before


# --- the roster import ------------------------------------------------------------------------


def refused(data, **kwargs):
    before = written()
    with pytest.raises(RosterInvalid) as caught:
        roster_import(data=data, filename="roster.csv", year=YEAR, **kwargs)
    assert written() == before, "a refused roster writes nothing"
    return [(e.row, e.column, e.value, e.reason) for e in caught.value.errors]


def test_roster_rows_with_another_amount_are_listed(village):
    rows = family()
    rows[1]["contribution"] = "38.00"
    rows[3]["contribution"] = "9999999999999999.99"
    wrong = "缴费金额应为2026年度补偿方案规定的个人缴费 380.00 元，个人缴纳或民政代缴都是这个金额"
    assert refused(csv_bytes(rows)) == [(3, "contribution", "38.00", wrong),
                                        (5, "contribution", "9999999999999999.99", wrong)]


def test_roster_contributions_need_the_years_policy(village):
    PolicyVersion.objects.filter(year=YEAR).delete()
    rows = family()
    rows[2].update(contribution="", paid_date="", receipt_no="")  # a member not yet paid is fine
    reason = "2026年度的补偿方案还没有导入，不能登记缴费：请先导入2026年度的补偿方案"
    assert refused(csv_bytes(rows)) == [(row, "contribution", "380.00", reason) for row in (2, 3, 5)]
    # a roster without contributions needs no policy
    for row in rows:
        row.update(contribution="", paid_date="", receipt_no="")
    summary = roster_import(data=csv_bytes(rows), filename="roster.csv", year=YEAR)
    assert (summary.members_created, summary.enrollments_created) == (4, 0)


def test_roster_rows_repeating_a_receipt_are_all_listed(village):
    rows = family()
    for row in (rows[0], rows[2], rows[3]):
        row["receipt_no"] = "SJ-7"
    reason = "收据号在文件中重复出现（第2、4、5行），一个收据号每年只能用一次"
    assert refused(csv_bytes(rows)) == [(2, "receipt_no", "SJ-7", reason), (4, "receipt_no", "SJ-7", reason),
                                        (5, "receipt_no", "SJ-7", reason)]


def test_roster_rows_using_a_receipt_of_the_database_are_listed(village):
    holder = MemberFactory(household=HouseholdFactory(village=village, number="H-OLD"), name="老王")
    EnrollmentFactory(member=holder, year=YEAR, receipt_no="SJ-8")
    EnrollmentFactory(member=MemberFactory(household=holder.household), year=2025, receipt_no="SJ-9")
    rows = family()
    rows[2]["receipt_no"] = "SJ-8"
    rows[3]["receipt_no"] = "SJ-9"  # used in 2025 only: free in 2026
    assert refused(csv_bytes(rows)) == [
        (4, "receipt_no", "SJ-8", "收据号SJ-8在2026年度已用于户号H-OLD的老王，一个收据号每年只能用一次")]


def test_roster_imported_again_keeps_its_own_receipts(village):
    roster_import(data=csv_bytes(family()), filename="roster.csv", year=YEAR)
    summary = roster_import(data=csv_bytes(family()), filename="again.csv", year=YEAR)
    assert (summary.unchanged_rows, summary.enrollments_created) == (4, 0)


# --- voiding a contribution -------------------------------------------------------------------


def test_the_fund_officer_voids_a_contribution_by_a_reversing_entry(clerk, fund_officer, village, clock):
    clock("2026-03-20 09:00")
    VillagePopulationFactory(village=village, year=YEAR, population=10)
    member = MemberFactory(household=HouseholdFactory(village=village, number="H-V"), name="误登")
    enrollment = record(clerk, member, receipt_no="SJ-1", paid_date=date(2026, 1, 10))
    assert (balance("income_individual"), balance("reserve")) == (Decimal("-380.00"), Decimal("11.40"))
    booking = LedgerTransaction.objects.get()

    void = services.contribution_void(user=fund_officer, enrollment=enrollment, reason="登记错了人")

    # the ledger: the booking stays, a new transaction of that amount dated today takes it back
    booking.refresh_from_db()
    assert booking.lines.count() == 4
    reversal = LedgerTransaction.objects.exclude(pk=booking.pk).get()
    assert (reversal.kind, reversal.date, reversal.year, reversal.ref, reversal.created_by) == (
        "contribution_void", date(2026, 3, 20), YEAR, f"void:enrollment:{enrollment.pk}", fund_officer)
    assert sorted(reversal.lines.values_list("account__code", "amount")) == sorted([
        ("income_individual", Decimal("380.00")), ("special", Decimal("-380.00")),
        ("special", Decimal("11.40")), ("reserve", Decimal("-11.40"))])
    assert (balance("income_individual"), balance("special"), balance("reserve")) == (
        Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    assert reconciliation(YEAR) == []
    # the member is not enrolled any more: participation and a claim's eligibility
    assert not Enrollment.objects.filter(member=member).exists()
    county = participation_report(user=fund_officer, year=YEAR).county
    assert county.participants == 0
    assert member_of_year(member.id_number, YEAR).paid_date is None  # not enrolled for the year
    # the history: what was recorded, who voided it, when and why
    assert (void.member, void.year, void.contribution, void.receipt_no, void.paid_date, void.payer, void.recorded_by,
            void.voided_by, void.voided_on, void.reason, void.reversal) == (
        member, YEAR, Decimal("380.00"), "SJ-1", date(2026, 1, 10), Payer.SELF, clerk,
        fund_officer, date(2026, 3, 20), "登记错了人", reversal)
    deleted = Enrollment.history.filter(id=enrollment.pk).latest("history_date")
    assert (deleted.history_type, deleted.history_user, deleted.history_change_reason) == (
        "-", fund_officer, "缴费作废：登记错了人")
    # the right member may now be recorded with the same paper receipt; the books still agree
    clock("2026-03-21 09:00")
    again = record(clerk, member, receipt_no="SJ-1", paid_date=date(2026, 3, 21))
    assert again.contribution == Decimal("380.00")
    assert reconciliation(YEAR) == []
    assert balance("income_individual") == Decimal("-380.00")


def test_voiding_one_member_of_a_roster_reverses_just_their_amount(fund_officer, village, clock):
    clock("2026-02-01 09:00")
    roster_import(data=csv_bytes(family()), filename="roster.csv", year=YEAR)
    booking = LedgerTransaction.objects.get()  # the four contributions, one paid date
    assert balance("income_individual") == Decimal("-1520.00")
    son = Enrollment.objects.get(member__id_number=SON_ID)

    services.contribution_void(user=fund_officer, enrollment=son, reason="外出务工，已在务工地参合")

    reversal = LedgerTransaction.objects.exclude(pk=booking.pk).get()
    assert reversal.lines.get(account__code="income_individual").amount == Decimal("380.00")
    assert (balance("income_individual"), balance("reserve")) == (Decimal("-1140.00"), Decimal("34.20"))
    assert sorted(Enrollment.objects.values_list("member__id_number", flat=True)) == sorted(
        [HEAD_ID, SPOUSE_ID, OTHER_HEAD_ID])
    assert reconciliation(YEAR) == []
    # a second member of the same booking is voided the same way
    services.contribution_void(user=fund_officer, enrollment=Enrollment.objects.get(member__id_number=HEAD_ID),
                               reason="重复登记")
    assert balance("income_individual") == Decimal("-760.00")
    assert reconciliation(YEAR) == []


def test_reconciliation_sees_a_void_without_its_reversing_entry(clerk, fund_officer, village):
    member = MemberFactory(household=HouseholdFactory(village=village))
    enrollment = record(clerk, member, paid_date=date(2026, 1, 10))
    # a void written past the service: the enrollment gone, no reversing entry booked
    ContributionVoid.objects.create(
        enrollment_id=enrollment.pk, member=member, year=YEAR, contribution=enrollment.contribution,
        receipt_no=enrollment.receipt_no, paid_date=enrollment.paid_date, payer=enrollment.payer,
        recorded_at=enrollment.recorded_at, reason="错了", voided_by=fund_officer, voided_on=date(2026, 3, 20))
    Enrollment.objects.filter(pk=enrollment.pk).delete()
    assert [(d.kind, d.key, d.ledger, d.expected) for d in reconciliation(YEAR)] == [
        ("contributions", "2026-03-20", Decimal("0.00"), Decimal("-380.00"))]


def test_only_the_fund_officer_voids_and_with_a_reason(clerk, fund_officer, village):
    enrollment = record(clerk, MemberFactory(household=HouseholdFactory(village=village)))
    before = written()
    with pytest.raises(NcmsError) as caught:
        services.contribution_void(user=clerk, enrollment=enrollment, reason="错了")
    assert caught.value.code == "forbidden"
    with pytest.raises(NcmsError) as caught:
        services.contribution_void(user=fund_officer, enrollment=enrollment, reason="  ")
    assert caught.value.code == "missing_reason"
    assert written() == before


def test_a_contribution_with_a_claim_of_the_year_is_not_voided(clerk, fund_officer, village):
    member = MemberFactory(household=HouseholdFactory(village=village), name="住院人")
    enrollment = record(clerk, member)
    ClaimFactory(member=member, year=YEAR, status="rejected", invoice_no="INV-R")
    ClaimFactory(member=member, year=2025, status="paid", invoice_no="INV-2025")
    claim = ClaimFactory(member=member, year=YEAR, status="approved", invoice_no="INV-A")
    before = written()
    with pytest.raises(NcmsError) as caught:
        services.contribution_void(user=fund_officer, enrollment=enrollment, reason="错了")
    assert caught.value.code == "has_claim"
    assert caught.value.message == "住院人已有2026年度的补偿申请（发票号INV-A），不能作废其缴费：请先追回该申请的补偿"
    assert written() == before
    # a rejected claim (or another year's) does not hold the year
    type(claim).objects.filter(pk=claim.pk).update(status="rejected")
    services.contribution_void(user=fund_officer, enrollment=enrollment, reason="错了")
    assert not Enrollment.objects.filter(member=member).exists()


def test_void_page_for_the_fund_officer_only(client, clerk, fund_officer, village):
    year = timezone.localdate().year
    household = HouseholdFactory(village=village)
    member = MemberFactory(household=household, name="误登")
    enrollment = services.enrollment_record_contribution(
        user=clerk, member=member, year=year, contribution="380.00", receipt_no="SJ-1",
        paid_date=date(year, 1, 10))
    url = reverse("enrollment:contribution_void", args=[enrollment.pk])
    client.force_login(clerk)
    assert client.get(url).status_code == 403
    assert url not in client.get(reverse("enrollment:household_detail", args=[household.pk])).content.decode()
    client.force_login(fund_officer)
    assert url in client.get(reverse("enrollment:household_detail", args=[household.pk])).content.decode()
    assert client.post(url, {"reason": ""}).status_code == 200
    assert Enrollment.objects.filter(pk=enrollment.pk).exists()
    response = client.post(url, {"reason": "登记错了人"})
    assert response.status_code == 302
    assert not Enrollment.objects.filter(pk=enrollment.pk).exists()
    page = client.get(reverse("enrollment:household_detail", args=[household.pk])).content.decode()
    assert "已作废的缴费" in page and "登记错了人" in page
