"""The queue of villagers' objections and reports (publicity.view to read: the county all of them,
a township clerk those of the township; publicity.answer for the township's answer;
publicity.handle to move a case to investigating and resolve it with a written resolution), and
the months' notices (which months are posted; the county posts a month)."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
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
        "can_answer": user_can(request.user, "publicity.answer"),
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


@require_POST
@capability_required("publicity.answer")
def case_answer(request, kind, pk):
    """The township office answers a case about its villages or facilities; the county resolves it."""
    case = get_object_or_404(_model(kind).objects.for_user(request.user), pk=pk)
    try:
        services.case_answer(user=request.user, case=case, answer=request.POST.get("answer", ""))
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已答复，待县合管办办结"))
    return redirect("publicity_staff:case_detail", kind=kind, pk=case.pk)


def _notice_year(request) -> int:
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
    except ValueError:
        return today.year
    return year if 2000 <= year <= today.year + 1 else today.year


@capability_required("publicity.view")
def notice_months(request):
    """Which months of a year are posted, village by village in the user's reach, with the
    paid claims still waiting to be posted; the county posts a month from here."""
    year = _notice_year(request)
    months = selectors.notice_months(user=request.user, year=year, today=timezone.localdate())
    month = request.GET.get("month", "")
    chosen = next((row for row in months if str(row.month) == month), None)
    return render(request, "publicity/notice_months.html", {
        "year": year, "months": months, "chosen": chosen,
        "notices": selectors.month_notices(user=request.user, year=year, month=chosen.month) if chosen else [],
        "can_post": user_can(request.user, "publicity.handle"),
    })


@require_POST
@capability_required("publicity.handle")
def notice_post(request):
    """Post a month's notices (as `publish_notices` does): a month not begun yet is refused."""
    today = timezone.localdate()
    try:
        year, month = int(request.POST.get("year", "")), int(request.POST.get("month", ""))
    except ValueError:
        messages.error(request, _("请选择要发布的年份和月份"))
        return redirect("publicity_staff:notice_months")
    back = f"{reverse('publicity_staff:notice_months')}?year={year}&month={month}"
    if not 1 <= month <= 12 or not 2000 <= year or (year, month) > (today.year, today.month):
        messages.error(request, _("%(year)s年%(month)s月还没有到，不能发布") % {"year": year, "month": month})
        return redirect(back)
    try:
        notices = services.notices_publish(user=request.user, year=year, month=month)
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        if notices:
            messages.success(request, _("已发布%(year)s年%(month)s月补偿公示 %(count)s 份") % {
                "year": year, "month": month, "count": len(notices)})
        else:
            messages.info(request, _("%(year)s年%(month)s月没有需要发布的补偿公示") % {"year": year, "month": month})
    return redirect(back)
