"""demo_logins: the table of demo logins that make run prints."""
from io import StringIO

from django.core.management import call_command

from accounts.models import Role


def logins() -> str:
    out = StringIO()
    call_command("demo_logins", stdout=out)
    return out.getvalue()


def test_without_demo_users_it_says_how_to_get_them(db):
    assert logins() == "没有演示账号：请先运行 python manage.py seed_demo\n"


def test_lists_only_the_demo_users_that_exist(clerk, make_user, facility):
    make_user(Role.FACILITY_CLERK, facility=facility, username="facility")
    make_user(Role.REVIEWER, username="someone-else")

    lines = logins().splitlines()

    assert lines[0] == "演示系统：http://127.0.0.1:8000"
    assert lines[1].split() == ["用户名", "密码", "角色", "所属乡镇/机构"]
    assert lines[3].split() == ["clerk", "demo12345", "乡镇经办员", "城关镇"]
    assert lines[4].split() == ["facility", "demo12345", "定点机构结算员", "F001", "城关镇卫生院"]
    assert len(lines) == 5  # no reviewer: someone-else is not a demo login


def test_after_seed_demo_every_login_is_listed_in_aligned_columns(db):
    call_command("seed_demo", "--members", "20", "--year", "2026", stdout=StringIO())

    lines = logins().splitlines()

    rows = [line.split() for line in lines[3:]]
    assert [row[0] for row in rows] == ["clerk", "clerk2", "facility", "reviewer", "approver",
                                        "cashier", "fund", "auditor", "admin"]
    assert all(row[1] == "demo12345" for row in rows)
    assert rows[1][2:] == ["乡镇经办员", "河口乡"]
    assert rows[2][2:] == ["定点机构结算员", "F101", "示范县人民医院"]
    assert rows[8][2:] == ["系统管理员", "全县"]
    # the password column starts at the same terminal column on every line (CJK counted double)
    assert len({line.index("demo12345") for line in lines[3:]}) == 1
