"""Forms of the facility page: suspend, reinstate, agreement period, inspections and documents.

Forms parse and give field-level messages; facilities/services.py decides and writes.
"""
from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import NcmsError
from core.forms import DocumentsField, MoneyField, date_input
from facilities.services import REASON_MAX

from .services import INSPECTORS_MAX, inspection_document_max_bytes

# Which field a service refusal belongs to (by NcmsError.code); the rest go on top of the form.
ERROR_FIELDS = {
    "reason_required": "reason",
    "reason_too_long": "reason",
    "inspectors_required": "inspectors",
    "inspectors_too_long": "inspectors",
    "findings_required": "findings",
    "bad_amounts": "penalty_amount",
    "file_too_large": "documents",
    "bad_file_type": "documents",
}


def add_service_error(form: forms.Form, error: NcmsError) -> None:
    field = ERROR_FIELDS.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


class SuspendForm(forms.Form):
    from_date = forms.DateField(label=_("暂停日期"), widget=date_input())
    reason = forms.CharField(label=_("暂停原因"), max_length=REASON_MAX)


class ReinstateForm(forms.Form):
    on_date = forms.DateField(label=_("恢复日期"), widget=date_input())
    reason = forms.CharField(label=_("恢复原因"), max_length=REASON_MAX)


class AgreementForm(forms.Form):
    agreement_start = forms.DateField(label=_("协议开始日期"), widget=date_input())
    agreement_end = forms.DateField(label=_("协议结束日期"), widget=date_input())
    reason = forms.CharField(label=_("变更原因"), max_length=REASON_MAX)

    def clean(self):
        data = super().clean()
        start, end = data.get("agreement_start"), data.get("agreement_end")
        if start and end and end < start:
            self.add_error("agreement_end", _("协议结束日期早于开始日期"))
        return data


class InspectionForm(forms.Form):
    inspected_on = forms.DateField(label=_("检查日期"), widget=date_input())
    inspectors = forms.CharField(label=_("检查人员"), max_length=INSPECTORS_MAX)
    findings = forms.CharField(label=_("检查发现"), widget=forms.Textarea(attrs={"rows": 4}))
    penalty_amount = MoneyField(label=_("处罚金额（元）"), required=False)
    deduct_from_settlements = forms.BooleanField(label=_("从该机构后续结算款中扣减"), required=False)
    documents = DocumentsField(label=_("检查材料（PDF/JPEG/PNG）"), max_bytes=inspection_document_max_bytes)


class InspectionDocumentForm(forms.Form):
    documents = DocumentsField(label=_("检查材料（PDF/JPEG/PNG）"), max_bytes=inspection_document_max_bytes, required=True)
