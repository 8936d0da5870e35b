"""core.xlsx: the streaming writer keeps text as text, amounts exact with two places, dates as dates,
blanks blank, and text that XML cannot hold readable."""
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from core.xlsx import DATE, MONEY, TEXT, XlsxSheet, column_letter, day_number


def written(rows, kinds, *, rendered=False):
    out = io.BytesIO()
    sheet = XlsxSheet(out, title="表:1/2", headers=[f"列{i}" for i in range(len(kinds))], kinds=kinds,
                      widths=[12] * len(kinds), rendered=rendered)
    assert sheet.write_rows(rows) == len(rows)
    sheet.close()
    book = load_workbook(io.BytesIO(out.getvalue()))
    return book.worksheets[0]


def test_text_stays_text_whatever_it_begins_with():
    texts = ["=1+2", '=HYPERLINK("http://evil.example/","银行")', "+86", "-1", "@SUM(A1)",
             "420102197001010011", "0012", "a < b & c > d", " 前后空格 "]
    sheet = written([(text,) for text in texts], [TEXT])
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [(cell.value, cell.data_type, cell.number_format) for cell in cells] == \
        [(text, "s", "@") for text in texts]
    assert sheet.title == "表12"
    assert [(cell.value, cell.font.b) for cell in sheet[1]] == [("列0", True)]


def test_amounts_dates_and_blanks():
    rows = [("甲", Decimal("380.00"), date(2026, 1, 5)), ("乙", Decimal("123.45"), None), ("", None, date(1900, 3, 1)),
            (None, Decimal("9999999999999.99"), datetime(2026, 2, 3, 0, 0))]
    sheet = written(rows, [TEXT, MONEY, DATE])
    values = [[(cell.value, cell.number_format) for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert values == [
        [("甲", "@"), (380, "0.00"), (datetime(2026, 1, 5), "yyyy-mm-dd")],
        [("乙", "@"), (123.45, "0.00"), (None, "yyyy-mm-dd")],
        [(None, "@"), (None, "0.00"), (datetime(1900, 3, 1), "yyyy-mm-dd")],
        [(None, "@"), (9999999999999.99, "0.00"), (datetime(2026, 2, 3), "yyyy-mm-dd")],
    ]


def test_amounts_are_written_as_their_exact_decimal_text():
    out = io.BytesIO()
    sheet = XlsxSheet(out, title="t", headers=["a"], kinds=[MONEY])
    sheet.write_rows([(Decimal("0.1"),), (Decimal("12345678901234.56"),)])
    sheet.close()
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>0.10</v>" in xml and "<v>12345678901234.56</v>" in xml


def test_rendered_rows_are_written_as_given():
    sheet = written([("甲", "380.00", day_number(date(2026, 1, 5))), ("乙", "", "")], [TEXT, MONEY, DATE],
                    rendered=True)
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert values == [["甲", 380, datetime(2026, 1, 5)], ["乙", None, None]]


def test_characters_xml_cannot_hold_and_the_separator_are_kept_readable():
    rows = [("响铃\x07字", "b"), ("含\x00分隔", "<c>")]
    sheet = written(rows, [TEXT, TEXT])
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert values[0] == ["响铃_x0007_字", "b"]  # the escape Excel reads back as the character
    assert values[1][1] == "<c>" and values[1][0].startswith("含") and values[1][0].endswith("分隔")


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
