"""Scans attached to a claim (docs/domain.md, "Claims": the invoices and papers a township office
keeps with a claim): PDF, JPEG or PNG by their first bytes (`ncms.uploads.scan_content_type`),
within the size limit, and never on a claim that is paid or rejected.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from ncms.errors import NcmsError
from ncms.uploads import scan_content_type

from .models import Claim, ClaimDocument, ClaimStatus

DEFAULT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def document_max_bytes() -> int:
    """The largest scan accepted (settings.CLAIM_DOCUMENT_MAX_BYTES, 10 MB unless set)."""
    return getattr(settings, "CLAIM_DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)


@transaction.atomic
def claim_document_add(*, user, claim: Claim, upload) -> ClaimDocument:
    """Attach a scan (PDF/JPEG/PNG by its first bytes, not its name) within the size limit."""
    limit = document_max_bytes()
    if claim.status in (ClaimStatus.PAID, ClaimStatus.REJECTED):
        raise NcmsError("已兑付或不予补偿的申请不能再添加材料", code="bad_transition")
    size = upload.size
    if size > limit:
        raise NcmsError(f"文件太大（{size // 1024} KB），最大 {limit // 1024 // 1024} MB", code="file_too_large")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = scan_content_type(head)
    if content_type is None:
        raise NcmsError("只能上传 PDF、JPEG 或 PNG 格式的扫描件", code="bad_file_type")
    name = getattr(upload, "name", "") or ""
    return ClaimDocument.objects.create(claim=claim, file=upload, original_name=name[-200:],
                                        content_type=content_type, size=size, uploaded_by=user)
