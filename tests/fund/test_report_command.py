"""python manage.py fund_report: JSON shape, XLSX read back, PDF text."""
import io
import json
import subprocess
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from fund.report import COLUMNS, monthly_report
from tests.fund.test_report import county  # noqa: F401  (the hand-built county fixture)


def test_json_to_stdout_is_the_contract_shape(county):  # noqa: F811
    out = io.StringIO()
    call_command("fund_report", "--year", "2026", "--month", "3", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"year", "month", "rows", "warnings"}
    assert (data["year"], data["month"]) == (2026, 3)
    assert [row["township"] for row in data["rows"]] == ["420102100", "420102200", "420102300", "county"]
    for row in data["rows"]:
        assert list(row) == ["township", *COLUMNS]
        assert all(value is None or isinstance(value, str) for value in row.values())
    assert data["rows"][-1]["compensation_ytd"] == "1160.01"
    assert data["rows"][-1]["fund_usage_rate"] == "0.3986"
    assert data == monthly_report(year=2026, month=3)
    assert {w["kind"] for w in data["warnings"]} == {"overspending", "low_participation"}


def test_json_to_file(county, tmp_path):  # noqa: F811
    target = tmp_path / "r.json"
    call_command("fund_report", "--year", "2026", "--month", "3", "--output", str(target))
    assert json.loads(target.read_text(encoding="utf-8")) == monthly_report(year=2026, month=3)


def test_xlsx_reads_back(county, tmp_path):  # noqa: F811
    target = tmp_path / "r.xlsx"
    call_command("fund_report", "--year", "2026", "--month", "3", "--format", "xlsx", "--output", str(target))
    sheet = load_workbook(target).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][:5] == ["乡镇代码", "乡镇名称", "农业人口", "参合人数", "参合率"]
    assert all(not str(header).isascii() for header in values[0])  # Chinese headers only, no row of keys
    keys = ["township", "name", *COLUMNS]
    by_code = {row[0]: dict(zip(keys, row)) for row in values[1:]}
    assert list(by_code) == ["420102100", "420102200", "420102300", "全县"]
    county_row = by_code["全县"]
    # openpyxl reads numbers back as float: compare the exact text of the JSON
    expected = monthly_report(year=2026, month=3)["rows"][-1]
    for key in COLUMNS:  # openpyxl reads numbers back as int/float: compare as decimals
        got, want = county_row[key], expected[key]
        assert (got is None and want is None) or Decimal(str(got)) == Decimal(want), key
    assert county_row["compensation_ytd"] == 1160.01
    assert by_code["420102300"]["participation_rate"] is None
    warnings = list(load_workbook(target)["预警"].iter_rows(values_only=True))
    assert warnings[0] == ("类型", "乡镇", "说明")
    assert warnings[1][:2] == ("基金超支风险", "示范县") and "基金有超支风险" in warnings[1][2]
    assert all(kind not in str(warnings) for kind in ("overspending", "underuse", "low_participation"))


def test_pdf_contains_fund_and_township_names(county, tmp_path):  # noqa: F811
    target = tmp_path / "r.pdf"
    call_command("fund_report", "--year", "2026", "--month", "3", "--format", "pdf", "--output", str(target))
    assert target.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, check=True, text=True).stdout
    assert "基金" in text
    assert "城关镇" in text and "河口乡" in text
    assert "1,160.01" in text


def test_bad_month_is_an_error(db):
    with pytest.raises(CommandError, match="月份 13"):
        call_command("fund_report", "--year", "2026", "--month", "13")
