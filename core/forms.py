"""Form fields shared by the clerk pages: dates, money, and several scanned documents at once."""
from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import NcmsError
from core.uploads import document_content_type


def date_input():
    """A browser date picker; its value is ISO (YYYY-MM-DD) whatever the page's language."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MoneyField(forms.DecimalField):
    """Decimal yuan with two places (fen), never negative."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs["error_messages"] = {
            "invalid": _("请输入金额，例如 380.00"),
            "max_decimal_places": _("金额最多两位小数（分）"),
            "min_value": _("金额不能为负数"),
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)

    def to_python(self, value):
        # 1,000.00 as a clerk may type it from a paper voucher
        if isinstance(value, str):
            value = value.strip().replace(",", "")
        return super().to_python(value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentsField(forms.FileField):
    """Several scans or documents at once, each a PDF, JPEG or PNG by its bytes and within
    `max_bytes()` (read when the form is checked, so a changed setting applies at once)."""

    def __init__(self, *, max_bytes: Callable[[], int], **kwargs):
        self.max_bytes = max_bytes
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, list | tuple) else ([data] if data else [])
        if not uploads and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        cleaned = [super(DocumentsField, self).clean(upload, initial) for upload in uploads]
        for upload in cleaned:
            try:
                document_content_type(upload, max_bytes=self.max_bytes())
            except NcmsError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return cleaned
