"""Forms of the fund pages: parse and check what a clerk typed; the services decide."""
import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import MoneyField, date_input
from ledger.models import IncomeSource
from places.models import Township


def _this_year() -> int:
    return timezone.localdate().year


class _Booking(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100, initial=_this_year)
    # the date picker's value is ISO whatever the language (a localised 2026/12/05 shows empty)
    date = forms.DateField(label=_("日期"), initial=timezone.localdate, widget=date_input())
    amount = MoneyField(label=_("金额（元）"))
    ref = forms.CharField(label=_("业务号"), max_length=80,
                          help_text=_("到账或划拨凭证上的编号，如财政拨款文号、银行回单号；同一业务号只能记账一次，"
                                      "防止同一笔钱记两次"))


class IncomeForm(_Booking):
    source = forms.ChoiceField(label=_("收入来源"), choices=IncomeSource.choices)
    field_order = ["year", "date", "source", "amount", "ref"]


class TransferForm(_Booking):
    pass


class PayoutFilterForm(forms.Form):
    q = forms.CharField(label=_("发票号/姓名/户号"), required=False, max_length=60)
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100)
    township = forms.ModelChoiceField(label=_("乡镇"), queryset=Township.objects.order_by("code"), required=False,
                                      empty_label=_("全部乡镇"))


def add_service_error(form, error) -> None:
    form.add_error(None, error.message)


class RefundForm(forms.Form):
    """A household's refund of a township-channel recovery (退款): fund.refunds decides."""

    amount = MoneyField(label=_("退款金额（元）"), error_messages={"required": _("请填写退款金额")})
    date = forms.DateField(label=_("到账日期"), initial=timezone.localdate, widget=date_input(),
                           error_messages={"required": _("请填写到账日期"), "invalid": _("日期格式应为 YYYY-MM-DD")})
    ref = forms.CharField(label=_("业务号（收据号）"), max_length=80, error_messages={"required": _("请填写业务号")})


class DraftFacts(forms.Form):
    """A draft's name, the year whose claims it is tried on, and the projection's assumptions;
    `cleaned_data["assumptions"]` holds the assumptions given, as text of Decimals."""

    name = forms.CharField(label=_("草案名称"), max_length=200)
    base_year = forms.IntegerField(label=_("测算年度"), min_value=2000, max_value=2100, initial=_this_year)
    cost_growth = forms.DecimalField(label=_("费用增长（%）"), required=False, max_digits=6, decimal_places=2,
                                     min_value=-50, max_value=200)
    participation_change = forms.DecimalField(label=_("参合人数变化（%）"), required=False, max_digits=6,
                                              decimal_places=2, min_value=-50, max_value=200)

    def clean(self):
        data = super().clean()
        data["assumptions"] = {key: str(data[key]) for key in ("cost_growth", "participation_change")
                               if data.get(key) is not None}
        return data


class PolicyDraftForm(DraftFacts):
    """A draft policy as a whole file: its JSON pasted or the file uploaded. The document is
    checked by the services (parse_policy)."""

    document = forms.CharField(label=_("政策文件（JSON）"), required=False,
                               widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "spellcheck": "false"}))
    upload = forms.FileField(label=_("或上传政策文件"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload is not None:
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("文件不是 UTF-8 编码的文本")) from None
        else:
            text = data.get("document") or ""
        if not text.strip():
            raise forms.ValidationError(_("请填写或上传政策文件"))
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("不是有效的 JSON：第%(line)s行第%(column)s列，%(message)s") % {
                "line": exc.lineno, "column": exc.colno, "message": exc.msg}) from None
        if not isinstance(document, dict):
            raise forms.ValidationError(_("政策文件应为一个 JSON 对象"))
        data["parsed"] = document
        return data


class AdoptForm(forms.Form):
    year = forms.IntegerField(label=_("采用为哪一年度的方案"), min_value=2000, max_value=2100)
