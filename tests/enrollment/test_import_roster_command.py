"""`python manage.py import_roster FILE --year Y [--dry-run]`: exit codes, stdout, stderr lines."""
from datetime import date
from unittest import mock

import pytest
from django.core.management import ManagementUtility
from django.db import connections

from enrollment.models import Enrollment, Household, Member
from tests.enrollment.roster_data import SPOUSE_ID, ZH_HEADERS, csv_bytes, family, xlsx_bytes

SUMMARY = ("导入完成：2026年度花名册 {name}，共4行；新建家庭户2户，更新家庭户0户；新增人员4人，更新人员0人；"
           "登记缴费4人；未变化0行\n")


def manage(*args) -> int:
    """Run manage.py as the shell does (argv parsing, stderr, sys.exit); returns the exit code.

    run_from_argv closes every connection when done; the test's own connection must stay open.
    """
    with mock.patch.object(connections, "close_all"):
        try:
            ManagementUtility(["manage.py", *args]).execute()
        except SystemExit as exc:
            return exc.code
    return 0


def counts():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Household.history.count(), Member.history.count(), Enrollment.history.count())


@pytest.fixture
def roster(tmp_path):
    def write(data: bytes, name="roster.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def test_valid_file_exits_0_and_prints_summary(village, roster, capsys):
    path = roster(csv_bytes(family(), headers=ZH_HEADERS))
    assert manage("import_roster", str(path), "--year", "2026") == 0
    out, err = capsys.readouterr()
    assert out == SUMMARY.format(name="roster.csv")
    assert err == ""
    assert counts() == (2, 4, 4, 2, 4, 4)


def test_second_run_of_the_same_file_changes_nothing(village, roster, capsys):
    path = roster(xlsx_bytes(family()), "roster.xlsx")
    assert manage("import_roster", str(path), "--year", "2026") == 0
    before = counts()
    capsys.readouterr()
    assert manage("import_roster", str(path), "--year", "2026") == 0
    out, _ = capsys.readouterr()
    assert "新建家庭户0户，更新家庭户0户；新增人员0人，更新人员0人；登记缴费0人；未变化4行" in out
    assert counts() == before


def test_invalid_rows_exit_nonzero_listing_every_row_on_stderr(village, roster, capsys):
    rows = family()
    rows[1] = {**rows[1], "sex": "男"}
    rows[2] = {**rows[2], "receipt_no": ""}
    rows[3] = {**rows[3], "village_code": "420102999999"}
    path = roster(csv_bytes(rows, headers=ZH_HEADERS))

    code = manage("import_roster", str(path), "--year", "2026")

    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    lines = err.splitlines()
    assert lines[:3] == [
        "第3行 性别「男」：性别与身份证号不符：按身份证号应为女",
        "第4行 收据号「」：填写了缴费金额时，收据号必填",
        "第5行 村代码「420102999999」：村代码不存在：请核对，或先导入乡镇和村",
    ]
    assert lines[3].startswith("CommandError: 花名册有3行不符合要求，整个文件未导入")
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_mangled_ids_are_refused_with_advice_to_format_as_text(village, roster, capsys):
    rows = family()
    rows[1] = {**rows[1], "id_number": "4.21127E+17"}
    path = roster(csv_bytes(rows, headers=ZH_HEADERS))
    assert manage("import_roster", str(path), "--year", "2026") == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith("第3行 身份证号「4.21127E+17」：")
    assert "设置为文本" in err.splitlines()[0]
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_dry_run_exits_0_and_writes_nothing(village, roster, capsys):
    path = roster(csv_bytes(family()))
    assert manage("import_roster", str(path), "--year", "2026", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("校验通过（试运行，未写入任何数据）：2026年度花名册 roster.csv，共4行；新建家庭户2户")
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_dry_run_of_an_invalid_file_exits_nonzero(village, roster, capsys):
    path = roster(csv_bytes(family() + [family()[1]]))
    assert manage("import_roster", str(path), "--year", "2026", "--dry-run") == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        f"第3行 id_number「{SPOUSE_ID}」：身份证号在文件中重复出现（第3、6行）",
        f"第6行 id_number「{SPOUSE_ID}」：身份证号在文件中重复出现（第3、6行）",
    ]


def test_empty_file_and_missing_file(village, roster, tmp_path, capsys):
    assert manage("import_roster", str(roster(b"")), "--year", "2026") == 1
    assert "文件是空的" in capsys.readouterr().err
    assert manage("import_roster", str(tmp_path / "nope.csv"), "--year", "2026") == 1
    assert "找不到文件" in capsys.readouterr().err


def test_wrong_headers_exit_nonzero(village, roster, capsys):
    path = roster("户号,姓名,身份证\nH1,张三,1\n".encode())
    assert manage("import_roster", str(path), "--year", "2026") == 1
    err = capsys.readouterr().err
    assert "第1行 身份证「身份证」：无法识别的列名" in err
    assert "缺少必需的列" in err


def test_gbk_file_through_the_command(village, roster, capsys):
    path = roster(csv_bytes(family(), headers=ZH_HEADERS, encoding="gbk"))
    assert manage("import_roster", str(path), "--year", "2026") == 0
    assert Member.objects.get(id_number=SPOUSE_ID).name == "李秀英"
    assert Enrollment.objects.get(member__id_number=SPOUSE_ID).paid_date == date(2026, 1, 5)


def test_repeated_mistakes_are_counted_on_the_summary_line(village, roster, capsys):
    from tests.enrollment.roster_data import many

    rows = [{**row, "contribution": "300.00"} for row in many(30)]
    rows[0] = {**rows[0], "name": ""}
    path = roster(csv_bytes(rows, headers=ZH_HEADERS))
    assert manage("import_roster", str(path), "--year", "2026") == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 32  # every problem on its own line, then one summary line
    assert all(line.startswith("第") for line in lines[:31])
    assert lines[0] == "第2行 姓名「」：姓名不能为空"
    assert lines[1].startswith("第2行 缴费金额「300.00」：缴费金额应为2026年度")
    summary = lines[31]
    assert summary.startswith("CommandError: 花名册有30行不符合要求，整个文件未导入；请改正后重新导入（共31处错误；按原因汇总：")
    assert "缴费金额：缴费金额应为2026年度补偿方案规定的个人缴费 380.00 元，个人缴纳或民政代缴都是这个金额 30处（第2、3、4、5、6行等）" in summary
    assert "姓名：姓名不能为空 1处（第2行）" in summary


def test_a_few_different_mistakes_need_no_summary(village, roster, capsys):
    rows = family()
    rows[1] = {**rows[1], "sex": "男"}
    path = roster(csv_bytes(rows, headers=ZH_HEADERS))
    assert manage("import_roster", str(path), "--year", "2026") == 1
    assert "按原因汇总" not in capsys.readouterr().err


def test_max_errors_stops_the_list_and_the_summary_still_counts_all(village, roster, capsys):
    from tests.enrollment.roster_data import many

    rows = [{**row, "contribution": "300.00"} for row in many(30)]
    path = roster(csv_bytes(rows, headers=ZH_HEADERS))
    assert manage("import_roster", str(path), "--year", "2026", "--max-errors", "5") == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 7
    assert [line[:4] for line in lines[:5]] == ["第2行 ", "第3行 ", "第4行 ", "第5行 ", "第6行 "]
    assert lines[5] == "……另有25处错误未逐行列出"
    assert "（共30处错误；按原因汇总：" in lines[6] and " 30处（第2、3、4、5、6行等）" in lines[6]
