from django import forms
from django.utils.translation import gettext_lazy as _

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
