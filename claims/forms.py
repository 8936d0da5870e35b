"""Forms of the claims pages: township-office entry (facts, cost lines, scans), the workbench
filters and the reviewer's and approver's decisions.

Forms parse and give early, field-level messages; claims/services.py decides and writes.
The member and the claims a user may choose are scoped (`for_user`), so a clerk can't even
name a member of another township.
"""
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.scoping import is_county_wide
from claims.documents import document_max_bytes
from claims.eligibility import ClaimFacts
from claims.lookups import covering_referral
from claims.models import ClaimStatus, CostCategory, Delivery, RejectionReason
from claims.recovery import claim_recover
from core.errors import NcmsError
from core.forms import DocumentsField, MoneyField, date_input
from core.money import ZERO
from enrollment.models import Member
from facilities.models import Facility, Level
from places.models import Township

# Which form field a service refusal belongs to (by NcmsError.code); the rest go on top.
ERROR_FIELDS = {
    "bad_dates": "discharge_date",
    "past_deadline": "discharge_date",
    "overlapping_stay": "admission_date",
    "duplicate_invoice": "invoice_no",
    "facility_suspended": "facility",
    "facility_not_designated": "facility",
    "unknown_facility": "facility",
    "not_enrolled": "member",
    "not_yet_covered": "admission_date",
    "member_deceased": "admission_date",
    "unknown_member": "member",
    "out_of_scope": "member",
    "bad_referral": "referral_no",
}


def add_service_error(form: forms.Form, error: NcmsError) -> None:
    field = ERROR_FIELDS.get(error.code)
    if field and field in form.fields:
        form.add_error(field, error.message)
    else:
        form.add_error(None, error.message)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, member):
        return f"{member.name} {member.id_number}"


class StayForm(forms.Form):
    """The facts of one stay as typed from the invoices: dates, invoice, diagnosis, referral,
    delivery, and the scans. Entry (`ClaimEntryForm`) adds who and where; a correction
    (`ClaimCorrectionForm`) keeps the claim's member and facility.

    Referral is a referral record, never a ticked box: the number typed, or else the member's
    standing referral to the facility that covers the admission (`claims.lookups.covering_referral`);
    the claim counts as referred when there is one (`claims.eligibility.referral_problem`)."""

    admission_date = forms.DateField(label=_("入院日期"), widget=date_input())
    discharge_date = forms.DateField(label=_("出院日期"), widget=date_input())
    invoice_no = forms.CharField(label=_("发票号"), max_length=60)
    diagnosis_code = forms.CharField(label=_("诊断编码（ICD-10）"), max_length=20, required=False)
    diagnosis_text = forms.CharField(label=_("诊断"), max_length=200, required=False)
    referral_no = forms.CharField(label=_("转诊单号"), max_length=30, required=False,
                                  help_text=_("不填时，自动查找该人员转往本机构、覆盖本次入院的转诊单"))
    delivery = forms.ChoiceField(label=_("分娩方式"), required=False,
                                 choices=[("", _("非住院分娩"))] + list(Delivery.choices))
    scans = DocumentsField(label=_("扫描件（发票、出院小结，PDF/JPEG/PNG）"), max_bytes=document_max_bytes)

    def clean_invoice_no(self):
        return self.cleaned_data["invoice_no"].strip()

    def clean_diagnosis_code(self):
        return self.cleaned_data["diagnosis_code"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        admission, discharge = cleaned.get("admission_date"), cleaned.get("discharge_date")
        if admission and discharge and discharge < admission:
            self.add_error("discharge_date", _("出院日期早于入院日期"))
        return cleaned

    def clean_referral_no(self):
        return self.cleaned_data["referral_no"].strip()

    def _facts(self, *, member, facility, total_cost: Decimal, non_reimbursable_cost: Decimal) -> ClaimFacts:
        data = self.cleaned_data
        referral_no = data["referral_no"] or covering_referral(
            member_id=member.pk, facility_id=facility.pk, admission=data["admission_date"],
            discharge=data["discharge_date"])
        id_number, facility_code = member.id_number, facility.code
        return ClaimFacts(
            id_number=id_number, facility=facility_code,
            admission_date=data["admission_date"], discharge_date=data["discharge_date"],
            total_cost=total_cost, non_reimbursable_cost=non_reimbursable_cost,
            referred=False, referral_no=referral_no or None, diagnosis=data["diagnosis_code"],
            diagnosis_text=data["diagnosis_text"].strip(), delivery=data["delivery"] or None,
            invoice_no=data["invoice_no"],
        )


class ClaimEntryForm(StayForm):
    """A new claim: the member found and chosen, the facility, and the stay."""

    member = MemberChoiceField(label=_("参合人员"), queryset=Member.objects.none(),
                               widget=forms.RadioSelect, error_messages={
                                   "required": _("请先按姓名、身份证号或合作医疗证号查找并选择参合人员"),
                                   "invalid_choice": _("请选择本乡镇的参合人员")})
    facility = forms.ModelChoiceField(label=_("定点医疗机构"), queryset=Facility.objects.order_by("code"),
                                      empty_label=_("请选择医疗机构"))
    field_order = ["member", "facility"]

    def __init__(self, *args, user, desk: str = "township", **kwargs):
        super().__init__(*args, **kwargs)
        self.desk = desk
        if desk == "facility":
            # a facility settles any enrolled member's stay at its own desk; the member is found by
            # resident ID or card number only (claims.selectors.member_lookup)
            self.fields["member"].queryset = Member.objects.select_related("household__village__township")
            self.fields["member"].error_messages.update({
                "required": _("请先按身份证号或合作医疗证号查找并选择参合人员"),
                "invalid_choice": _("请先按身份证号或合作医疗证号查找并选择参合人员")})
            self.fields["facility"].queryset = Facility.objects.filter(pk=user.facility_id)
            self.fields["facility"].initial = user.facility_id
            self.fields["facility"].empty_label = None
            # the facility keeps the invoice: scans are optional at its desk
            self.fields["scans"].required = False
        else:
            self.fields["member"].queryset = (Member.objects.for_user(user)
                                              .select_related("household__village__township"))

    def facts(self, *, total_cost: Decimal, non_reimbursable_cost: Decimal) -> ClaimFacts:
        data = self.cleaned_data
        return self._facts(member=data["member"], facility=data["facility"],
                           total_cost=total_cost, non_reimbursable_cost=non_reimbursable_cost)


class ClaimCorrectionForm(StayForm):
    """A returned claim corrected (退回修改): the same member and facility, the stay's facts and
    bill as the reviewer asked; scans already on the claim stay, more may be added."""

    desk = "township"

    def __init__(self, *args, claim, **kwargs):
        kwargs.setdefault("initial", {
            "admission_date": claim.admission_date, "discharge_date": claim.discharge_date,
            "invoice_no": claim.invoice_no, "diagnosis_code": claim.diagnosis_code,
            "diagnosis_text": claim.diagnosis_text,
            "referral_no": claim.referral.number if claim.referral_id is not None else "",
            "delivery": claim.delivery or "",
        })
        super().__init__(*args, **kwargs)
        self.claim = claim
        self.fields["scans"].required = False

    def facts(self, *, total_cost: Decimal, non_reimbursable_cost: Decimal) -> ClaimFacts:
        return self._facts(member=self.claim.member, facility=self.claim.facility,
                           total_cost=total_cost, non_reimbursable_cost=non_reimbursable_cost)


class CostLineForm(forms.Form):
    category = forms.ChoiceField(label=_("费用类别"), choices=[("", "—")] + list(CostCategory.choices))
    amount = MoneyField(label=_("金额"))
    in_catalog = forms.BooleanField(label=_("目录内"), required=False, initial=True)

    def has_changed(self):
        # A row without category and amount is blank, whatever its checkbox says.
        return any(self[name].value() not in (None, "") for name in ("category", "amount"))


class BaseCostLineFormSet(forms.BaseFormSet):
    """The bill by category: blank rows are ignored; at least one line; the claim's totals are
    the lines' sums (total = all lines, non-reimbursable = lines outside the catalogue)."""

    def clean(self):
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError(_("请至少填写一条费用明细"), code="no_lines")

    def get_form_kwargs(self, index):
        # a row prefilled from a claim being corrected may be cleared to drop that line
        return {**super().get_form_kwargs(index), "empty_permitted": True, "use_required_attribute": False}

    def lines(self) -> list[dict]:
        return [form.cleaned_data for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]

    def service_lines(self) -> list[dict]:
        return [{"category": line["category"], "amount": str(line["amount"]),
                 "in_catalog": line["in_catalog"]} for line in self.lines()]

    def totals(self) -> tuple[Decimal, Decimal]:
        lines = self.lines()
        total = sum((line["amount"] for line in lines), ZERO)
        outside = sum((line["amount"] for line in lines if not line["in_catalog"]), ZERO)
        return total, outside


CostLineFormSet = forms.formset_factory(CostLineForm, formset=BaseCostLineFormSet, extra=3,
                                        max_num=40, absolute_max=40, validate_max=True)


def township_choices(user):
    return Township.objects.for_user(user).order_by("code")


class QueueFilterForm(forms.Form):
    """Filters of the workbench queue; every one is optional."""

    q = forms.CharField(label=_("发票号/姓名/身份证号"), required=False, max_length=60)
    township = forms.ModelChoiceField(label=_("乡镇"), queryset=Township.objects.none(), required=False,
                                      empty_label=_("全部乡镇"))
    facility = forms.ModelChoiceField(label=_("医疗机构"), queryset=Facility.objects.none(), required=False,
                                      empty_label=_("全部机构"))
    level = forms.ChoiceField(label=_("机构级别"), required=False, choices=[("", _("全部级别"))] + list(Level.choices))
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("", _("全部状态"))] + list(ClaimStatus.choices))
    amount_min = MoneyField(label=_("补偿金额从"), required=False)
    amount_max = MoneyField(label=_("补偿金额到"), required=False)
    flagged = forms.BooleanField(label=_("仅看疑点"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = township_choices(user)
        facilities = Facility.objects.order_by("code")
        if not is_county_wide(user) and user.role == Role.FACILITY_CLERK:
            facilities = Facility.objects.for_user(user)
        self.fields["facility"].queryset = facilities

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"q": data["q"].strip(), "township": data["township"], "facility": data["facility"],
                "level": data["level"], "status": data["status"], "amount_min": data["amount_min"],
                "amount_max": data["amount_max"], "flagged": data["flagged"]}


def default_status(user) -> str:
    """What a workbench shows first: a reviewer the claims to review, an approver those to approve."""
    return {Role.REVIEWER: ClaimStatus.SUBMITTED, Role.APPROVER: ClaimStatus.REVIEWED}.get(user.role, "")


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class ReturnForm(forms.Form):
    note = forms.CharField(label=_("需要修改的内容"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": _("退回时请写明需要修改的内容")})


class RejectForm(forms.Form):
    reason = forms.ModelChoiceField(label=_("不予补偿原因"), queryset=RejectionReason.objects.none(),
                                    empty_label=_("请选择原因"),
                                    error_messages={"required": _("请从列表中选择不予补偿的原因")})
    note = forms.CharField(label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = RejectionReason.objects.active()


class DocumentForm(forms.Form):
    scans = DocumentsField(label=_("扫描件（PDF/JPEG/PNG）"), max_bytes=document_max_bytes, required=True)


class RecoveryForm(forms.Form):
    """A recovery (追回) of a paid claim: what, when, why. claims.recovery decides the rest."""

    amount = MoneyField(label=_("追回金额（元）"))
    on = forms.DateField(label=_("追回日期"), widget=date_input(), error_messages={
        "required": _("请填写追回日期"), "invalid": _("日期格式应为 YYYY-MM-DD")})
    reason = forms.CharField(label=_("追回原因"), max_length=200, error_messages={
        "required": _("请填写追回原因"), "max_length": _("追回原因最多 200 个字")})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"on": timezone.localdate().isoformat()})
        super().__init__(*args, **kwargs)

    def errors_text(self) -> list[str]:
        return [str(error) for errors in self.errors.values() for error in errors]

    def record(self, *, user, claim, source: str, source_id: int | None = None):
        """The recovery, or None with the form's (Chinese) errors: nothing written then."""
        if not self.is_valid():
            return None
        try:
            return claim_recover(user=user, claim=claim, amount=self.cleaned_data["amount"],
                                 reason=self.cleaned_data["reason"], on=self.cleaned_data["on"],
                                 source=source, source_id=source_id)
        except NcmsError as exc:
            self.add_error(None, exc.message)
            return None


class ReferralForm(forms.Form):
    """A referral record (转诊单) as written on the paper form; claims.referrals decides. A facility
    clerk's referral comes from their own facility (the only choice offered)."""

    number = forms.CharField(label=_("转诊单号"), max_length=30)
    id_number = forms.CharField(label=_("参合人员身份证号"), max_length=18)
    from_facility = forms.ModelChoiceField(label=_("转出机构"), queryset=Facility.objects.order_by("code"),
                                           empty_label=_("请选择医疗机构"))
    to_facility = forms.ModelChoiceField(label=_("转入机构"), queryset=Facility.objects.order_by("code"),
                                         empty_label=_("请选择医疗机构"))
    date = forms.DateField(label=_("转诊日期"), widget=date_input())
    emergency = forms.BooleanField(label=_("急诊转诊（入院后补办）"), required=False)
    admission_date = forms.DateField(label=_("入院日期"), widget=date_input(), required=False,
                                     help_text=_("急诊转诊必填；急诊转诊可在入院后 10 天内补办"))
    reason = forms.CharField(label=_("转诊原因"), max_length=200)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("initial", {"date": timezone.localdate().isoformat()})
        super().__init__(*args, **kwargs)
        if getattr(user, "role", None) == Role.FACILITY_CLERK and not user.is_superuser:
            self.fields["from_facility"].queryset = Facility.objects.filter(pk=user.facility_id)
            self.fields["from_facility"].initial = user.facility_id
            self.fields["from_facility"].empty_label = None

    def clean_id_number(self):
        return self.cleaned_data["id_number"].strip().upper()


# Which ReferralForm field a refusal of claims.referrals belongs to; the rest go on top.
REFERRAL_ERROR_FIELDS = {"unknown_member": "id_number", "duplicate_referral": "number"}


class ReferralCancelForm(forms.Form):
    reason = forms.CharField(label=_("作废原因"), max_length=200, error_messages={
        "required": _("请填写作废原因")})
