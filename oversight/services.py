"""Writes of facility oversight: inspections (监督检查) with findings, penalty and documents."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from core.errors import NcmsError
from core.uploads import document_content_type
from facilities.models import Facility

from .models import Inspection, InspectionDocument

DEFAULT_INSPECTION_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
INSPECTORS_MAX = 200


def inspection_document_max_bytes() -> int:
    return getattr(settings, "INSPECTION_DOCUMENT_MAX_BYTES", DEFAULT_INSPECTION_DOCUMENT_MAX_BYTES)


@transaction.atomic
def inspection_document_add(*, user, inspection: Inspection, upload) -> InspectionDocument:
    """Attach a document (report, penalty decision, photo) to an inspection."""
    content_type = document_content_type(upload, max_bytes=inspection_document_max_bytes())
    name = getattr(upload, "name", "") or ""
    document = InspectionDocument(inspection=inspection, file=upload, original_name=name[-200:],
                                  content_type=content_type, size=upload.size, uploaded_by=user)
    document._history_user = user
    document.save()
    return document


@transaction.atomic
def inspection_record(
    *, user, facility: Facility, inspected_on: date, inspectors: str, findings: str,
    penalty_amount: Decimal = Decimal("0.00"), deduct_from_settlements: bool = False,
    documents=(),
) -> Inspection:
    """Record an inspection of a facility with its findings, penalty and documents, all or nothing.

    A penalty to be deducted from the facility's next settlements stays outstanding
    (`Inspection.outstanding_deduction`) until the fund withholds it; a deduction needs a penalty.
    Every document is checked before anything is written.
    """
    inspectors = (inspectors or "").strip()
    findings = (findings or "").strip()
    if inspected_on is None:
        raise NcmsError("请填写检查日期", code="bad_dates")
    if not inspectors:
        raise NcmsError("请填写检查人员", code="inspectors_required")
    if len(inspectors) > INSPECTORS_MAX:
        raise NcmsError(f"检查人员不能超过{INSPECTORS_MAX}个字", code="inspectors_too_long")
    if not findings:
        raise NcmsError("请填写检查发现", code="findings_required")
    if penalty_amount is None:
        penalty_amount = Decimal("0.00")
    if not isinstance(penalty_amount, Decimal) or not penalty_amount.is_finite():
        raise NcmsError("处罚金额不是有效的金额", code="bad_amounts")
    if penalty_amount < 0:
        raise NcmsError("处罚金额不能为负数", code="bad_amounts")
    if penalty_amount != penalty_amount.quantize(Decimal("0.01")):
        raise NcmsError("处罚金额最多两位小数", code="bad_amounts")
    if deduct_from_settlements and penalty_amount == 0:
        raise NcmsError("没有处罚金额，无法从结算款中扣减", code="bad_amounts")
    for upload in documents:
        document_content_type(upload, max_bytes=inspection_document_max_bytes())
    inspection = Inspection(
        facility=facility, date=inspected_on, inspectors=inspectors, findings=findings,
        penalty_amount=penalty_amount.quantize(Decimal("0.01")),
        deduct_from_settlements=deduct_from_settlements, recorded_by=user,
    )
    inspection._history_user = user
    inspection._change_reason = "记录监督检查"
    inspection.save()
    for upload in documents:
        inspection_document_add(user=user, inspection=inspection, upload=upload)
    return inspection
