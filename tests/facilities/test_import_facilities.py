"""`manage.py import_facilities FILE`: the contract's facility file, all or nothing, with history."""
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from facilities.management.commands.import_facilities import Command
from facilities.models import Facility

HEADER = ["code", "name", "level", "township_code", "agreement_start", "agreement_end", "status"]
GOOD = [
    ["F001", "城关镇卫生院", "township", "420102100", "2026-01-01", "2026-12-31", "active"],
    ["F101", "县人民医院", "county", "420102100", "2025-07-01", "2027-06-30", "active"],
    ["F201", "市中心医院", "municipal", "", "2026-01-01", "2026-12-31", "suspended"],
    ["F301", "省人民医院", "provincial", "", "2026-01-01", "2028-12-31", "active"],
]


def csv_bytes(rows, header=HEADER, encoding="utf-8"):
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(tmp_path, data, name="facilities.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    out = io.StringIO()
    call_command("import_facilities", str(path), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refuse(tmp_path, data, name="facilities.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    err = io.StringIO()
    with pytest.raises(CommandError) as refusal:
        call_command("import_facilities", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines(), str(refusal.value)


def registry():
    return list(Facility.objects.order_by("code").values_list(
        "code", "name", "level", "township__code", "agreement_start", "agreement_end", "status"))


@pytest.fixture
def places(township, other_township):
    return township, other_township


def test_good_file_creates_every_facility_with_a_history_row(tmp_path, places):
    out = run(tmp_path, csv_bytes(GOOD))

    assert registry() == [
        ("F001", "城关镇卫生院", "township", "420102100", date(2026, 1, 1), date(2026, 12, 31), "active"),
        ("F101", "县人民医院", "county", "420102100", date(2025, 7, 1), date(2027, 6, 30), "active"),
        ("F201", "市中心医院", "municipal", None, date(2026, 1, 1), date(2026, 12, 31), "suspended"),
        ("F301", "省人民医院", "provincial", None, date(2026, 1, 1), date(2028, 12, 31), "active"),
    ]
    assert "新建定点医疗机构4家" in out
    history = Facility.history.filter(code="F001")
    assert [(h.history_type, h.history_change_reason) for h in history] == [("+", "导入定点医疗机构文件 facilities.csv")]


def test_reimport_updates_changed_facilities_and_records_the_change(tmp_path, places):
    run(tmp_path, csv_bytes(GOOD))
    changed = [list(row) for row in GOOD]
    changed[0][6] = "suspended"
    changed[1][1] = "县第一人民医院"
    changed[1][3] = "420102200"

    out = run(tmp_path, csv_bytes(changed))

    assert registry()[0][6] == "suspended"
    assert registry()[1][1:4] == ("县第一人民医院", "county", "420102200")
    assert Facility.objects.count() == 4
    assert "更新2家" in out and "未变化2家" in out
    f001 = Facility.history.filter(code="F001").order_by("history_id")
    assert [(h.history_type, h.status) for h in f001] == [("+", "active"), ("~", "suspended")]
    assert Facility.history.filter(code="F201").count() == 1  # unchanged: no new history row


def test_same_file_twice_changes_nothing(tmp_path, places):
    run(tmp_path, csv_bytes(GOOD))
    out = run(tmp_path, csv_bytes(GOOD))
    assert "未变化4家" in out
    assert Facility.history.count() == 4


def test_xlsx_with_real_dates_and_chinese_values(tmp_path, places):
    rows = [["F001", "城关镇卫生院", "乡镇卫生院", 420102100, date(2026, 1, 1), date(2026, 12, 31), "正常"]]
    run(tmp_path, xlsx_bytes(rows), name="facilities.xlsx")
    assert registry() == [
        ("F001", "城关镇卫生院", "township", "420102100", date(2026, 1, 1), date(2026, 12, 31), "active")]


def test_gbk_csv(tmp_path, places):
    run(tmp_path, csv_bytes(GOOD, encoding="gbk"))
    assert [row[1] for row in registry()] == ["城关镇卫生院", "县人民医院", "市中心医院", "省人民医院"]


BAD = [
    (0, "", "第2行 code「」：机构代码不能为空"),
    (1, "", "第2行 name「」：机构名称不能为空"),
    (2, "hospital", "第2行 level「hospital」：级别应为 township、county、municipal、provincial 之一"
                    "（或 乡镇卫生院、县级医院、县外市级医院、省级医院）"),
    (3, "4201021", "第2行 township_code「4201021」：乡镇代码必须是9位数字"),
    (3, "420102900", "第2行 township_code「420102900」：系统中没有这个乡镇，请先导入乡镇村人口文件"),
    (3, "", "第2行 township_code「」：乡镇卫生院和县级医院必须填写所在乡镇代码"),
    (4, "2026/01/01", "第2行 agreement_start「2026/01/01」：协议开始日期日期格式应为 YYYY-MM-DD"),
    (5, "2026-02-30", "第2行 agreement_end「2026-02-30」：协议结束日期不是真实存在的日期"),
    (5, "2025-12-31", "第2行 agreement_end「2025-12-31」：协议结束日期早于开始日期 2026-01-01"),
    (6, "closed", "第2行 status「closed」：状态应为 active 或 suspended（或 正常、暂停）"),
]


@pytest.mark.parametrize("column,value,line", BAD)
def test_each_bad_kind_is_refused_and_nothing_is_written(tmp_path, places, column, value, line):
    bad = list(GOOD[0])
    bad[column] = value
    lines, message = refuse(tmp_path, csv_bytes([bad] + GOOD[1:]))
    assert lines == [line]
    assert "整个文件未导入" in message
    assert registry() == [] and Facility.history.count() == 0


def test_every_bad_row_is_listed_and_a_refused_reimport_keeps_the_registry(tmp_path, places):
    run(tmp_path, csv_bytes(GOOD))
    before = registry()
    rows = [
        ["F001", "改名卫生院", "township", "420102100", "2026-01-01", "2026-12-31", "suspended"],
        ["F001", "重复", "township", "420102100", "2026-01-01", "2026-12-31", "active"],
        ["F401", "新医院", "county", "420102100", "2026-01-01", "", "active"],
    ]
    lines, message = refuse(tmp_path, csv_bytes(rows))
    assert lines == ["第3行 code「F001」：机构代码与第2行重复",
                     "第4行 agreement_end「」：协议结束日期不能为空"]
    assert "2行" in message
    assert registry() == before and Facility.history.count() == 4


@pytest.mark.parametrize("data,reason", [
    (csv_bytes(GOOD, header=HEADER[:-1]), "缺少必需的列「status」（也可写作「状态」）"),
    (csv_bytes([]), "文件中没有数据行"),
    (b"", "文件是空的"),
])
def test_wrong_headers_and_empty_files_are_refused(tmp_path, places, data, reason):
    lines, message = refuse(tmp_path, data)
    assert reason in "\n".join(lines) + message
    assert registry() == []


def test_command_line_exits_non_zero(tmp_path, places, capsys, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([GOOD[0][:6] + ["closed"]]))
    # run_from_argv closes every connection when done; keep the test transaction's open
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "import_facilities", str(path)])
    assert exit_.value.code != 0
    assert "第2行 status「closed」" in capsys.readouterr().err
    assert registry() == []


BANK_HEADER = HEADER + ["bank_name", "bank_account"]


def bank():
    return list(Facility.objects.order_by("code").values_list("code", "bank_name", "bank_account"))


def test_the_optional_bank_columns_say_where_statements_are_paid_and_a_file_without_them_keeps_them(
        tmp_path, places):
    rows = [GOOD[0] + ["农村商业银行城关支行", "6230 5811 0000 1234 567"], GOOD[1] + ["", ""]]
    run(tmp_path, csv_bytes(rows, header=BANK_HEADER))
    assert bank() == [("F001", "农村商业银行城关支行", "6230581100001234567"), ("F101", "", "")]
    run(tmp_path, csv_bytes([GOOD[0]]))  # the contract's seven columns only: the account stays
    assert bank()[0] == ("F001", "农村商业银行城关支行", "6230581100001234567")
    assert Facility.objects.get(code="F001").history.count() == 1  # nothing changed, no new version


@pytest.mark.parametrize("account,reason", [
    ("6230-5811", "8至32位数字"),
    ("1234567", "8至32位数字"),
    ("=HYPERLINK(\"x\")", "8至32位数字"),
])
def test_a_bank_account_that_is_not_digits_refuses_the_file(tmp_path, places, account, reason):
    errors, message = refuse(tmp_path, csv_bytes([GOOD[0] + ["农商行", account]], header=BANK_HEADER))
    assert len(errors) == 1 and errors[0].startswith("第2行 bank_account") and reason in errors[0]
    assert Facility.objects.count() == 0


def test_a_bank_account_stored_as_a_spreadsheet_number_is_refused(tmp_path, places):
    errors, _ = refuse(tmp_path, xlsx_bytes([GOOD[0] + ["农商行", 6230581100001234567]], header=BANK_HEADER),
                       name="facilities.xlsx")
    assert len(errors) == 1 and "文本" in errors[0]
    assert Facility.objects.count() == 0
