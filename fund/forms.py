"""Forms of the fund pages: parse and check what a clerk typed; the services decide."""
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
