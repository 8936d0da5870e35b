"""What an uploaded file is, by its content (never its name or the browser's Content-Type).

- Scans and documents (claims, inspections): PDF, JPEG or PNG by their first bytes
  (`document_content_type`), for claims' scans and inspections' documents alike.
- Roster files (enrollment.views_import): an XLSX must be a zip holding a workbook; a CSV must be
  text (UTF-8 or GB18030, no NUL or other control bytes) and not markup. The roster importer
  picks its parser by the name, so the content must also agree with the name.

Files are stored under MEDIA_ROOT, outside STATIC_ROOT, and served only by views that apply the
user's scope (claims.views.document_download, oversight.views.inspection_document_download);
no URL serves MEDIA_URL.
"""
from __future__ import annotations

import os
import zipfile

from django.utils.translation import gettext as _

from core.errors import NcmsError

ZIP_MAGIC = b"PK\x03\x04"
TEXT_SAMPLE_BYTES = 64 * 1024
# Bytes that never appear in a spreadsheet saved as CSV text (tab, CR, LF and form feed may).
CONTROL_BYTES = frozenset(range(0, 32)) - {9, 10, 12, 13}
# Files that may look like text at their start but are not: PDF, zip/XLSX, old .xls (OLE), Windows
# and Linux programs, images.
BINARY_SIGNATURES = (b"%PDF-", ZIP_MAGIC, b"\xd0\xcf\x11\xe0", b"MZ", b"\x7fELF", b"\x89PNG",
                     b"\xff\xd8\xff", b"GIF8", b"%!PS")


# Scans: the signatures of the file types a scan may be, by its first bytes.
SCAN_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


# The extension a stored scan is saved under: the one of its detected type, never the uploaded
# name's (a PNG signature followed by HTML, named evil.html, is stored as ….png).
SCAN_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def stored_name(name: str, content_type: str) -> str:
    """The name a scan is stored under: the uploaded name's stem (the storage cleans it further)
    with the extension of `content_type`, its detected type."""
    stem = os.path.splitext(os.path.basename(name or ""))[0].strip(". ") or "document"
    return stem[:80] + SCAN_EXTENSIONS[content_type]


def scan_content_type(head: bytes) -> str | None:
    """The type of a scan by its first bytes (PDF, JPEG or PNG), whatever its name claims;
    None for anything else."""
    for signature, content_type in SCAN_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def is_xlsx(data_head: bytes, upload) -> bool:
    """An Office Open XML workbook: a zip archive with [Content_Types].xml and xl/workbook.xml."""
    if not data_head.startswith(ZIP_MAGIC):
        return False
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


def _decode_sample(sample: bytes) -> str | None:
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return sample.decode(encoding)
        except UnicodeDecodeError as exc:
            # The sample may end inside a multi-byte character: accept a cut at the very end.
            if exc.start >= len(sample) - 3:
                try:
                    return sample[:exc.start].decode(encoding)
                except UnicodeDecodeError:
                    continue
    return None


def is_csv_text(sample: bytes) -> bool:
    """Plain text a spreadsheet could have saved: decodes, no control bytes, not HTML/XML."""
    if sample.startswith(BINARY_SIGNATURES) or any(byte in CONTROL_BYTES for byte in sample):
        return False
    text = _decode_sample(sample)
    if text is None:
        return False
    return not text.lstrip("\ufeff \t\r\n").startswith("<")


def roster_file_kind(upload) -> str:
    """"xlsx" or "csv" for a roster upload whose content agrees with its name; NcmsError otherwise
    (code bad_file_type), with a message the clerk can act on."""
    name = os.path.basename(getattr(upload, "name", "") or "")
    extension = os.path.splitext(name)[1].lower()
    if extension not in {".csv", ".xlsx"}:
        raise NcmsError(_("只能上传 CSV 或 XLSX 文件（.xls 请先另存为 .xlsx）"), code="bad_file_type")
    upload.seek(0)
    sample = upload.read(TEXT_SAMPLE_BYTES)
    upload.seek(0)
    if extension == ".xlsx":
        if not is_xlsx(sample, upload):
            raise NcmsError(_("文件「%(name)s」的内容不是 XLSX 表格，请用 Excel 另存为 .xlsx 后再上传")
                            % {"name": name}, code="bad_file_type")
        return "xlsx"
    if not is_csv_text(sample):
        raise NcmsError(_("文件「%(name)s」的内容不是 CSV 文本，请用 Excel 另存为 CSV（UTF-8）后再上传")
                        % {"name": name}, code="bad_file_type")
    return "csv"


def document_content_type(upload, *, max_bytes: int) -> str:
    """The content type of an uploaded scan or document (a claim's invoices, an inspection's
    report): PDF, JPEG or PNG by its first bytes, whatever its name says, and at most `max_bytes`
    long; NcmsError (file_too_large, bad_file_type) in words the clerk can act on otherwise."""
    name = os.path.basename(getattr(upload, "name", "") or "")
    if upload.size > max_bytes:
        raise NcmsError(_("文件「%(name)s」太大（%(kb)s KB），最大 %(mb)s MB")
                        % {"name": name, "kb": upload.size // 1024, "mb": max_bytes // 1024 // 1024},
                        code="file_too_large")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = scan_content_type(head)
    if content_type is None:
        raise NcmsError(_("文件「%(name)s」不是 PDF、JPEG 或 PNG 格式的扫描件") % {"name": name},
                        code="bad_file_type")
    return content_type


__all__ = ["SCAN_EXTENSIONS", "SCAN_SIGNATURES", "document_content_type", "is_csv_text", "is_xlsx", "roster_file_kind",
           "scan_content_type", "stored_name"]
