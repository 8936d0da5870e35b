"""Scans attached to a claim (docs/rules.md, "Claims": the invoices and papers a township office
keeps with a claim): PDF, JPEG or PNG by their first bytes (`core.uploads.document_content_type`),
within the size limit, and never on a claim that is paid or rejected.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from core.errors import NcmsError
from core.uploads import document_content_type

from .models import Claim, ClaimDocument, ClaimStatus

DEFAULT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def document_max_bytes() -> int:
    """The largest scan accepted (settings.CLAIM_DOCUMENT_MAX_BYTES, 10 MB unless set)."""
    return getattr(settings, "CLAIM_DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)


@transaction.atomic
def claim_document_add(*, user, claim: Claim, upload) -> ClaimDocument:
    """Attach a scan (PDF/JPEG/PNG by its first bytes, not its name) within the size limit."""
    if claim.status in (ClaimStatus.PAID, ClaimStatus.REJECTED):
        raise NcmsError("已兑付或不予补偿的申请不能再添加材料", code="bad_transition")
    content_type = document_content_type(upload, max_bytes=document_max_bytes())
    name = getattr(upload, "name", "") or ""
    return ClaimDocument.objects.create(claim=claim, file=upload, original_name=name[-200:],
                                        content_type=content_type, size=upload.size, uploaded_by=user)
