"""core.tabular: the file reader under every import."""
import io
from datetime import date

import pytest
from openpyxl import Workbook

from core.tabular import NumericCell, TableError, read_table


def xlsx_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_clerks_send(encoding):
    data = "姓名,身份证号\n张三,11010519491231002X\n".encode(encoding)
    table = read_table(data, "名册.csv")
    assert table.headers == ["姓名", "身份证号"]
    assert table.rows == [["张三", "11010519491231002X"]]


def test_xlsx_numbers_are_marked_numeric_and_dates_are_iso():
    data = xlsx_bytes([["身份证号", "缴费金额", "缴费日期"], [420102199001011234, 380.0, date(2026, 1, 5)],
                       [4.20102199001011e17, 380.5, "2026-01-06"]])
    table = read_table(data, "r.xlsx")
    first, second = table.rows
    # an 18-digit integer is kept by Excel as a double: it comes back numeric and already rounded
    assert isinstance(first[0], NumericCell) and first[0] != "420102199001011234"
    assert first[1] == "380" and first[2] == "2026-01-05"
    assert second[0] == "4.20102199001011E+17"
    assert second[2] == "2026-01-06" and not isinstance(second[2], NumericCell)


def test_blank_trailing_rows_are_dropped():
    table = read_table("a,b\n1,2\n,\n\n".encode(), "x.csv")
    assert table.rows == [["1", "2"]]


@pytest.mark.parametrize("data,name,reason", [(b"", "x.csv", "空"), (b"PK\x03\x04broken", "x.xlsx", "XLSX"),
                                               (b"\xff\xfe\x00\x81\x30", "x.csv", "编码"), (b"a", "x.xls", ".xls")])
def test_unreadable_files_are_refused_with_words(data, name, reason):
    with pytest.raises(TableError, match=reason):
        read_table(data, name)
