"""Claims pages: township-office entry with a live quote, the reviewer's and approver's
workbench, the claim page explaining every figure, documents, and the settlement slip PDF.

Thin adapters: scoping comes from `for_user` (out of scope → 404), what a role may do from
`capability_required` (→ 403), every write from claims/services.py.
"""
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import capability_required, user_can
from claims import selectors, services
from claims.forms import (
    ClaimCorrectionForm,
    ClaimEntryForm,
    CostLineFormSet,
    DocumentForm,
    NoteForm,
    QueueFilterForm,
    RecoveryForm,
    RejectForm,
    ReturnForm,
    add_service_error,
    default_status,
    document_max_bytes,
)
from claims.models import Channel, Claim, ClaimDocument, ClaimStatus, CostCategory, RecoverySource
from claims.rules import stored_breakdown
from core.errors import NcmsError
from core.money import amount_in_words, format_yuan
from core.uploads import stored_name

PAGE_SIZE = 20
LINES_PREFIX = "lines"


# --- township-office entry --------------------------------------------------------------------


def _desk(user) -> str:
    """Whose entry desk: the township office (回乡报销, with invoices and scans) or a facility's
    (即时结报 at discharge: its own facility, the patient's share collected there)."""
    return "township" if user_can(user, "claims.enter") else "facility"


def _entry_forms(request):
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    form = ClaimEntryForm(data, files, user=request.user, desk=_desk(request.user))
    lines = CostLineFormSet(data, prefix=LINES_PREFIX)
    return form, lines


def _lookup_text(request) -> str:
    return (request.POST.get("q") if request.method == "POST" else request.GET.get("q")) or ""


@capability_required("claims.entry")
@require_http_methods(["GET", "POST"])
def claim_create(request):
    """A township clerk enters a claim brought in with invoices (回乡报销); a facility clerk
    settles a discharge at the facility's desk (即时结报: idempotent by invoice, the patient pays
    their share there and takes the slip)."""
    desk = _desk(request.user)
    form, lines = _entry_forms(request)
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        total, outside = lines.totals()
        facts = form.facts(total_cost=total, non_reimbursable_cost=outside)
        try:
            # The claim and its scans are one step: a scan refused leaves no claim behind.
            with transaction.atomic():
                if desk == "facility":
                    claim, _created = services.claim_settle(user=request.user, facts=facts,
                                                            cost_lines=lines.service_lines())
                else:
                    claim = services.claim_submit(user=request.user, facts=facts, channel=Channel.TOWNSHIP,
                                                  cost_lines=lines.service_lines())
                for upload in form.cleaned_data["scans"]:
                    services.claim_document_add(user=request.user, claim=claim, upload=upload)
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            if desk == "facility":
                messages.success(request, _("已结算：发票号 %(invoice)s，合作医疗补偿 %(amount)s 元，"
                                            "请向患者收取个人自付 %(share)s 元，并打印结算单交患者")
                                 % {"invoice": claim.invoice_no, "amount": format_yuan(claim.compensation),
                                    "share": format_yuan(claim.patient_pays)})
            else:
                messages.success(request, _("住院补偿申请已提交：发票号 %(invoice)s，补偿金额 %(amount)s 元")
                                 % {"invoice": claim.invoice_no, "amount": format_yuan(claim.compensation)})
            return redirect("claims:claim_detail", pk=claim.pk)
    text = _lookup_text(request)
    chosen = form["member"].value()
    members = selectors.member_lookup(user=request.user, text=text)
    if chosen and not any(str(member.pk) == str(chosen) for member in members):
        members += list(form.fields["member"].queryset.filter(pk=chosen)) if str(chosen).isdigit() else []
    return render(request, "claims/claim_form.html", {
        "form": form, "lines": lines, "q": text, "members": members, "desk": desk,
        "chosen": str(chosen) if chosen else (str(members[0].pk) if len(members) == 1 else ""),
        "quote": _quote_context(request, form, lines) if request.method == "POST" else None,
        "max_mb": document_max_bytes() // 1024 // 1024,
    })


@capability_required("claims.entry")
@require_http_methods(["GET"])
def member_lookup(request):
    """The entry page's member finder (htmx partial): by name, resident ID or co-op card number,
    own township only, each match saying which field it matched. One match is chosen at once and the quote is asked to refresh."""
    text = request.GET.get("q", "")
    members = selectors.member_lookup(user=request.user, text=text)
    response = render(request, "claims/_member_choices.html", {
        "members": members, "q": text.strip(), "chosen": str(members[0].pk) if len(members) == 1 else ""})
    if len(members) == 1:
        response["HX-Trigger-After-Settle"] = "member-chosen"
    return response


NOT_GIVEN = {"required", "invalid_choice"}


def _quote_context(request, form, lines, *, claim: Claim | None = None) -> dict:
    """What the quote panel shows: the breakdown explained, the refusal, or what is missing.
    `claim`: a returned claim being corrected, valued as its resubmission would be."""
    form_ok, lines_ok = form.is_valid(), lines.is_valid()
    total, outside = lines.totals() if lines_ok else (None, None)
    if not (form_ok and lines_ok):
        # a field left empty (or a choice not in the clerk's reach) is missing; a field given but
        # wrong says what is wrong (出院日期早于入院日期), not that it is missing
        missing, wrong = [], []
        for name, errors in form.errors.as_data().items():
            if name not in form.fields or name == "scans":
                continue
            if all(error.code in NOT_GIVEN for error in errors):
                missing.append(str(form.fields[name].label))
            else:
                label = str(form.fields[name].label)
                for error in errors:
                    if error.code in NOT_GIVEN:
                        continue
                    text = "；".join(error.messages)
                    wrong.append(text if label in text else f"{label}：{text}")
        problems = ([str(error) for error in form.non_field_errors()] + wrong
                    + [str(e) for e in lines.non_form_errors()])
        for number, line_form in enumerate(lines.forms, start=1):
            for field, errors in line_form.errors.items():
                label = line_form.fields[field].label if field in line_form.fields else ""
                problems.append(_("费用明细第%(n)s行%(label)s：%(errors)s")
                                % {"n": number, "label": label, "errors": "；".join(errors)})
        return {"ok": False, "missing": missing, "problems": problems, "total": total, "outside": outside}
    facts = form.facts(total_cost=total, non_reimbursable_cost=outside)
    try:
        if claim is not None:
            quote = services.claim_requote(claim=claim, facts=facts)
        else:
            channel = Channel.FACILITY if form.desk == "facility" else Channel.TOWNSHIP
            quote = services.claim_quote(facts=facts, channel=channel)
    except NcmsError as exc:
        return {"ok": False, "refusal": exc.message, "code": exc.code, "total": total, "outside": outside}
    data = form.cleaned_data
    facility, member = (claim.facility, claim.member) if claim is not None else (data["facility"], data["member"])
    breakdown = stored_breakdown(quote.valuation)
    return {
        "ok": True, "total": total, "outside": outside, "compensation": quote.compensation,
        "patient_pays": quote.patient_pays, "referral_no": facts.referral_no,
        "lines": selectors.explain_breakdown(breakdown, total_cost=total, non_reimbursable_cost=outside,
                                             level=facility.level, category=member.category),
    }


@capability_required("claims.entry")
@require_POST
def claim_quote_preview(request):
    """The quote as the clerk types (htmx partial): valued by the year's policy, nothing written."""
    form, lines = _entry_forms(request)
    return render(request, "claims/_quote.html", {"quote": _quote_context(request, form, lines),
                                                  "desk": _desk(request.user)})


# --- the workbench -----------------------------------------------------------------------------


@capability_required("claims.view")
def claim_list(request):
    """The queue with filters (reviewer's and approver's workbench; everyone's claim search)."""
    data = request.GET.copy() if request.GET else None
    if data is None:
        status = default_status(request.user)
        data = {"status": status} if status else None
    form = QueueFilterForm(data, user=request.user)
    filters = form.filters() if data is not None else {}
    claims = selectors.claim_queue(user=request.user, **filters)
    page = Paginator(claims, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    can_bulk = user_can(request.user, "claims.bulk_approve")
    return render(request, "claims/claim_list.html", {
        "form": form, "page": page, "query": query.urlencode(), "summary": selectors.queue_summary(claims),
        "can_bulk_approve": can_bulk, "can_enter": user_can(request.user, "claims.enter"),
        "can_review": user_can(request.user, "claims.review"),
        # the reviewed claims this user may approve: never one they reviewed themselves
        "approvable": [claim.pk for claim in page.object_list
                       if claim.status == ClaimStatus.REVIEWED and claim.reviewed_by_id != request.user.pk]
        if can_bulk else [],
    })


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@capability_required("claims.bulk_approve")
@require_POST
def claims_bulk_approve(request):
    """Approve the chosen claims of the queue, or every reviewed claim shown; all or nothing."""
    back = _safe_next(request, reverse("claims:claim_list"))
    wanted = request.POST.getlist("shown") if "all_shown" in request.POST else request.POST.getlist("claim")
    ids = [int(value) for value in wanted if value.isdigit()]
    claims = list(Claim.objects.for_user(request.user).filter(pk__in=ids))
    if not claims:
        messages.error(request, _("请先勾选要审批的补偿申请"))
        return redirect(back)
    try:
        approved = services.claims_bulk_approve(user=request.user, claims=claims)
    except NcmsError as exc:
        messages.error(request, _("没有审批任何申请：%(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("已审批 %(count)s 件补偿申请") % {"count": len(approved)})
    return redirect(back)


# --- one claim -----------------------------------------------------------------------------------


def _scoped_claim(request, pk) -> Claim:
    return get_object_or_404(
        Claim.objects.for_user(request.user).select_related(
            "member__household__village__township", "facility", "policy", "rejection_reason",
            "submitted_by", "reviewed_by", "approved_by", "paid_by", "referral"),
        pk=pk)


def _can(user, capability: str, claim: Claim, action: str) -> bool:
    return user_can(user, capability) and claim.status in services.TRANSITIONS[action][0]


@capability_required("claims.view")
def claim_detail(request, pk):
    claim = _scoped_claim(request, pk)
    user = request.user
    return render(request, "claims/claim_detail.html", {
        "claim": claim, "explained": selectors.explain_claim(claim),
        "cost_lines": list(claim.cost_lines.all()), "documents": list(claim.documents.select_related("uploaded_by")),
        "events": selectors.claim_events(claim),
        "can_review": _can(user, "claims.review", claim, "review"),
        "can_approve": _can(user, "claims.approve", claim, "approve"),
        "can_return": _can(user, "claims.return", claim, "return"),
        "can_reject": _can(user, "claims.reject", claim, "reject"),
        "can_resubmit": _can(user, "claims.enter", claim, "resubmit"),
        "can_upload": user_can(user, "claims.enter") and claim.status not in (ClaimStatus.PAID, ClaimStatus.REJECTED),
        "note_form": NoteForm(), "return_form": ReturnForm(), "reject_form": RejectForm(),
        "document_form": DocumentForm(),
        "recoveries": selectors.claim_recoveries(claim), "figures": selectors.recovery_figures(claim),
        "can_recover": user_can(user, "claims.recover") and claim.status == ClaimStatus.PAID,
        "recovery_form": RecoveryForm(),
    })


def _act(request, pk, work, done: str):
    """Run one workflow step on a scoped claim; a refusal is shown on the claim's page."""
    claim = _scoped_claim(request, pk)
    try:
        work(claim)
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"invoice": claim.invoice_no})
    return redirect(_safe_next(request, reverse("claims:claim_detail", args=[claim.pk])))


def _note(request) -> str:
    form = NoteForm(request.POST)
    return form.cleaned_data["note"].strip() if form.is_valid() else ""


@capability_required("claims.review")
@require_POST
def claim_review(request, pk):
    return _act(request, pk, lambda claim: services.claim_review(user=request.user, claim=claim, note=_note(request)),
                _("补偿申请 %(invoice)s 已审核"))


@capability_required("claims.approve")
@require_POST
def claim_approve(request, pk):
    return _act(request, pk, lambda claim: services.claim_approve(user=request.user, claim=claim, note=_note(request)),
                _("补偿申请 %(invoice)s 已审批"))


@capability_required("claims.return")
@require_POST
def claim_return(request, pk):
    form = ReturnForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _act(request, pk, lambda claim: services.claim_return(user=request.user, claim=claim, note=note),
                _("补偿申请 %(invoice)s 已退回修改"))


@capability_required("claims.reject")
@require_POST
def claim_reject(request, pk):
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else None
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    return _act(request, pk, lambda claim: services.claim_reject(user=request.user, claim=claim, reason=reason,
                                                                 note=note.strip()),
                _("补偿申请 %(invoice)s 不予补偿"))


def _correction_forms(request, claim: Claim):
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    form = ClaimCorrectionForm(data, files, claim=claim)
    initial = [{"category": line.category, "amount": line.amount, "in_catalog": line.in_catalog}
               for line in claim.cost_lines.all()]
    if not initial:
        # a claim entered without a bill by category: its totals as one line each
        initial = [{"category": CostCategory.OTHER, "amount": claim.total_cost - claim.non_reimbursable_cost,
                    "in_catalog": True}]
        if claim.non_reimbursable_cost:
            initial.append({"category": CostCategory.OTHER, "amount": claim.non_reimbursable_cost,
                            "in_catalog": False})
    lines = CostLineFormSet(data, prefix=LINES_PREFIX, initial=initial)
    return form, lines


@capability_required("claims.enter")
@require_http_methods(["GET", "POST"])
def claim_correct(request, pk):
    """Correct a returned claim (退回修改) as the reviewer asked: the stay's facts, the bill by
    category, more scans; the live quote values it as its resubmission will. The member and the
    facility stay the claim's. Submitting resubmits it, valued again by the year's policy."""
    claim = _scoped_claim(request, pk)
    if claim.status != ClaimStatus.RETURNED:
        messages.error(request, _("只有退回修改的申请才能修改；这件申请现在是“%(status)s”")
                       % {"status": claim.get_status_display()})
        return redirect("claims:claim_detail", pk=claim.pk)
    form, lines = _correction_forms(request, claim)
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        total, outside = lines.totals()
        facts = form.facts(total_cost=total, non_reimbursable_cost=outside)
        try:
            with transaction.atomic():
                claim = services.claim_resubmit(user=request.user, claim=claim, facts=facts,
                                                cost_lines=lines.service_lines())
                for upload in form.cleaned_data["scans"]:
                    services.claim_document_add(user=request.user, claim=claim, upload=upload)
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("补偿申请 %(invoice)s 已修改并重新提交，补偿金额 %(amount)s 元")
                             % {"invoice": claim.invoice_no, "amount": format_yuan(claim.compensation)})
            return redirect("claims:claim_detail", pk=claim.pk)
    return render(request, "claims/claim_correct.html", {
        "claim": claim, "form": form, "lines": lines, "desk": "township",
        "quote": _quote_context(request, form, lines, claim=claim) if request.method == "POST" else None,
        "documents": list(claim.documents.all()), "max_mb": document_max_bytes() // 1024 // 1024,
    })


@capability_required("claims.enter")
@require_POST
def claim_correct_quote(request, pk):
    """The correction's live quote (htmx partial): nothing written."""
    claim = _scoped_claim(request, pk)
    if claim.status != ClaimStatus.RETURNED:
        return render(request, "claims/_quote.html", {"quote": {
            "ok": False, "refusal": _("只有退回修改的申请才能修改"), "total": None}, "desk": "township"})
    form, lines = _correction_forms(request, claim)
    return render(request, "claims/_quote.html", {"quote": _quote_context(request, form, lines, claim=claim),
                                                  "desk": "township"})


@capability_required("claims.enter")
@require_POST
def claim_resubmit(request, pk):
    return _act(request, pk, lambda claim: services.claim_resubmit(user=request.user, claim=claim),
                _("补偿申请 %(invoice)s 已重新提交"))


@capability_required("claims.recover")
@require_POST
def claim_recover(request, pk):
    """A reviewer's or fund officer's recovery (追回) of a paid claim; a refusal is shown on the
    claim's page in Chinese and nothing is written."""
    claim = _scoped_claim(request, pk)
    form = RecoveryForm(request.POST)
    recovery = form.record(user=request.user, claim=claim, source=RecoverySource.REVIEW)
    if recovery is None:
        for error in form.errors_text():
            messages.error(request, error)
    else:
        messages.success(request, _("已登记追回 %(amount)s 元") % {"amount": format_yuan(recovery.amount)})
    return redirect("claims:claim_detail", pk=claim.pk)


@capability_required("claims.enter")
@require_POST
def document_upload(request, pk):
    claim = _scoped_claim(request, pk)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("claims:claim_detail", pk=claim.pk)
    try:
        with transaction.atomic():
            for upload in form.cleaned_data["scans"]:
                services.claim_document_add(user=request.user, claim=claim, upload=upload)
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已上传 %(count)s 份扫描件") % {"count": len(form.cleaned_data["scans"])})
    return redirect("claims:claim_detail", pk=claim.pk)


@capability_required("claims.view")
def document_download(request, pk):
    document = get_object_or_404(ClaimDocument.objects.for_user(request.user), pk=pk)
    return FileResponse(document.file.open("rb"), as_attachment=True, content_type=document.content_type,
                        filename=stored_name(document.original_name or document.file.name, document.content_type))


@capability_required("claims.view")
def claim_slip_pdf(request, pk):
    """The settlement slip (结算单): member, facility, dates, costs, the breakdown line by line,
    the compensation and what the patient pays. WeasyPrint with a CJK font."""
    from weasyprint import HTML

    claim = _scoped_claim(request, pk)
    html = render_to_string("claims/slip.html", {
        "claim": claim, "figures": selectors.recovery_figures(claim), "explained": selectors.explain_claim(claim), "cost_lines": list(claim.cost_lines.all()),
        "county_name": settings.COUNTY_NAME, "printed": timezone.localdate(),
        "days": (claim.discharge_date - claim.admission_date).days or 1,
        "compensation_words": amount_in_words(claim.compensation),
    }, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="slip-{claim.pk}.pdf"'
    return response
