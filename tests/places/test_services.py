"""`manage.py import_places FILE --year Y`: the contract's places file, all or nothing."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from places.management.commands.import_places import Command
from places.models import Township, Village, VillagePopulation

HEADER = ["township_code", "township_name", "village_code", "village_name", "population"]
GOOD = [
    ["420102100", "城关镇", "420102100201", "东湖村", "1200"],
    ["420102100", "城关镇", "420102100202", "西湖村", "800"],
    ["420102200", "河口乡", "420102200201", "西山村", "650"],
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


def run(tmp_path, data, name="places.csv", year=2026):
    path = tmp_path / name
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_places", str(path), "--year", str(year), stdout=out, stderr=err)
    return out.getvalue()


def refuse(tmp_path, data, name="places.csv", year=2026):
    path = tmp_path / name
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as refusal:
        call_command("import_places", str(path), "--year", str(year), stdout=out, stderr=err)
    return err.getvalue().splitlines(), str(refusal.value)


def places():
    return (
        sorted(Township.objects.values_list("code", "name")),
        sorted(Village.objects.values_list("code", "name", "township__code")),
        sorted(VillagePopulation.objects.values_list("village__code", "year", "population")),
    )


@pytest.mark.django_db
def test_good_csv_creates_townships_villages_and_populations(tmp_path):
    out = run(tmp_path, csv_bytes(GOOD))

    assert places() == (
        [("420102100", "城关镇"), ("420102200", "河口乡")],
        [("420102100201", "东湖村", "420102100"), ("420102100202", "西湖村", "420102100"),
         ("420102200201", "西山村", "420102200")],
        [("420102100201", 2026, 1200), ("420102100202", 2026, 800), ("420102200201", 2026, 650)],
    )
    assert "新建乡镇2个" in out and "新建村3个" in out and "新增农业人口3条" in out


@pytest.mark.django_db
def test_importing_again_updates_names_and_populations_without_duplicates(tmp_path):
    run(tmp_path, csv_bytes(GOOD))
    changed = [
        ["420102100", "城关街道", "420102100201", "东湖社区", "1210"],
        ["420102100", "城关街道", "420102100202", "西湖村", "800"],
        ["420102200", "河口乡", "420102200201", "西山村", "650"],
        ["420102200", "河口乡", "420102200202", "新建村", "90"],
    ]

    out = run(tmp_path, csv_bytes(changed))

    assert places() == (
        [("420102100", "城关街道"), ("420102200", "河口乡")],
        [("420102100201", "东湖社区", "420102100"), ("420102100202", "西湖村", "420102100"),
         ("420102200201", "西山村", "420102200"), ("420102200202", "新建村", "420102200")],
        [("420102100201", 2026, 1210), ("420102100202", 2026, 800), ("420102200201", 2026, 650),
         ("420102200202", 2026, 90)],
    )
    assert "更新乡镇1个" in out and "更新村1个" in out and "更新农业人口1条" in out
    assert "未变化2行" in out  # rows 3 and 4


@pytest.mark.django_db
def test_same_file_twice_changes_nothing(tmp_path):
    run(tmp_path, csv_bytes(GOOD))
    before = places()
    out = run(tmp_path, csv_bytes(GOOD))
    assert places() == before
    assert "未变化3行" in out


@pytest.mark.django_db
def test_another_year_adds_that_years_populations_and_keeps_the_old(tmp_path):
    run(tmp_path, csv_bytes(GOOD), year=2026)
    run(tmp_path, csv_bytes([["420102100", "城关镇", "420102100201", "东湖村", "1190"]]), year=2027)
    assert sorted(VillagePopulation.objects.filter(village__code="420102100201").values_list("year", "population")) == [
        (2026, 1200), (2027, 1190)]
    assert Village.objects.count() == 3


@pytest.mark.django_db
def test_xlsx_with_numeric_cells_and_chinese_headers(tmp_path):
    rows = [[420102100, "城关镇", 420102100201, "东湖村", 1200], [420102100, "城关镇", 420102100202, "西湖村", 800.0]]
    run(tmp_path, xlsx_bytes(rows, header=["乡镇代码", "乡镇名称", "村代码", "村名称", "农业人口"]), name="places.xlsx")
    assert places()[2] == [("420102100201", 2026, 1200), ("420102100202", 2026, 800)]


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_csv_in_gbk_and_with_bom(tmp_path, encoding):
    run(tmp_path, csv_bytes(GOOD, encoding=encoding))
    assert places()[0] == [("420102100", "城关镇"), ("420102200", "河口乡")]


BAD_ROWS = [
    # (row, expected stderr line)
    (["42010210", "城关镇", "420102100201", "东湖村", "10"], "第2行 township_code「42010210」：乡镇代码必须是9位数字"),
    (["420102100", "", "420102100201", "东湖村", "10"], "第2行 township_name「」：乡镇名称不能为空"),
    (["420102100", "城关镇", "42010210020", "东湖村", "10"], "第2行 village_code「42010210020」：村代码必须是12位数字"),
    (["420102100", "城关镇", "420102300201", "东湖村", "10"],
     "第2行 village_code「420102300201」：村代码的前9位必须是所属乡镇代码420102100"),
    (["420102100", "城关镇", "420102100201", "", "10"], "第2行 village_name「」：村名称不能为空"),
    (["420102100", "城关镇", "420102100201", "东湖村", "12.5"], "第2行 population「12.5」：农业人口必须是整数"),
    (["420102100", "城关镇", "420102100201", "东湖村", "-3"], "第2行 population「-3」：农业人口不能是负数"),
    (["420102100", "城关镇", "420102100201", "东湖村", "许多"], "第2行 population「许多」：农业人口不是有效的整数"),
    (["420102100", "城关镇", "420102100201", "东湖村", ""], "第2行 population「」：农业人口不能为空"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("row,line", BAD_ROWS)
def test_each_bad_kind_is_refused_with_row_column_value_and_reason(tmp_path, row, line):
    lines, message = refuse(tmp_path, csv_bytes([row] + GOOD[1:]))
    assert lines == [line]
    assert "整个文件未导入" in message
    assert places() == ([], [], [])


@pytest.mark.django_db
def test_every_bad_row_is_listed_and_nothing_is_written(tmp_path):
    rows = [
        GOOD[0],
        ["420102100", "城关镇", "420102100201", "东湖村", "5"],  # duplicate village code
        ["420102100", "关城镇", "420102100203", "南湖村", "5"],  # same township, other name
        GOOD[2][:4] + ["x"],
    ]
    lines, message = refuse(tmp_path, csv_bytes(rows))
    assert lines == [
        "第3行 village_code「420102100201」：村代码与第2行重复",
        "第4行 township_name「关城镇」：同一乡镇代码在第2行的名称是「城关镇」，名称不一致",
        "第5行 population「x」：农业人口不是有效的整数",
    ]
    assert "3行" in message
    assert places() == ([], [], [])


@pytest.mark.django_db
def test_refused_reimport_leaves_the_earlier_import_untouched(tmp_path):
    run(tmp_path, csv_bytes(GOOD))
    before = places()
    refuse(tmp_path, csv_bytes([["420102100", "新名字", "420102100201", "东湖村", "999"],
                                ["420102100", "新名字", "420102100202", "西湖村", "-1"]]))
    assert places() == before


@pytest.mark.django_db
@pytest.mark.parametrize("data,reason", [
    (csv_bytes(GOOD, header=["township_code", "township_name", "village_code", "village_name"]),
     "缺少必需的列「population」（也可写作「农业人口」）"),
    (csv_bytes([]), "文件中没有数据行"),
    (b"", "文件是空的"),
])
def test_wrong_headers_and_empty_files_are_refused(tmp_path, data, reason):
    lines, message = refuse(tmp_path, data)
    assert reason in "\n".join(lines) + message
    assert places() == ([], [], [])


@pytest.mark.django_db
def test_missing_file_and_bad_year_are_refused(tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_places", str(tmp_path / "nope.csv"), "--year", "2026")
    lines, message = refuse(tmp_path, csv_bytes(GOOD), year=1900)
    assert "年度不正确" in message
    assert places() == ([], [], [])


@pytest.mark.django_db
def test_command_line_exits_non_zero_and_writes_errors_to_stderr(tmp_path, capsys, monkeypatch):
    path = tmp_path / "places.csv"
    path.write_bytes(csv_bytes([GOOD[0][:4] + ["1.5"]]))
    # run_from_argv closes every connection when done; keep the test transaction's open
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "import_places", str(path), "--year", "2026"])
    assert exit_.value.code != 0
    assert "第2行 population「1.5」：农业人口必须是整数" in capsys.readouterr().err
    assert places() == ([], [], [])
