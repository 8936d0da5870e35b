"""Designated-facility registry pages (定点医疗机构): the list with filters and one facility's page,
with its suspension, reinstatement, agreement period and inspections.

County roles see every facility; a township clerk the facilities located in their township (the
list, their pages and inspections, read-only); a facility clerk only their own facility's page and
its inspections. Scoping is Facility.objects.for_user (and Inspection/InspectionDocument.objects.
for_user), so a facility out of reach is simply 404.
Suspending, reinstating and the agreement period need "facilities.change"; recording
inspections "facilities.inspect".
"""
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import capability_required, user_can
from claims.forms import RecoveryForm
from claims.models import Claim, ClaimStatus, RecoverySource
from claims.selectors import recoveries_from
from core.errors import NcmsError
from core.money import format_yuan
from core.uploads import stored_name
from facilities import services as registry
from facilities.models import Facility, FacilityStatus, Level
from places.models import Township

from . import services
from .forms import (
    AgreementForm,
    InspectionDocumentForm,
    InspectionForm,
    ReinstateForm,
    SuspendForm,
    add_service_error,
)
from .models import Inspection, InspectionDocument


@capability_required("facilities.view")
def facility_list(request):
    facilities = Facility.objects.for_user(request.user).select_related("township")
    level = request.GET.get("level", "")
    status = request.GET.get("status", "")
    township_code = request.GET.get("township", "")
    if level in Level.values:
        facilities = facilities.filter(level=level)
    if status in FacilityStatus.values:
        facilities = facilities.filter(status=status)
    if township_code:
        facilities = facilities.filter(township__code=township_code)
    context = {
        "facilities": facilities,
        "levels": Level.choices,
        "statuses": FacilityStatus.choices,
        "townships": Township.objects.for_user(request.user),
        "level": level,
        "status": status,
        "township_code": township_code,
        "today": timezone.localdate(),
    }
    return render(request, "facilities/facility_list.html", context)


@dataclass(frozen=True)
class FacilityChange:
    when: object
    who: str
    kind: str
    reason: str
    changes: list[tuple[str, str, str]]  # (field label, old, new)


_KINDS = {"+": gettext_noop("新建"), "~": gettext_noop("修改"), "-": gettext_noop("删除")}


def _display(record, field_name: str) -> str:
    field = Facility._meta.get_field(field_name)
    value = getattr(record, field.attname)
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field_name == "township":
        township = Township.objects.filter(pk=value).first()
        return township.name if township else str(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def facility_history(facility: Facility) -> list[FacilityChange]:
    """Every saved change of the facility, newest first, each with its changed fields."""
    records = list(facility.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    previous = None
    for record in records:
        changes = []
        if previous is not None:
            for change in record.diff_against(previous).changes:
                label = str(Facility._meta.get_field(change.field).verbose_name)
                changes.append((label, _display(previous, change.field), _display(record, change.field)))
        user = record.history_user
        entries.append(FacilityChange(
            when=record.history_date, who=(user.display_name if user else _("系统（命令行导入）")),
            kind=_(_KINDS.get(record.history_type, record.history_type)),
            reason=record.history_change_reason or "", changes=changes,
        ))
        previous = record
    entries.reverse()
    return entries


def _inspections(facility: Facility) -> list[Inspection]:
    return list(facility.inspections.select_related("recorded_by").prefetch_related(
        Prefetch("documents", queryset=InspectionDocument.objects.order_by("id"))))


def _detail_page(request, facility: Facility, *, status: int = 200, **forms):
    """The facility page; `forms` replaces a blank form by a bound one that was refused."""
    today = timezone.localdate()
    can_change = user_can(request.user, "facilities.change")
    can_inspect = user_can(request.user, "facilities.inspect")
    inspections = _inspections(facility)
    outstanding = sum((i.outstanding_deduction for i in inspections), Decimal("0.00"))
    context = {
        "facility": facility,
        "history": facility_history(facility),
        "today": today,
        "covers_today": facility.covers(today),
        "can_list": user_can(request.user, "facilities.view"),
        "can_change": can_change,
        "can_inspect": can_inspect,
        "inspections": inspections,
        "outstanding_deduction": outstanding,
        "max_mb": services.inspection_document_max_bytes() // 1024 // 1024,
    }
    if can_change:
        context["suspend_form"] = forms.get("suspend_form") or SuspendForm(initial={"from_date": today})
        context["reinstate_form"] = forms.get("reinstate_form") or ReinstateForm(initial={"on_date": today})
        context["agreement_form"] = forms.get("agreement_form") or AgreementForm(initial={
            "agreement_start": facility.agreement_start, "agreement_end": facility.agreement_end})
    if can_inspect:
        context["inspection_form"] = forms.get("inspection_form") or InspectionForm(
            initial={"inspected_on": today, "penalty_amount": Decimal("0.00")})
    return render(request, "facilities/facility_detail.html", context, status=status)


def _facility_for(request, pk) -> Facility:
    return get_object_or_404(Facility.objects.for_user(request.user).select_related("township"), pk=pk)


@capability_required("facilities.view_own")
def facility_detail(request, pk):
    return _detail_page(request, _facility_for(request, pk))


def _registry_change(request, pk, form_class, form_name: str, act):
    """POST of one registry form: act(facility, cleaned data) through a service, then back to the page."""
    facility = _facility_for(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            message = act(facility, form.cleaned_data)
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, message)
            return redirect("oversight:facility_detail", pk=facility.pk)
    return _detail_page(request, facility, status=400, **{form_name: form})


@capability_required("facilities.change")
@require_POST
def facility_suspend(request, pk):
    def act(facility, data):
        facility = registry.facility_suspend(user=request.user, facility=facility,
                                             from_date=data["from_date"], reason=data["reason"])
        return _("%(name)s 自 %(date)s 起暂停结算") % {"name": facility.name,
                                                   "date": facility.suspended_from.isoformat()}
    return _registry_change(request, pk, SuspendForm, "suspend_form", act)


@capability_required("facilities.change")
@require_POST
def facility_reinstate(request, pk):
    def act(facility, data):
        facility = registry.facility_reinstate(user=request.user, facility=facility,
                                               on_date=data["on_date"], reason=data["reason"])
        return _("%(name)s 已恢复定点结算") % {"name": facility.name}
    return _registry_change(request, pk, ReinstateForm, "reinstate_form", act)


@capability_required("facilities.change")
@require_POST
def facility_agreement(request, pk):
    def act(facility, data):
        facility = registry.facility_agreement_change(
            user=request.user, facility=facility, start=data["agreement_start"],
            end=data["agreement_end"], reason=data["reason"])
        return _("协议期已改为 %(start)s 至 %(end)s") % {
            "start": facility.agreement_start.isoformat(), "end": facility.agreement_end.isoformat()}
    return _registry_change(request, pk, AgreementForm, "agreement_form", act)


@capability_required("facilities.inspect")
@require_POST
def inspection_create(request, pk):
    facility = _facility_for(request, pk)
    form = InspectionForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            inspection = services.inspection_record(
                user=request.user, facility=facility, inspected_on=data["inspected_on"],
                inspectors=data["inspectors"], findings=data["findings"],
                penalty_amount=data["penalty_amount"] or Decimal("0.00"),
                deduct_from_settlements=data["deduct_from_settlements"], documents=data["documents"])
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("已记录 %(date)s 的监督检查") % {"date": inspection.date.isoformat()})
            return redirect("oversight:facility_detail", pk=facility.pk)
    return _detail_page(request, facility, status=400, inspection_form=form)


def _inspection_for(request, pk) -> Inspection:
    return get_object_or_404(Inspection.objects.for_user(request.user).select_related("facility", "recorded_by"),
                             pk=pk)


@capability_required("facilities.view_own")
@require_http_methods(["GET", "POST"])
def inspection_detail(request, pk):
    """One inspection with its documents; those who record inspections may add documents."""
    inspection = _inspection_for(request, pk)
    can_inspect = user_can(request.user, "facilities.inspect")
    form = InspectionDocumentForm()
    status = 200
    if request.method == "POST":
        if not can_inspect:
            raise PermissionDenied
        form = InspectionDocumentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():  # several documents: all or none
                    for upload in form.cleaned_data["documents"]:
                        services.inspection_document_add(user=request.user, inspection=inspection,
                                                         upload=upload)
            except NcmsError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("检查材料已上传"))
                return redirect("oversight:inspection_detail", pk=inspection.pk)
        status = 400
    return render(request, "facilities/inspection_detail.html", {
        "inspection": inspection, "facility": inspection.facility,
        "documents": list(inspection.documents.select_related("uploaded_by")),
        "can_inspect": can_inspect, "form": form,
        "max_mb": services.inspection_document_max_bytes() // 1024 // 1024,
        "recoveries": recoveries_from(user=request.user, source=RecoverySource.INSPECTION, source_id=inspection.pk),
        "can_recover": user_can(request.user, "claims.recover"), "recovery_form": RecoveryForm(),
        # the facility statements that withheld the penalty, through the fund's relation (no import)
        "withholdings": list(inspection.withholdings.select_related("statement")
                             .order_by("statement__year", "statement__month", "id")),
    }, status=status)


@capability_required("claims.recover")
@require_POST
def inspection_recover(request, pk):
    """A recovery (追回) of one of the inspected facility's paid claims, named by its invoice
    number, recorded as coming from the inspection. A refusal is shown in Chinese; nothing written."""
    inspection = _inspection_for(request, pk)
    invoice = (request.POST.get("invoice_no") or "").strip()
    claim = (Claim.objects.for_user(request.user).filter(facility=inspection.facility, invoice_no=invoice).first()
             if invoice else None)
    if claim is None:
        messages.error(request, _("请填写被检查机构一笔补偿申请的发票号") if not invoice else
                       _("%(facility)s 没有发票号为「%(invoice)s」的补偿申请") % {
                           "facility": inspection.facility.name, "invoice": invoice})
        return redirect("oversight:inspection_detail", pk=inspection.pk)
    if claim.status != ClaimStatus.PAID:
        messages.error(request, _("补偿申请 %(invoice)s 当前状态为「%(status)s」，只有已兑付的申请才能追回") % {
            "invoice": claim.invoice_no, "status": claim.get_status_display()})
        return redirect("oversight:inspection_detail", pk=inspection.pk)
    form = RecoveryForm(request.POST)
    recovery = form.record(user=request.user, claim=claim, source=RecoverySource.INSPECTION,
                           source_id=inspection.pk)
    if recovery is None:
        for error in form.errors_text():
            messages.error(request, error)
    else:
        messages.success(request, _("已登记追回 %(amount)s 元（补偿申请 %(invoice)s）") % {
            "amount": format_yuan(recovery.amount), "invoice": claim.invoice_no})
    return redirect("oversight:inspection_detail", pk=inspection.pk)


@capability_required("facilities.view_own")
def inspection_document_download(request, pk):
    document = get_object_or_404(InspectionDocument.objects.for_user(request.user), pk=pk)
    return FileResponse(document.file.open("rb"), as_attachment=True, content_type=document.content_type,
                        filename=stored_name(document.original_name or document.file.name, document.content_type))
