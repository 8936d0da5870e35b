"""Read the spreadsheets clerks send: CSV (UTF-8 with or without BOM, GBK/GB18030) and XLSX; and
write text the spreadsheets we send keep as text (`text_cell`, `TextCellsResource`).

Every cell comes back as text, so callers validate one kind of value. A cell that a spreadsheet
stored as a number (XLSX numeric cell) comes back as `NumericCell`, a str subclass, so that an ID
column can refuse it: an 18-digit ID kept as a number has already lost its last digits.
"""
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from import_export import resources

from core.errors import NcmsError

# --- writing: text stays text ---------------------------------------------------------------------
# A cell that begins with one of these is a formula to Excel, LibreOffice and WPS when the file is a
# CSV or the writer cannot mark the cell as a string (openpyxl, tablib): a bank name typed as
# =HYPERLINK("http://evil.example/","农村商业银行") would become a link on the fund office's computer.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value):
    """The value to write in a spreadsheet cell: text that a spreadsheet would read as a formula gets
    a leading apostrophe (shown, never evaluated); anything else unchanged. Every writer of the
    project's CSV/XLSX files passes its text through here, except `enrollment.resources.xlsx_bytes`
    and `core.xlsx.XlsxSheet`, which type every text cell as a string (never a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def untext_cell(value):
    """The reverse on import: a file we exported reads back as what was stored."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_LEADS):
        return value[1:]
    return value


class TextCellsResource(resources.ModelResource):
    """A django-import-export resource whose exported text is `text_cell` (the admin's export in any
    format) and whose import takes such cells back (a file exported here imports unchanged)."""

    def export_field(self, field, instance, **kwargs):
        return text_cell(super().export_field(field, instance, **kwargs))

    def before_import_row(self, row, **kwargs):
        for key, value in list(row.items()):
            row[key] = untext_cell(value)
        return super().before_import_row(row, **kwargs)



class NumericCell(str):
    """Text of a cell the spreadsheet stored as a number."""


class TableError(NcmsError):
    """The file as a whole cannot be read (empty, wrong type, undecodable)."""

    def __init__(self, message: str):
        super().__init__(message, code="bad_file")


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]  # data rows; rows[i] is spreadsheet row i + 2
    encoding: str  # "xlsx" or the text encoding used


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"  # a superset of GBK, what Chinese Excel saves
    except UnicodeDecodeError as exc:
        raise TableError("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX 文件") from exc


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return NumericCell("1" if value else "0")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same double: 380.0, 4.20102199001011e+17
        return NumericCell(repr(value).upper() if "e" in repr(value) else repr(value))
    if isinstance(value, int):
        return NumericCell(str(value))
    return str(value).strip()


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """Drop fully blank trailing rows (spreadsheets keep formatted empty rows)."""
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    return rows


def read_table(data: bytes, filename: str) -> Table:
    """Read a CSV or XLSX file given as bytes. Raises TableError for a file that cannot be read."""
    name = (filename or "").lower()
    if not data:
        raise TableError("文件是空的")
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if name.endswith(".xls"):
        raise TableError("不支持旧版 .xls 文件：请在表格软件中另存为 .xlsx 或 CSV")
    text, encoding = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    strip = str.strip
    rows = _trim([list(map(strip, row)) for row in reader])  # map: a C loop per row
    if not rows:
        raise TableError("文件是空的")
    headers = [h.strip() for h in rows[0]]
    return Table(headers=headers, rows=[_pad(row, len(headers)) for row in rows[1:]], encoding=encoding)


def _pad(row: list[str], width: int) -> list[str]:
    return row + [""] * (width - len(row)) if len(row) < width else row


def _read_xlsx(data: bytes) -> Table:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise TableError("无法读取 XLSX 文件：文件已损坏或不是 Excel 工作簿") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = _trim([[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)])
    finally:
        workbook.close()
    if not rows:
        raise TableError("文件是空的")
    headers = [str(h).strip() for h in rows[0]]
    while headers and headers[-1] == "":
        headers.pop()
    return Table(headers=headers, rows=[_pad(row, len(headers)) for row in rows[1:]], encoding="xlsx")


# --- row errors and header mapping, shared by every file import ---------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded table, in the contract's words: row, column, value, reason."""

    row: int  # spreadsheet row number: header is row 1, first data row 2 (0: the whole file)
    column: str  # the header as the file gives it ("" when the problem is the whole row/file)
    value: str
    reason: str  # Chinese words a clerk understands

    def __str__(self) -> str:
        if self.row <= 0:
            return self.reason
        if not self.column:
            return f"第{self.row}行：{self.reason}"
        return f"第{self.row}行 {self.column}「{self.value}」：{self.reason}"


@dataclass(frozen=True)
class ErrorGroup:
    """The problems of a refused file that share a column and a reason: how many, and the first
    few rows they are on (a file with thousands of bad rows usually has a few kinds of mistake)."""

    column: str
    reason: str
    count: int
    rows: tuple[int, ...]

    def __str__(self) -> str:
        rows = "、".join(str(row) for row in self.rows)
        more = "等" if self.count > len(self.rows) else ""
        where = f"（第{rows}行{more}）" if rows else ""
        column = f"{self.column}：" if self.column else ""
        return f"{column}{self.reason} {self.count}处{where}"


def _error_fields(error) -> tuple[int, str, str]:
    """(row, column, reason) of a RowError, of its stored dict, or of a line error of a JSON-lines
    file (`line`, `field`)."""
    if isinstance(error, dict):  # as an import job stores them
        return error.get("row", 0), error.get("column", ""), error.get("reason", "")
    row = getattr(error, "row", None)
    if row is None:
        return getattr(error, "line", 0), getattr(error, "field", ""), error.reason
    return row, error.column, error.reason


def group_errors(errors: Iterable, *, first_rows: int = 5) -> list[ErrorGroup]:
    """The errors (RowError, or their stored dicts) grouped by (column, reason), the largest group
    first (then by the first row it is on), each with its count and its first `first_rows` rows."""
    counts: dict[tuple[str, str], int] = {}
    rows: dict[tuple[str, str], list[int]] = {}
    for error in errors:
        row, column, reason = _error_fields(error)
        key = (column, reason)
        counts[key] = counts.get(key, 0) + 1
        listed = rows.setdefault(key, [])
        if len(listed) < first_rows and row > 0 and row not in listed:
            listed.append(row)
    order = sorted(counts, key=lambda key: (-counts[key], rows[key][0] if rows[key] else 0))
    return [ErrorGroup(column, reason, counts[(column, reason)], tuple(rows[(column, reason)]))
            for column, reason in order]


def errors_summary(errors: list, *, groups: int = 10, repeats_only: bool = False) -> str:
    """One line saying how many problems there are of each kind (the `groups` largest kinds);
    with `repeats_only`, "" when no kind repeats (each line already says it all)."""
    grouped = group_errors(errors)
    if repeats_only and all(group.count == 1 for group in grouped):
        return ""
    text = "；".join(str(group) for group in grouped[:groups])
    if len(grouped) > groups:
        text += f"；另有{len(grouped) - groups}类问题"
    return f"按原因汇总：{text}" if text else ""


class TableInvalid(NcmsError):
    """A file refused whole; `.errors` lists every invalid row (nothing was written)."""

    def __init__(self, errors: list[RowError], *, what: str):
        self.errors = errors
        rows = {e.row for e in errors if e.row > 1}
        if rows:
            message = f"{what}有{len(rows)}行不符合要求，整个文件未导入；请改正后重新导入"
        else:
            message = f"{what}不符合要求，未导入：" + "；".join(e.reason for e in errors)
        super().__init__(message, code="invalid_file")


def map_headers(
    table: Table, columns: Iterable[tuple[str, tuple[str, ...], bool]]
) -> tuple[dict[str, int], dict[str, str], list[RowError]]:
    """Find each field's column by any of its accepted headers (case-insensitive).

    `columns` holds (field, accepted headers, required). Returns the field -> column index map,
    the field -> header-as-written map, and errors for missing or repeated columns (row 1).
    """
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    errors: list[RowError] = []
    lookup: dict[str, str] = {}
    for field, headers, _required in columns:
        for header in headers:
            lookup[header.strip().lower()] = field
    for position, header in enumerate(table.headers):
        field = lookup.get(header.strip().lower())
        if field is None:
            continue
        if field in index:
            errors.append(RowError(1, header, header, "列重复"))
            continue
        index[field] = position
        written[field] = header
    for field, headers, required in columns:
        if required and field not in index:
            errors.append(RowError(1, "", "", f"缺少必需的列「{headers[0]}」（也可写作「{headers[1]}」）"))
        written.setdefault(field, headers[0])
    return index, written, errors


def whole_number(raw: str) -> int:
    """A whole number ≥ 0 from a cell; a spreadsheet number 120.0 counts as 120.

    Raises ValueError with the reason.
    """
    text = raw.strip().replace(",", "")
    if isinstance(raw, NumericCell) and re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    if text == "":
        raise ValueError("不能为空")
    if re.fullmatch(r"-\d+(\.\d+)?", text):
        raise ValueError("不能是负数")
    if re.fullmatch(r"\d+\.\d+", text):
        raise ValueError("必须是整数")
    if not re.fullmatch(r"\d+", text):
        raise ValueError("不是有效的整数")
    return int(text)


def code_cell(raw: str) -> str:
    """A code cell as text; a spreadsheet number 420102100.0 counts as 420102100."""
    text = raw.strip()
    if isinstance(raw, NumericCell) and re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text
