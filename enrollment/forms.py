"""Forms of the clerk pages: households, members and contributions.

The forms parse and give early, field-level messages (the ID checked per GB 11643, money with two
places); the services in enrollment/services.py decide and write.
"""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NcmsError
from core.forms import MoneyField, date_input
from enrollment.models import Category, MemberStatus, Payer, Relation, Sex
from enrollment.rules import (
    BANK_ACCOUNT_DIGITS_ONLY,
    BANK_ACCOUNT_MAX_DIGITS,
    PHONE_DIGITS_ONLY,
    PHONE_MAX_DIGITS,
    InvalidIdNumber,
    digits_only,
    household_number_problem,
    parse_resident_id,
)
from places.models import Village

SEX_WORDS = {Sex.MALE: _("男"), Sex.FEMALE: _("女")}

# Which form field a service refusal belongs to (by NcmsError.code); the rest go on top of the form.
ERROR_FIELDS = {
    "bad_id_number": "id_number",
    "duplicate_id_number": "id_number",
    "sex_mismatch": "sex",
    "birth_date_mismatch": "birth_date",
    "missing_name": "name",
    "bad_name": "name",
    "bad_relation": "relation",
    "second_head": "relation",
    "head_relation": "relation",
    "bad_category": "category",
    "duplicate_household_number": "number",
    "duplicate_card_number": "number",
    "village_out_of_scope": "village",
    "bad_contribution": "contribution",
    "bad_receipt_no": "receipt_no",
    "bad_household_number": "number",
    "bad_paid_date": "paid_date",
    "missing_paid_date": "paid_date",
    "bad_payer": "payer",
    "duplicate_receipt_no": "receipt_no",
    "missing_reason": "reason",
    "missing_date": "on",
    "date_in_future": "on",
    "date_before_birth": "on",
    "bad_status": "status",
    "household_not_in_county": "to_household_number",
    "household_out_of_scope": "to_household_number",
    "same_household": "to_household_number",
}


def add_service_error(form: forms.Form, error: NcmsError, *, prefix: str = "") -> None:
    """Show a service's refusal on the field it concerns (or on top of the form)."""
    field = ERROR_FIELDS.get(error.code)
    if field and prefix + field in form.fields:
        form.add_error(prefix + field, error.message)
    else:
        form.add_error(None, error.message)


class IdNumberField(forms.CharField):
    """An 18-character resident ID, checked per GB 11643 with the reason in clerk words."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 18)
        kwargs.setdefault("min_length", None)
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "inputmode": "text", "size": 22})

    def clean(self, value):
        value = super().clean(value)
        try:
            return parse_resident_id(value, today=timezone.localdate()).number
        except InvalidIdNumber as exc:
            raise forms.ValidationError(str(exc), code="bad_id_number") from exc

    def to_python(self, value):
        return (value or "").strip().replace(" ", "")


def _check_against_id(form: forms.Form, prefix: str = "") -> None:
    """Sex and birth date, when given, must agree with the ID number (they come from it)."""
    data = form.cleaned_data
    number = data.get(prefix + "id_number")
    if not number:
        return
    resident = parse_resident_id(number, today=timezone.localdate())
    sex = data.get(prefix + "sex")
    if sex and sex != resident.sex:
        form.add_error(prefix + "sex", _("性别与身份证号不符：身份证号显示为%(sex)s性") % {"sex": SEX_WORDS[resident.sex]})
    birth = data.get(prefix + "birth_date")
    if birth and birth != resident.birth_date:
        form.add_error(
            prefix + "birth_date",
            _("出生日期与身份证号不符：身份证号显示为%(date)s") % {"date": resident.birth_date.isoformat()},
        )


SEX_CHOICES = [("", _("按身份证号"))] + list(Sex.choices)
RELATION_CHOICES = [("", _("请选择"))] + list(Relation.choices)


class DigitsField(forms.CharField):
    """A phone number or bank account: digits only (spaces or hyphens between groups dropped)."""

    def __init__(self, *, max_digits: int, message: str, **kwargs):
        self.max_digits, self.message = max_digits, message
        kwargs.setdefault("required", False)
        super().__init__(max_length=max_digits * 2, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        digits = digits_only(value, max_digits=self.max_digits)
        if digits is None:
            raise forms.ValidationError(self.message, code="digits_only")
        return digits


def phone_field(label):
    return DigitsField(label=label, max_digits=PHONE_MAX_DIGITS, message=PHONE_DIGITS_ONLY)


class MemberForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=30)
    id_number = IdNumberField(label=_("身份证号"))
    sex = forms.ChoiceField(label=_("性别"), choices=SEX_CHOICES, required=False,
                            help_text=_("可不填，按身份证号自动填写"))
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=date_input(),
                                 help_text=_("可不填，按身份证号自动填写"))
    relation = forms.ChoiceField(label=_("与户主关系"), choices=RELATION_CHOICES,
                                 error_messages={"required": _("请选择与户主的关系")})
    category = forms.ChoiceField(label=_("人员类别"), choices=Category.choices, initial=Category.ORDINARY)
    phone = phone_field(_("联系电话"))

    def __init__(self, *args, household=None, **kwargs):
        """A member added to `household` starts with no relation chosen when the household has a
        head already (户主 would be refused), and as its head when it has none."""
        super().__init__(*args, **kwargs)
        if household is not None and "relation" not in self.initial:
            self.initial["relation"] = "" if household.head_id else Relation.HEAD

    def clean(self):
        cleaned = super().clean()
        _check_against_id(self)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "id_number": data["id_number"], "sex": data["sex"] or None,
                "birth_date": data["birth_date"], "relation": data["relation"],
                "category": data["category"], "phone": data["phone"]}


class HouseholdForm(forms.Form):
    village = forms.ModelChoiceField(label=_("村"), queryset=Village.objects.none(),
                                     empty_label=_("请选择村"))
    address = forms.CharField(label=_("住址"), max_length=200, required=False)
    phone = phone_field(_("联系电话"))
    bank_name = forms.CharField(label=_("开户银行"), max_length=60, required=False)
    bank_account = DigitsField(label=_("银行账号"), max_digits=BANK_ACCOUNT_MAX_DIGITS,
                               message=BANK_ACCOUNT_DIGITS_ONLY)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = Village.objects.for_user(user).select_related("township")

    def household_kwargs(self) -> dict:
        data = self.cleaned_data
        return {key: data[key] for key in ("village", "address", "phone", "bank_name", "bank_account")}


class HouseholdCreateForm(HouseholdForm):
    """A new household and its head (户主), registered together."""

    number = forms.CharField(label=_("户号"), max_length=30,
                             help_text=_("村代码（12位）加4位序号，共16位数字，全县唯一；合作医疗证号为 HZ+户号"))
    head_name = forms.CharField(label=_("户主姓名"), max_length=30)
    head_id_number = IdNumberField(label=_("户主身份证号"))
    head_sex = forms.ChoiceField(label=_("户主性别"), choices=SEX_CHOICES, required=False)
    head_birth_date = forms.DateField(label=_("户主出生日期"), required=False, widget=date_input())
    head_category = forms.ChoiceField(label=_("户主人员类别"), choices=Category.choices,
                                      initial=Category.ORDINARY)
    head_phone = phone_field(_("户主联系电话"))

    field_order = ["village", "number", "address", "phone", "bank_name", "bank_account"]

    def clean(self):
        cleaned = super().clean()
        _check_against_id(self, prefix="head_")
        number, village = (cleaned.get("number") or "").strip(), cleaned.get("village")
        if number and village is not None:
            problem = household_number_problem(number, village.code)
            if problem:
                self.add_error("number", problem)
        return cleaned

    def household_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = super().household_kwargs()
        kwargs["number"] = data["number"].strip()
        kwargs["head"] = {
            "name": data["head_name"], "id_number": data["head_id_number"],
            "sex": data["head_sex"] or None, "birth_date": data["head_birth_date"],
            "category": data["head_category"], "phone": data["head_phone"],
        }
        return kwargs


PAYER_CHOICES = [("", _("自动（五保、低保、贫困为民政代缴，其余个人缴纳）"))] + list(Payer.choices)


class ContributionForm(forms.Form):
    """One member's contribution. `amount` is the year's standard amount (the policy's
    `contribution.individual`): the field starts with it, says it, and refuses any other amount
    in the same words as the service (enrollment.rules.wrong_amount_message)."""

    contribution = MoneyField(label=_("缴费金额（元）"))
    receipt_no = forms.CharField(label=_("收据号"), max_length=40)
    paid_date = forms.DateField(label=_("缴费日期"), widget=date_input())
    payer = forms.ChoiceField(label=_("缴费方式"), choices=PAYER_CHOICES, required=False)

    def __init__(self, *args, year: int, amount: Decimal | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.year, self.amount = year, amount
        if amount is not None:
            field = self.fields["contribution"]
            self.initial.setdefault("contribution", amount)
            field.help_text = _("标准金额 %(amount)s 元（%(year)s年度补偿方案规定的个人缴费），不能改为其他金额") % {
                "amount": f"{amount:.2f}", "year": year}
            field.error_messages = {**field.error_messages,
                                    "required": _("请填写缴费金额：标准金额为 %(amount)s 元") % {"amount": f"{amount:.2f}"}}

    def clean_contribution(self):
        value = self.cleaned_data["contribution"]
        if self.amount is not None and value != self.amount:
            raise forms.ValidationError(
                _("缴费金额应为%(year)s年度补偿方案规定的个人缴费 %(amount)s 元，个人缴纳或民政代缴都是这个金额"
                  "（填写的是 %(given)s 元）") % {"year": self.year, "amount": f"{self.amount:.2f}", "given": f"{value:.2f}"},
                code="bad_contribution")
        return value


def receipt_sequence(first: str, count: int) -> list[str]:
    """`count` receipt numbers from `first` on, as a pre-numbered receipt book runs: the number's
    trailing digits count up, keeping their width (SJ2026001000123, SJ2026001000124, ...).
    A number without trailing digits gives no sequence (an empty list)."""
    digits = len(first) - len(first.rstrip("0123456789"))
    if not digits:
        return []
    stem, start = first[:-digits], int(first[-digits:])
    return [f"{stem}{start + i:0{digits}d}" for i in range(count)]


class HouseholdContributionForm(forms.Form):
    """The whole household pays (整户缴费): one paid date, and one receipt number per member not yet
    enrolled (every member takes their own receipt). The clerk may type each receipt number, or
    only the first: the boxes left empty follow it in the receipt book's order."""

    paid_date = forms.DateField(label=_("缴费日期"), widget=date_input())
    first_receipt = forms.CharField(
        label=_("起始收据号"), max_length=40, required=False,
        help_text=_("按收据本顺序连号时只填第一张，其余成员的收据号依次加一；不连号时逐人填写"))

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members
        for member in members:
            self.fields[f"receipt_{member.pk}"] = forms.CharField(
                label=_("%(name)s 的收据号") % {"name": member.name}, max_length=40, required=False)

    def receipt_fields(self):
        return [self[f"receipt_{member.pk}"] for member in self.members]

    def clean(self):
        data = super().clean()
        given = {member.pk: (data.get(f"receipt_{member.pk}") or "").strip() for member in self.members}
        first = (data.get("first_receipt") or "").strip()
        if first and not all(given.values()):
            sequence = receipt_sequence(first, len(self.members))
            if not sequence:
                self.add_error("first_receipt", _("起始收据号应以数字结尾，才能依次加一；否则请逐人填写收据号"))
            else:
                for member, receipt in zip(self.members, sequence):
                    given[member.pk] = given[member.pk] or receipt
        elif not first:
            for member in self.members:
                if not given[member.pk]:
                    self.add_error(f"receipt_{member.pk}", _("请填写收据号（每人一张收据），或填写起始收据号"))
        data["receipts"] = given
        return data


class ContributionVoidForm(forms.Form):
    reason = forms.CharField(label=_("作废原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("例如：登记错了人、收据号录错；作废后该成员本年度视为未参合"))


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(label=_("姓名、身份证号或户号"), required=False, max_length=40)
    village = forms.ModelChoiceField(label=_("村"), queryset=Village.objects.none(), required=False,
                                     empty_label=_("全部村"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = Village.objects.for_user(user).select_related("township")


LEAVING_CHOICES = [(MemberStatus.DIED.value, MemberStatus.DIED.label),
                   (MemberStatus.MOVED_OUT.value, MemberStatus.MOVED_OUT.label)]


class MemberLeaveForm(forms.Form):
    """A member died or moved out of the county, on a day, for a reason."""

    status = forms.ChoiceField(label=_("人员状态"), choices=LEAVING_CHOICES, widget=forms.RadioSelect)
    on = forms.DateField(label=_("日期"), widget=date_input(), help_text=_("死亡或迁出本县的日期，不能晚于今天"))
    reason = forms.CharField(label=_("原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("例如：病故；户口迁往外县"))


class MemberReinstateForm(forms.Form):
    """A death or move-out recorded by mistake undone: why."""

    reason = forms.CharField(label=_("撤销原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("例如：误登记为死亡；户口并未迁出"))


MOVE_RELATION_CHOICES = [("", _("请选择"))] + [c for c in Relation.choices if c[0] != Relation.HEAD]


class MemberMoveForm(forms.Form):
    """A member moved to another household of the county (given by its household number)."""

    to_household_number = forms.CharField(label=_("迁入户号"), max_length=30,
                                          help_text=_("本县的家庭户；迁出本县的请登记“迁出本县”"))
    relation = forms.ChoiceField(label=_("迁入后与户主关系"), choices=MOVE_RELATION_CHOICES,
                                 error_messages={"required": _("请选择与户主的关系")})
    on = forms.DateField(label=_("迁移日期"), widget=date_input())
    reason = forms.CharField(label=_("迁移原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("例如：婚迁；分户"))


NEWBORN_RELATIONS = [("", _("请选择"))] + [c for c in Relation.choices
                                           if c[0] in (Relation.SON, Relation.DAUGHTER, Relation.GRANDCHILD,
                                                       Relation.OTHER)]
NEWBORN_CATEGORIES = [("", _("同户主"))] + list(Category.choices)


class NewbornForm(forms.Form):
    """A newborn added to the household and enrolled for the scheme year of the payment."""

    name = forms.CharField(label=_("姓名"), max_length=30)
    id_number = IdNumberField(label=_("身份证号"))
    sex = forms.ChoiceField(label=_("性别"), choices=SEX_CHOICES, required=False,
                            help_text=_("可不填，按身份证号自动填写"))
    birth_date = forms.DateField(label=_("出生日期"), widget=date_input(),
                                 help_text=_("须与身份证号一致"))
    relation = forms.ChoiceField(label=_("与户主关系"), choices=NEWBORN_RELATIONS,
                                 error_messages={"required": _("请选择与户主的关系")})
    category = forms.ChoiceField(label=_("人员类别"), choices=NEWBORN_CATEGORIES, required=False,
                                 help_text=_("不填则与户主相同；五保、低保、贫困由民政代缴"))
    receipt_no = forms.CharField(label=_("收据号"), max_length=40)
    paid_date = forms.DateField(label=_("缴费日期"), widget=date_input(),
                                help_text=_("出生后90天内缴费的，自出生之日起享受待遇"))

    def clean(self):
        cleaned = super().clean()
        _check_against_id(self)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "id_number": data["id_number"], "sex": data["sex"] or None,
                "birth_date": data["birth_date"], "relation": data["relation"],
                "category": data["category"] or None, "receipt_no": data["receipt_no"],
                "paid_date": data["paid_date"]}
