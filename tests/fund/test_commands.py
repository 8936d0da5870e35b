"""record_income, transfer_funds and reconcile exactly per the contract: exit 0 on success,
non-zero with the error on stderr and nothing written on failure."""
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.models import LedgerTransaction
from ledger.selectors import account_balance
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


def test_record_income_books_into_the_special_account(policy_2026, capsys):
    call_command("record_income", "--year", "2026", "--date", "2026-02-01", "--source", "central",
                 "--amount", "10000.00", "--ref", "C-1")
    assert "10000.00" in capsys.readouterr().out
    assert account_balance("special") == Decimal("9700.00") and account_balance("reserve") == Decimal("300.00")
    assert LedgerTransaction.objects.get().date == date(2026, 2, 1)


@pytest.mark.parametrize("arguments, words", [
    (["--source", "lottery"], "收入来源"), (["--amount", "12.345"], "两位小数"), (["--amount", "abc"], "金额"),
    (["--date", "2026-02-30"], "日期"), (["--year", "20x6"], "年度"),
])
def test_record_income_refusals_write_nothing(policy_2026, arguments, words):
    base = {"--year": "2026", "--date": "2026-02-01", "--source": "central", "--amount": "1.00", "--ref": "R"}
    base.update(dict(zip(arguments[::2], arguments[1::2])))
    with pytest.raises(CommandError, match=words):
        call_command("record_income", *[item for pair in base.items() for item in pair])
    assert LedgerTransaction.objects.count() == 0


def test_a_ref_booked_before_is_refused(policy_2026):
    args = ["--year", "2026", "--date", "2026-02-01", "--source", "county", "--amount", "5.00", "--ref", "X"]
    call_command("record_income", *args)
    with pytest.raises(CommandError, match="已经记过账"):
        call_command("record_income", *args)
    assert LedgerTransaction.objects.count() == 1


def test_transfer_funds_respects_the_reserve(funded):
    with pytest.raises(CommandError, match="不足划拨"):
        call_command("transfer_funds", "--year", "2026", "--date", "2026-03-01", "--amount", "4700.01", "--ref", "T-2")
    call_command("transfer_funds", "--year", "2026", "--date", "2026-03-01", "--amount", "4700.00", "--ref", "T-2")
    assert account_balance("expenditure") == Decimal("9700.00")
    with pytest.raises(CommandError, match="已经记过账"):
        call_command("transfer_funds", "--year", "2026", "--date", "2026-03-02", "--amount", "1.00", "--ref", "T-2")


def test_reconcile_is_quiet_when_healthy_and_lists_every_difference(funded, village, capsys):
    call_command("reconcile", "--year", "2026")
    assert "无差异" in capsys.readouterr().out
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=village)), paid_date=date(2026, 1, 3))
    EnrollmentFactory(member=MemberFactory(household=HouseholdFactory(village=village)), paid_date=date(2026, 1, 4))
    with pytest.raises(CommandError, match="2 处差异"):
        call_command("reconcile", "--year", "2026")
    err = capsys.readouterr().err
    assert "2026-01-03 个人缴费：账上 0.00 元，参合登记 380.00 元" in err and "2026-01-04" in err


def test_commands_exit_non_zero_with_stderr(tmp_path):
    """The real process: a refusal exits 1 with the words on stderr (SQLite dev database)."""
    result = subprocess.run([sys.executable, "manage.py", "record_income", "--year", "2026", "--date", "bad",
                             "--source", "central", "--amount", "1.00", "--ref", "R"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "不是有效的日期" in result.stderr
