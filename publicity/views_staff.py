"""The county's queue of villagers' objections and reports (publicity.view to read,
publicity.handle to move a case to investigating and resolve it with a written resolution)."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import capability_required, user_can
from claims.forms import RecoveryForm
from claims.selectors import recoveries_from
from core.errors import NcmsError

from . import selectors, services
from .models import CaseStatus, Objection, Report

KINDS = {"objection": Objection, "report": Report}


def _model(kind):
    if kind not in KINDS:
        raise Http404
    return KINDS[kind]


@capability_required("publicity.view")
def case_list(request):
    kind = request.GET.get("kind") if request.GET.get("kind") in KINDS else "objection"
    status = request.GET.get("status", "")
    q = (request.GET.get("q") or "").strip().upper()
    cases = _model(kind).objects.for_user(request.user)
    cases = cases.select_related("line__notice__village") if kind == "objection" else cases.select_related("facility")
    if status in CaseStatus.values:
        cases = cases.filter(status=status)
    if q:
        cases = cases.filter(tracking_code__icontains=q)
    counts = {k: {s: model.objects.for_user(request.user).filter(status=s).count() for s in CaseStatus.values}
              for k, model in KINDS.items()}
    return render(request, "publicity/case_list.html", {
        "kind": kind, "status": status, "q": q, "cases": cases[:200], "statuses": CaseStatus.choices,
        "counts": counts})


@capability_required("publicity.view")
def case_detail(request, kind, pk):
    case = get_object_or_404(_model(kind).objects.for_user(request.user), pk=pk)
    history = list(case.history.select_related("history_user").order_by("history_date"))
    can_recover = user_can(request.user, "claims.recover")
    return render(request, "publicity/case_detail.html", {
        "kind": kind, "case": case, "history": history, "can_handle": user_can(request.user, "publicity.handle"),
        "recoveries": recoveries_from(user=request.user, source=kind, source_id=case.pk),
        "case_claims": selectors.case_claims(kind, case) if can_recover else [],
        "can_recover": can_recover, "recovery_form": RecoveryForm()})


@capability_required("claims.recover")
@require_POST
def case_recover(request, kind, pk):
    """A recovery (追回) of a paid claim the case concerns, recorded as coming from the case: the
    finding that upholds an objection or a report. A refusal is shown in Chinese; nothing written."""
    case = get_object_or_404(_model(kind).objects.for_user(request.user), pk=pk)
    candidates = {str(claim.pk): claim for claim in selectors.case_claims(kind, case)}
    claim = candidates.get(request.POST.get("claim", "")) or (
        next(iter(candidates.values())) if len(candidates) == 1 and not request.POST.get("claim") else None)
    if claim is None:
        messages.error(request, "请选择本件涉及的一笔已兑付补偿申请" if candidates else "本件没有涉及已兑付的补偿申请，不能登记追回")
        return redirect("publicity_staff:case_detail", kind=kind, pk=case.pk)
    form = RecoveryForm(request.POST)
    recovery = form.record(user=request.user, claim=claim, source=kind, source_id=case.pk)
    if recovery is None:
        for error in form.errors_text():
            messages.error(request, error)
    else:
        messages.success(request, f"已登记追回 {recovery.amount} 元（补偿申请 {claim.invoice_no}）")
    return redirect("publicity_staff:case_detail", kind=kind, pk=case.pk)


@require_POST
@capability_required("publicity.handle")
def case_action(request, kind, pk):
    case = get_object_or_404(_model(kind).objects.for_user(request.user), pk=pk)
    try:
        if request.POST.get("action") == "investigate":
            services.case_investigate(user=request.user, case=case)
            messages.success(request, "已转为调查中")
        elif request.POST.get("action") == "resolve":
            services.case_resolve(user=request.user, case=case, resolution=request.POST.get("resolution", ""))
            messages.success(request, "已办结")
        else:
            messages.error(request, "未知操作")
    except NcmsError as exc:
        messages.error(request, exc.message)
    return redirect("publicity_staff:case_detail", kind=kind, pk=case.pk)
