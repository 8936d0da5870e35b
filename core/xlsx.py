"""A streaming XLSX writer for exports of hundreds of thousands of rows: one sheet, every text cell
a string cell with the TEXT format, amounts as exact decimals with two places, dates as dates.

Why not XlsxWriter or openpyxl: they build each cell through several Python calls (about 12,000
and 8,000 rows/s of a 13-column roster on the bench machine, bench/exports.py); here a row is
one string template filled at once, so a county's roster is written at well above 50,000 rows/s.

What the file holds, and why it stays safe:
- text is written as an inline string cell (`t="inlineStr"`), never as a formula, a number or a
  link, whatever it begins with: "=1+2" typed as a name comes out as the text "=1+2", and an
  18-digit ID number keeps its last digits. Its cell has the TEXT format ("@"), so what someone
  types there later stays text too; an empty text is a blank TEXT cell.
- an amount is written as its decimal text ("380.00": no float on the way) with the format "0.00";
- a date is written as its day number with the format "yyyy-mm-dd".

`XlsxSheet` writes to a binary file object (a temporary file for a background export) and
streams the sheet through zlib, so its memory does not grow with the number of rows.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse

TEXT, MONEY, DATE = "text", "money", "date"  # the kinds of a column

# style indexes of styles.xml below (cellXfs)
_STYLE_TEXT, _STYLE_HEADER, _STYLE_MONEY, _STYLE_DATE = 1, 2, 3, 4
# What an XLSX file is, for every response that sends one.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(workbook, filename: str) -> HttpResponse:
    """An openpyxl workbook, or a file's bytes, sent as the attachment `filename`."""
    if not isinstance(workbook, bytes):
        buffer = io.BytesIO()
        workbook.save(buffer)
        workbook = buffer.getvalue()
    response = HttpResponse(workbook, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


_EPOCH = date(1899, 12, 30)  # Excel's day 0 (1900 date system, past its 1900-02-29 bug)
# characters XML 1.0 cannot hold: written as Excel's _xHHHH_ escapes, as Excel itself does
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ROW_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # the same, but the separator
_SEPARATOR = "\x00"  # joins a row's texts for one escape() call; never in stored text (PostgreSQL refuses it)

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name={name} sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
# cellXfs: 0 general, 1 text (numFmt 49 "@"), 2 bold text (the header), 3 "0.00" (numFmt 2), 4 yyyy-mm-dd
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>\
<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""
_SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" \
state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>"""


def column_letter(index: int) -> str:
    """A, B, ..., Z, AA, ... of a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _control_escape(text: str) -> str:
    return _CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


def _control_escape_row(text: str) -> str:
    return _ROW_CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


class XlsxSheet:
    """Write one sheet: `XlsxSheet(out, title, headers, kinds, widths)`, then `write_rows(rows)`
    (as often as needed), then `close()`. `kinds` gives each column's kind (TEXT, MONEY, DATE);
    a row holds str (or "" / None: blank) in TEXT columns, Decimal or None in MONEY columns and
    date or None in DATE columns. With `rendered`, every value is already the cell's text: an
    amount its decimal text with two places, a date its day number (`day_number`), "" blank."""

    def __init__(self, out, *, title: str, headers: Sequence[str], kinds: Sequence[str],
                 widths: Sequence[float] | None = None, rendered: bool = False, compresslevel: int = 1):
        if len(headers) != len(kinds):
            raise ValueError("one kind per header")
        self._zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        for name, content in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                              ("xl/workbook.xml", _WORKBOOK.format(name=quoteattr(_sheet_title(title)))),
                              ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/styles.xml", _STYLES)):
            self._zip.writestr(name, content)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._kinds = tuple(kinds)
        self._letters = [column_letter(i) for i in range(len(kinds))]
        self._templates: dict[tuple[bool, ...], bytes] = {}
        days: dict = {None: ""}
        amounts: dict = {None: ""}

        def day_text(value, days=days):
            text = days.get(value)
            if text is None:
                text = days[value] = day_number(value)
            return text

        def amount_text(value, amounts=amounts):
            text = amounts.get(value)
            if text is None:
                text = amounts[value] = _amount(value)
            return text

        self._converters = [] if rendered else [(i, day_text if kind == DATE else amount_text)
                                                 for i, kind in enumerate(kinds) if kind != TEXT]
        self.rows = 0  # data rows written
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{width}" customWidth="1"/>'
                       for i, width in enumerate(widths or ())) if widths else ""
        head = "".join(
            f'<c r="{letter}1" s="{_STYLE_HEADER}" t="inlineStr"><is><t>{_text(title)}</t></is></c>'
            for letter, title in zip(self._letters, headers))
        self._write(_SHEET_START + (f"<cols>{cols}</cols>" if cols else "")
                    + f'<sheetData><row r="1">{head}</row>')

    def _write(self, text: str) -> None:
        self._sheet.write(text.encode("utf-8"))

    def _template(self, present: tuple[bool, ...]) -> bytes:
        """The row's XML (UTF-8) with a %s for the row number in each cell reference and one for
        each present value, in order (`bytes % args`: one C call fills the row)."""
        cells = []
        for letter, kind, here in zip(self._letters, self._kinds, present):
            if not here:
                style = _STYLE_TEXT if kind == TEXT else (_STYLE_MONEY if kind == MONEY else _STYLE_DATE)
                cells.append(f'<c r="{letter}%s" s="{style}"/>')
            elif kind == TEXT:
                cells.append(f'<c r="{letter}%s" s="{_STYLE_TEXT}" t="inlineStr"><is><t xml:space="preserve">'
                             "%s</t></is></c>")
            else:
                style = _STYLE_MONEY if kind == MONEY else _STYLE_DATE
                cells.append(f'<c r="{letter}%s" s="{style}"><v>%s</v></c>')
        return ('<row r="%s">' + "".join(cells) + "</row>").encode("ascii")

    def write_rows(self, rows: Iterable[Sequence]) -> int:
        """Append rows; returns how many were written.

        The loop stays in C as much as it can: a row's values, as text, are joined by a separator
        that stored text never holds, escaped for XML and encoded in one call each and split
        again; which cells are blank picks the row's template (cached), and `template % values`
        fills it in one call.
        """
        templates, converters = self._templates, self._converters
        join, separator = _SEPARATOR.join, _SEPARATOR.encode()
        number = self.rows + 1
        start = number
        width = len(self._kinds)
        parts: list[bytes] = []
        for row in rows:
            number += 1
            if converters:
                row = list(row)
                for index, convert in converters:
                    row[index] = convert(row[index])
            try:
                joined = join(row)
            except TypeError:  # a None (or a number) in a text column: as text, None blank
                joined = join(["" if value is None else str(value) for value in row])
            escaped = escape(joined)
            if _ROW_CONTROL.search(joined):
                escaped = _control_escape_row(escaped)
            values = escaped.encode("utf-8").split(separator)
            if len(values) != width:  # a text held the separator itself: cell by cell
                values = [_text(value).encode("utf-8") if value not in (None, "") else b"" for value in row]
            present = tuple(map(bool, values))
            template = templates.get(present)
            if template is None:
                template = templates[present] = self._template(present)
            reference = b"%d" % number
            args = [reference]
            for value in values:
                args.append(reference)
                if value:
                    args.append(value)
            parts.append(template % tuple(args))
            if len(parts) == 2000:
                self._sheet.write(b"".join(parts))
                parts = []
        if parts:
            self._sheet.write(b"".join(parts))
        count = number - start
        self.rows += count
        return count

    def abandon(self) -> None:
        """Stop writing after a failure: the file is left incomplete (the caller discards it)."""
        try:
            self._sheet.close()
            self._zip.close()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        self._write("</sheetData></worksheet>")
        self._sheet.close()
        self._zip.close()


def _sheet_title(title: str) -> str:
    # Excel's limits: 31 characters, none of []:*?/\
    return re.sub(r"[\[\]:*?/\\]", "", title)[:31] or "Sheet1"


def _text(value) -> str:
    return _control_escape(escape(str(value)))


def _amount(value) -> str:
    if value == "":
        return ""
    if not isinstance(value, Decimal):
        raise TypeError(f"an amount is a Decimal, not {type(value).__name__}")
    return format(value.quantize(Decimal("0.01")), "f")


def day_number(value: date) -> str:
    """The text of a date's spreadsheet day number (1900 date system), e.g. 46027 for 2026-01-05."""
    if value == "":
        return ""
    if not isinstance(value, date):
        raise TypeError(f"a date column holds dates, not {type(value).__name__}")
    if hasattr(value, "date"):  # a datetime: its day
        value = value.date()
    return str((value - _EPOCH).days)
