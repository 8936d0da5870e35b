"""`python manage.py import_claims FILE`: historical claims walked to their status, payouts booked
on their paid dates, all or nothing (fund/importing.py)."""
import json
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import ManagementUtility
from django.db import connections
from django.utils import timezone

from accounts.models import User
from claims.models import Claim, ClaimEvent, MemberYearCap
from fund.importing import expenditure_shortfall
from fund.services import claim_pay
from ledger.models import AccountBalance, LedgerLine, LedgerTransaction
from ledger.selectors import account_balance
from ledger.services import funds_transfer, income_record
from policy.services import policy_load
from tests.claims.conftest import line, member, policy, policy_document, small_cap_policy  # noqa: F401  (fixtures)
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


def manage(*args) -> int:
    """Run manage.py as the shell does (argv, stderr, sys.exit); the test's connection stays open."""
    with mock.patch.object(connections, "close_all"):
        try:
            ManagementUtility(["manage.py", *args]).execute()
        except SystemExit as exc:
            return exc.code
    return 0


@pytest.fixture
def claims_file(tmp_path):
    def write(*rows, name="claims.jsonl"):
        path = tmp_path / name
        text = "\n".join(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows)
        path.write_text(text + "\n", encoding="utf-8")
        return path
    return write


def fund(*transfers):
    """Income of 100,000.00 on 2026-01-10, then transfers [(date, amount)] to the expenditure account."""
    income_record(user=None, year=2026, date=date(2026, 1, 10), source="central", amount="100000.00", ref="C-1")
    for number, (on, amount) in enumerate(transfers, start=1):
        funds_transfer(user=None, year=2026, date=on, amount=amount, ref=f"T-{number}")


def everything():
    return (Claim.objects.count(), ClaimEvent.objects.count(), Claim.history.count(), MemberYearCap.objects.count(),
            LedgerTransaction.objects.count(), LedgerLine.objects.count(),
            list(AccountBalance.objects.order_by("pk").values_list("balance", flat=True)),
            User.objects.filter(username__startswith="import").count())


def enrolled(village):
    person = MemberFactory(household=HouseholdFactory(village=village))
    EnrollmentFactory(member=person, year=2026)
    return person


def row(member, **changes):
    data = line(member, **changes)
    data.pop("ref")
    return data


# --- the happy path ---------------------------------------------------------------------------


def test_each_status_is_reached_and_the_payout_booked_on_its_paid_date(policy, facility, member, claims_file,
                                                                       capsys):
    fund((date(2026, 4, 1), "5000.00"))
    path = claims_file(
        row(member, invoice_no="A-1", status="submitted"),
        row(member, invoice_no="A-2", admission_date="2026-04-01", discharge_date="2026-04-03", status="approved"),
        row(member, invoice_no="A-3", admission_date="2026-04-05", discharge_date="2026-04-08", status="paid",
            paid_date="2026-04-10"),
    )
    assert manage("import_claims", str(path)) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out == ("导入完成：claims.jsonl 共3件申请（已提交1件，已审批1件，已兑付1件）；补偿金额合计 2430.00 元，"
                       "其中已兑付 810.00 元（1个兑付日期，已按兑付日期记账）\n")
    claims = {claim.invoice_no: claim for claim in Claim.objects.select_related(
        "submitted_by", "reviewed_by", "approved_by", "paid_by")}
    assert {no: (c.status, c.compensation, c.channel, c.policy_revision) for no, c in claims.items()} == {
        "A-1": ("submitted", Decimal("810.00"), "facility", 1),
        "A-2": ("approved", Decimal("810.00"), "facility", 1),
        "A-3": ("paid", Decimal("810.00"), "facility", 1),
    }
    paid = claims["A-3"]
    assert paid.submitted_by.username == "import"
    assert (paid.reviewed_by.username, paid.approved_by.username, paid.paid_by.username) == (
        "import", "import-approver", "import-cashier")
    assert paid.reviewed_by != paid.approved_by and paid.approved_by != paid.paid_by
    assert timezone.localdate(paid.paid_at) == date(2026, 4, 10)  # the paid date in county time
    assert [(e.action, e.from_status, e.to_status, e.user.username)
            for e in ClaimEvent.objects.filter(claim=paid).order_by("pk")] == [
        ("submit", "", "submitted", "import"), ("review", "submitted", "reviewed", "import"),
        ("approve", "reviewed", "approved", "import-approver"), ("pay", "approved", "paid", "import-cashier")]
    assert [e.action for e in ClaimEvent.objects.filter(claim=claims["A-1"])] == ["submit"]
    # the system users cannot log in
    assert not User.objects.get(username="import").has_usable_password()
    assert not User.objects.get(username="import-cashier").has_usable_password()
    payout = LedgerTransaction.objects.get(kind="payout")
    assert (payout.date, payout.year, payout.ref, payout.created_by.username) == (
        date(2026, 4, 10), 2026, f"claim:{paid.pk}", "import-cashier")
    assert sorted((ln.account.code, ln.amount) for ln in payout.lines.all()) == [
        ("compensation", Decimal("810.00")), ("expenditure", Decimal("-810.00"))]
    assert account_balance("expenditure", year=2026) == Decimal("4190.00")
    assert account_balance("expenditure", until=date(2026, 4, 9)) == Decimal("5000.00")
    assert account_balance("expenditure", until=date(2026, 4, 10)) == Decimal("4190.00")
    assert AccountBalance.objects.get(account__code="expenditure", year=2026).balance == Decimal("4190.00")
    assert MemberYearCap.objects.get(member=member, year=2026).used == Decimal("2430.00")


def test_payouts_are_booked_per_paid_date_in_date_order(policy, facility, village, claims_file):
    fund((date(2026, 3, 1), "3000.00"))
    first, second, third = (enrolled(village) for _ in range(3))
    path = claims_file(
        row(first, invoice_no="P-1", status="paid", paid_date="2026-05-20"),
        row(second, invoice_no="P-2", status="paid", paid_date="2026-03-15"),
        row(third, invoice_no="P-3", status="paid", paid_date="2026-03-15"),
    )
    assert manage("import_claims", str(path)) == 0
    booked = list(LedgerTransaction.objects.filter(kind="payout").order_by("date", "memo")
                  .values_list("date", "memo"))
    # facility-channel lines (the default) were paid to their facility
    assert booked == [(date(2026, 3, 15), "兑付 P-2 付F001"), (date(2026, 3, 15), "兑付 P-3 付F001"),
                      (date(2026, 5, 20), "兑付 P-1 付F001")]
    assert account_balance("expenditure", until=date(2026, 3, 14)) == Decimal("3000.00")
    assert account_balance("expenditure", until=date(2026, 3, 15)) == Decimal("1380.00")
    assert account_balance("expenditure", until=date(2026, 5, 20)) == Decimal("570.00")
    assert AccountBalance.objects.get(account__code="expenditure", year=2026).balance == Decimal("570.00")
    assert account_balance("compensation") == Decimal("2430.00")
    assert sorted((c.invoice_no, timezone.localdate(c.paid_at)) for c in Claim.objects.all()) == [
        ("P-1", date(2026, 5, 20)), ("P-2", date(2026, 3, 15)), ("P-3", date(2026, 3, 15))]


def test_the_annual_cap_is_consumed_in_discharge_order_across_lines(small_cap_policy, facility, member,
                                                                   claims_file):
    # the file lists the May stay first; the March stay was brought in first and takes 810.00
    path = claims_file(
        row(member, invoice_no="M-5", admission_date="2026-05-01", discharge_date="2026-05-04", status="approved"),
        row(member, invoice_no="M-3", status="submitted"),
        row(member, invoice_no="M-6", admission_date="2026-06-01", discharge_date="2026-06-02", status="submitted"),
    )
    assert manage("import_claims", str(path)) == 0
    assert dict(Claim.objects.values_list("invoice_no", "compensation")) == {
        "M-3": Decimal("810.00"), "M-5": Decimal("190.00"), "M-6": Decimal("0.00")}
    capped = Claim.objects.get(invoice_no="M-5")
    assert capped.breakdown["before_cap"] == "810.00"
    assert capped.breakdown["cap_remaining"] == "190.00"
    assert MemberYearCap.objects.get(member=member, year=2026).used == Decimal("1000.00")


# --- refusals: nothing left behind -------------------------------------------------------------


REFUSALS = {
    "bad_json": (['{"id_number": "x",'],
                 ["第1行 不是有效的 JSON（Expecting property name enclosed in double quotes，第19个字符）"]),
    "bad_status": ([{"invoice_no": "B-1", "status": "done"}],
                   ["第1行 status「done」：状态不正确，应为 submitted、approved 或 paid"]),
    "missing_status": ([{"invoice_no": "B-1", "status": None}],
                       ["第1行 status「」：缺少状态，应为 submitted、approved 或 paid"]),
    "paid_without_date": ([{"invoice_no": "B-1", "status": "paid"}],
                          ["第1行 paid_date「」：状态为 paid（已兑付）时必须填写兑付日期"]),
    "paid_before_discharge": ([{"invoice_no": "B-1", "status": "paid", "paid_date": "2026-03-07"}],
                              ["第1行 paid_date「2026-03-07」：兑付日期早于出院日期 2026-03-08"]),
    "date_on_unpaid": ([{"invoice_no": "B-1", "status": "approved", "paid_date": "2026-03-10"}],
                       ["第1行 paid_date「2026-03-10」：状态为 approved 的申请尚未兑付，不应填写兑付日期"]),
    "no_invoice": ([{"invoice_no": None, "status": "submitted"}],
                   ["第1行 invoice_no「」：导入的申请必须填写发票号"]),
    "bad_amount": ([{"invoice_no": "B-1", "status": "submitted", "total_cost": "12.345"}],
                   ["第1行 total_cost「12.345」：住院总费用最多两位小数（12.345）"]),
    "above_the_ceiling": ([{"invoice_no": "B-1", "status": "submitted", "total_cost": "5000000.01"}],
                          ["第1行 total_cost「5000000.01」：住院总费用「5000000.01」超过单次住院总费用的上限 "
                           "5000000.00 元，请核对金额"]),
    "seventeen_digits": ([{"invoice_no": "B-1", "status": "submitted", "total_cost": "12345678901234567"}],
                         ["第1行 total_cost「12345678901234567」：住院总费用「12345678901234567」超过单次住院总费用"
                          "的上限 5000000.00 元，请核对金额"]),
    "huge_exponent": ([{"invoice_no": "B-1", "status": "submitted", "non_reimbursable_cost": "1E+30"}],
                      ["第1行 non_reimbursable_cost「1E+30」：目录外（自费）费用「1E+30」超过单次住院总费用的上限 "
                       "5000000.00 元，请核对金额"]),
    "duplicate_in_file": ([{"invoice_no": "B-1", "status": "submitted"},
                           {"invoice_no": "B-1", "status": "submitted", "admission_date": "2026-05-01",
                            "discharge_date": "2026-05-02"}],
                          ["第2行 invoice_no「B-1」：与第1行重复：同一机构 F001 的同一发票号只能报销一次"]),
    "not_enrolled": ([{"invoice_no": "B-1", "status": "submitted", "discharge_date": "2026-03-09"},
                      {"invoice_no": "B-2", "status": "submitted", "id_number": "NOBODY"}],
                     ["第2行 id_number「NOBODY」：找不到身份证号为 NOBODY 的参合人员（unknown_member）"]),
    "overlap_in_file": ([{"invoice_no": "B-1", "status": "submitted"},
                         {"invoice_no": "B-2", "status": "submitted", "admission_date": "2026-03-05",
                          "discharge_date": "2026-03-10"}],
                        ["第2行 admission_date「2026-03-05」：住院期间 2026-03-05 至 2026-03-10 与该人员另一次住院"
                         "（2026-03-01 至 2026-03-08）重叠（overlapping_stay）"]),
    "no_policy_year": ([{"invoice_no": "B-1", "status": "submitted", "admission_date": "2025-03-01",
                         "discharge_date": "2025-03-08"}],
                       ["第1行 discharge_date「2025-03-08」：2025 年度尚未载入补偿方案（no_policy）"]),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_an_invalid_line_refuses_the_whole_file_and_writes_nothing(case, policy, facility, member, claims_file,
                                                                    capsys):
    fund((date(2026, 2, 1), "5000.00"))
    rows, expected = REFUSALS[case]
    good = row(member, invoice_no="OK-1", admission_date="2026-07-01", discharge_date="2026-07-02",
               status="paid", paid_date="2026-07-05")
    lines = [good]
    for item in rows:
        lines.append(item if isinstance(item, str) else {**row(member), **item})
    expected = [text.replace("第1行", "第2行", 1) if text.startswith("第1行") else text.replace("第2行", "第3行", 1)
                for text in expected]
    expected = [text.replace("与第1行", "与第2行") for text in expected]
    before = everything()
    path = claims_file(*lines)
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == expected
    assert err[-1].startswith("CommandError: 文件有 1 行有误，未导入任何申请（共1处错误）")
    assert everything() == before


def test_a_line_discharged_after_today_refuses_the_file(policy, facility, member, claims_file, capsys, clock):
    clock("2026-06-15 10:00")
    before = everything()
    path = claims_file(row(member, invoice_no="T-1", status="submitted"),
                       row(member, invoice_no="T-2", status="submitted", admission_date="2026-06-14",
                           discharge_date="2026-06-16"))
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == ["第2行 discharge_date「2026-06-16」：出院日期 2026-06-16 晚于今天 2026-06-15（bad_dates）"]
    assert everything() == before
    # discharged today: taken
    path = claims_file(row(member, invoice_no="T-2", status="submitted", admission_date="2026-06-14",
                           discharge_date="2026-06-15"), name="today.jsonl")
    assert manage("import_claims", str(path)) == 0
    assert Claim.objects.get().discharge_date == date(2026, 6, 15)


def test_every_invalid_line_is_listed(policy, facility, member, claims_file, capsys):
    path = claims_file(row(member, invoice_no="E-1", status="nope"), "not json",
                       row(member, invoice_no="E-3", status="submitted", admission_date="2026-09-01",
                           discharge_date="2026-09-02"),
                       "", row(member, invoice_no="E-5", status="paid", facility="F404"))
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert [text[:4] for text in err[:-1]] == ["第1行 ", "第2行 ", "第5行 "]
    assert err[2] == "第5行 paid_date「」：状态为 paid（已兑付）时必须填写兑付日期"
    assert err[-1] == "CommandError: 文件有 3 行有误，未导入任何申请（共3处错误）"
    assert Claim.objects.count() == 0


def test_an_invoice_already_in_the_database_is_refused(policy, facility, member, claims_file, capsys):
    assert manage("import_claims", str(claims_file(row(member, invoice_no="D-1", status="submitted")))) == 0
    before = everything()
    path = claims_file(row(member, invoice_no="D-1", status="submitted", admission_date="2026-08-01",
                           discharge_date="2026-08-02"), name="again.jsonl")
    assert manage("import_claims", str(path)) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "第1行 invoice_no「D-1」：发票号 D-1 在 F001 已报销过（duplicate_invoice）")
    assert everything() == before


def test_a_stay_before_cover_starts_refuses_the_file(facility, village, claims_file, capsys):
    policy_load(data=policy_document(coverage={"collection_end": "2025-12-31", "waiting_days": 90}))
    late = MemberFactory(household=HouseholdFactory(village=village), name="陈晚缴")
    EnrollmentFactory(member=late, year=2026, paid_date=date(2026, 3, 1))  # covered from 2026-05-30
    before = everything()
    path = claims_file(row(late, invoice_no="W-1", status="submitted", admission_date="2026-05-30",
                           discharge_date="2026-06-02"),
                       row(late, invoice_no="W-2", status="submitted", admission_date="2026-01-15",
                           discharge_date="2026-01-20"))
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "第2行 admission_date「2026-01-15」：陈晚缴 于 2026-03-01 缴纳 2026 年度参合费用，晚于缴费截止日 2025-12-31，"
        "待遇等待期 90 天，自 2026-05-30 起享受待遇；本次入院日期 2026-01-15 在此之前，不能报销（not_yet_covered）",
        "CommandError: 文件有 1 行有误，未导入任何申请（共1处错误）",
    ]
    assert everything() == before
    # the stay admitted on the first day of cover is taken on its own
    assert manage("import_claims", str(claims_file(row(late, invoice_no="W-1", status="submitted",
                                                       admission_date="2026-05-30", discharge_date="2026-06-02"),
                                                   name="covered.jsonl"))) == 0
    assert Claim.objects.get().compensation == Decimal("810.00")


def test_a_payout_dated_before_the_money_arrived_refuses_the_file(policy, facility, member, claims_file, capsys):
    # the balance today (5000.00) would cover 810.00, but on 2026-04-10 nothing had been transferred yet
    fund((date(2026, 5, 1), "5000.00"))
    before = everything()
    path = claims_file(row(member, invoice_no="S-1", status="submitted"),
                       row(member, invoice_no="S-2", admission_date="2026-04-01", discharge_date="2026-04-03",
                           status="paid", paid_date="2026-04-10"))
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "2026年度支出户余额不足：按兑付日期记账后，2026-04-10 当日结束时余额将为 -810.00 元，缺少 810.00 元"
        "（截至该日兑付的导入申请：第2行）。请先把资金划拨到支出户（划拨日期不晚于兑付日期），整个文件未导入",
        "CommandError: 支出户余额不足，未导入任何申请（共1处错误）",
    ]
    assert everything() == before


def test_a_payout_that_would_overdraw_a_later_booked_payout_refuses_the_file(policy, facility, member, village,
                                                                              claims_file, capsys):
    fund((date(2026, 4, 1), "1000.00"))
    # an earlier import paid 810.00 on 2026-06-01; 190.00 is left from then on
    assert manage("import_claims", str(claims_file(
        row(member, invoice_no="L-1", admission_date="2026-05-20", discharge_date="2026-05-25", status="paid",
            paid_date="2026-06-01"), name="first.jsonl"))) == 0
    before = everything()
    other = enrolled(village)
    # 810.00 on 2026-05-01 is covered that day (1000.00) but leaves -620.00 on 2026-06-01
    path = claims_file(row(other, invoice_no="L-2", status="paid", paid_date="2026-05-01"), name="second.jsonl")
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("2026年度支出户余额不足：按兑付日期记账后，2026-06-01 当日结束时余额将为 -620.00 元，"
                             "缺少 620.00 元（截至该日兑付的导入申请：第1行）")
    assert everything() == before


def test_expenditure_shortfall_nets_a_day_and_judges_only_from_the_first_new_payout(policy):
    fund((date(2026, 4, 1), "100.00"), (date(2026, 4, 3), "50.00"))
    assert expenditure_shortfall({(2026, date(2026, 4, 1)): Decimal("100.00")}) is None
    assert expenditure_shortfall({(2026, date(2026, 4, 2)): Decimal("100.01")}) == (2026, date(2026, 4, 2), Decimal("-0.01"))
    # the transfer of the same day counts: 150.00 available on 2026-04-03
    assert expenditure_shortfall({(2026, date(2026, 4, 3)): Decimal("150.00")}) is None
    assert expenditure_shortfall({(2026, date(2026, 3, 31)): Decimal("1.00")}) == (2026, date(2026, 3, 31), Decimal("-1.00"))
    # another year's expenditure account is its own
    assert expenditure_shortfall({(2027, date(2027, 1, 5)): Decimal("1.00")}) == (2027, date(2027, 1, 5), Decimal("-1.00"))
    assert expenditure_shortfall({}) is None


def test_a_paid_claim_booked_live_counts_on_its_date(policy, facility, member, village, claims_file, capsys,
                                                     make_user):
    """A claim paid through the cashier's page today (after the history) takes its money too."""
    from accounts.models import Role

    fund((date(2026, 4, 1), "1000.00"))
    assert manage("import_claims", str(claims_file(row(member, invoice_no="V-1", status="approved",
                                                       channel="township"), name="first.jsonl"))) == 0
    claim_pay(user=make_user(Role.CASHIER, username="cashier"), claim=Claim.objects.get(invoice_no="V-1"))
    other = enrolled(village)
    before = everything()
    path = claims_file(row(other, invoice_no="V-2", status="paid", paid_date="2026-04-15"), name="second.jsonl")
    assert manage("import_claims", str(path)) == 1
    assert "2026年度支出户余额不足" in capsys.readouterr().err
    assert everything() == before


def test_missing_and_empty_files(tmp_path, capsys, db):
    assert manage("import_claims", str(tmp_path / "nope.jsonl")) == 1
    assert capsys.readouterr().err.strip() == f"CommandError: 找不到文件：{tmp_path / 'nope.jsonl'}"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert manage("import_claims", str(empty)) == 1
    assert capsys.readouterr().err.splitlines() == ["文件中没有任何申请", "CommandError: 文件为空，未导入任何申请（共1处错误）"]


# --- the channel: who was paid -----------------------------------------------------------------


def test_the_channel_says_who_was_paid(policy, facility, member, village, claims_file, capsys):
    fund((date(2026, 4, 1), "5000.00"))
    other = enrolled(village)
    path = claims_file(
        row(member, invoice_no="C-1", status="paid", paid_date="2026-04-10", channel="township"),
        row(other, invoice_no="C-2", status="paid", paid_date="2026-04-10"),
        row(other, invoice_no="C-3", admission_date="2026-04-05", discharge_date="2026-04-08", status="approved",
            channel="facility"),
    )
    assert manage("import_claims", str(path)) == 0
    claims = {claim.invoice_no: claim for claim in Claim.objects.all()}
    assert {no: (c.channel, c.status) for no, c in claims.items()} == {
        "C-1": ("township", "paid"), "C-2": ("facility", "paid"), "C-3": ("facility", "approved")}
    memos = dict(LedgerTransaction.objects.filter(kind="payout").values_list("ref", "memo"))
    assert memos == {f"claim:{claims['C-1'].pk}": "兑付 C-1 付参合家庭",
                     f"claim:{claims['C-2'].pk}": f"兑付 C-2 付{facility.code}"}


def test_an_unknown_channel_refuses_the_file(policy, facility, member, claims_file, capsys):
    fund((date(2026, 4, 1), "5000.00"))
    before = everything()
    path = claims_file(row(member, invoice_no="D-1", status="submitted", channel="bank"))
    assert manage("import_claims", str(path)) == 1
    assert "第1行 channel「bank」：报销渠道不正确" in capsys.readouterr().err
    assert everything() == before


def test_a_referral_no_is_checked_and_the_claim_rests_on_it(policy, facility, member, claims_file, capsys):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from claims.models import Referral
    from tests.factories import FacilityFactory

    hospital = FacilityFactory(code="F003", name="市中心医院", level="municipal", township=facility.township)
    referral = Referral.objects.create(
        number="ZZ-1", member=member, township=facility.township, from_facility=facility, to_facility=hospital,
        date=date(2026, 2, 27), reason="病情需要", issued_at=datetime(2026, 2, 27, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    before = everything()
    path = claims_file(row(member, facility="F003", invoice_no="R-1", status="submitted", referral_no="ZZ-9"))
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "第1行 referral_no「ZZ-9」：找不到转诊单号为 ZZ-9 的转诊单（bad_referral）"
    assert everything() == before
    path = claims_file(row(member, facility="F003", invoice_no="R-1", status="submitted", referral_no="ZZ-1"),
                       row(member, facility="F003", invoice_no="R-2", status="submitted", referred=True,
                           admission_date="2026-04-01", discharge_date="2026-04-02"), name="good.jsonl")
    assert manage("import_claims", str(path)) == 0
    claims = {claim.invoice_no: claim for claim in Claim.objects.all()}
    assert (claims["R-1"].referred, claims["R-1"].referral) == (True, referral)
    assert (claims["R-2"].referred, claims["R-2"].referral) == (True, None)  # the flag as given


def test_a_stay_after_the_members_death_refuses_the_file(policy, facility, village, claims_file, capsys):  # noqa: F811
    from enrollment.models import MemberStatus

    late = MemberFactory(household=HouseholdFactory(village=village), name="王故", status=MemberStatus.DIED,
                         status_date=date(2026, 5, 10), status_reason="病故")
    EnrollmentFactory(member=late, year=2026, paid_date=date(2025, 12, 1))
    before = everything()
    path = claims_file(row(late, invoice_no="W-1", status="submitted", admission_date="2026-05-10",
                           discharge_date="2026-05-12"),
                       row(late, invoice_no="W-2", status="submitted", admission_date="2026-05-11",
                           discharge_date="2026-05-20"))
    assert manage("import_claims", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("第2行 admission_date「2026-05-11」：参合人员 王故 已于 2026-05-10 死亡，"
                      "此后入院的住院费用不能报销（member_deceased）")
    assert everything() == before
