from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import MoneyField
from facilities.models import Facility

HONEYPOT = "website"


class _CaseForm(forms.Form):
    text = forms.CharField(label=_("您的意见"), widget=forms.Textarea(attrs={"rows": 5}), max_length=2000)
    phone = forms.CharField(label=_("联系电话（可不填）"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    anonymous = forms.BooleanField(label=_("匿名提交（不留电话）"), required=False)
    # the honeypot: hidden from people by CSS, filled in by bots
    website = forms.CharField(label=_("网址（请勿填写）"), required=False,
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))


class ObjectionForm(_CaseForm):
    pass


class ReportForm(_CaseForm):
    facility = forms.ModelChoiceField(label=_("被举报的医疗机构"), required=False,
                                      queryset=Facility.objects.order_by("code"), empty_label=_("（请选择）"))
    invoice_no = forms.CharField(label=_("或填写发票号"), required=False, max_length=60)
    field_order = ["facility", "invoice_no", "text", "phone", "anonymous", "website"]


class StatusForm(forms.Form):
    code = forms.CharField(label=_("查询码"), max_length=20,
                           widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}))


class LookupForm(forms.Form):
    id_number = forms.CharField(label=_("身份证号"), max_length=18,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    name = forms.CharField(label=_("姓名"), max_length=30, widget=forms.TextInput(attrs={"autocomplete": "off"}))


class PolicyCalculatorForm(forms.Form):
    """The public policy page's calculator (GET: it writes nothing): the facility's level, the
    bill's total and self-paid parts, the referral and the group. The amounts' other refusals
    (self-paid above the total, above the plausibility ceiling) are the claims' own
    (`publicity.policy_words.quote`)."""

    level = forms.ChoiceField(label=_("住院的医院级别"))
    total = MoneyField(label=_("住院总费用（元）"),
                       widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    self_paid = MoneyField(label=_("其中自费（目录外）费用（元）"), required=False,
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                           help_text=_("发票或费用清单上不在报销目录内、要自己付的部分；没有就不填"))
    referred = forms.BooleanField(label=_("已办理转诊手续"), required=False)
    group = forms.ChoiceField(label=_("人员类别"), required=False)

    def __init__(self, *args, levels, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = levels
        self.fields["group"].choices = groups
        if len(groups) < 2:
            del self.fields["group"]

    def clean_self_paid(self):
        return self.cleaned_data.get("self_paid") or Decimal("0.00")
