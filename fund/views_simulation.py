"""The policy simulation pages (`/fund/simulation/`, 补偿方案测算): drafts, their runs by the worker
with a progress bar, the result current beside draft, two drafts compared (page and XLSX), and a
draft adopted as a year's policy. "fund.simulate_view" reads; "fund.simulate" saves and runs;
"fund.adopt_policy" adopts (fund.drafts)."""
import json
from decimal import Decimal

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook
from openpyxl.styles import Alignment

from accounts.roles import capability_required, user_can
from core.errors import NcmsError
from core.tabular import text_cell
from core.xlsx import xlsx_response
from facilities.models import Level
from policy.models import PolicyVersion
from policy.rules import PolicyInvalid

from .draft_form import PolicyFieldsForm, policy_changes
from .drafts import (
    active_run,
    draft_adopt,
    draft_create,
    draft_update,
    progress_read,
    run_interrupted,
    simulation_cancel,
    simulation_start,
)
from .forms import AdoptForm, PolicyDraftForm
from .models import PolicyDraft, SimulationRun
from .simulation_output import compare_pdf as compare_pdf_bytes
from .simulation_output import compare_rows, display_warnings, out_of_pocket_chart


def _last_result(draft: PolicyDraft):
    return draft.runs.filter(status=SimulationRun.Status.DONE).first()


@capability_required("fund.simulate_view")
def draft_list(request):
    """The drafts, newest first, each with its latest run: what the draft would pay and its fund
    usage when it has been valued (two queries whatever the number of drafts)."""
    drafts = list(PolicyDraft.objects.select_related("created_by").prefetch_related(
        Prefetch("runs", queryset=SimulationRun.objects.order_by("-created_at", "-id"), to_attr="latest_runs")))
    for draft in drafts:
        draft.latest = draft.latest_runs[0] if draft.latest_runs else None
        done = next((run for run in draft.latest_runs if run.status == SimulationRun.Status.DONE), None)
        draft.figures = done.result if done is not None else None
    return render(request, "fund/simulation_list.html", {
        "drafts": drafts, "years": PolicyVersion.objects.values_list("year", flat=True),
        "can_simulate": user_can(request.user, "fund.simulate")})


def _base_version(request) -> PolicyVersion | None:
    """The year's policy a new draft starts from (?year=), else the latest year's."""
    year = request.GET.get("year", "")
    version = PolicyVersion.objects.filter(year=int(year)).first() if year.isdigit() and len(year) == 4 else None
    return version or PolicyVersion.objects.first()


@capability_required("fund.simulate")
def draft_new(request):
    """A new draft, field by field, starting from a year's policy (?year=). A draft load_policy
    would refuse is refused with every problem beside its field, nothing saved."""
    version = _base_version(request)
    document = version.document if version is not None else {}
    initial = {}
    if version is not None:
        initial = {"name": _("%(year)s年度方案草案") % {"year": version.year}, "base_year": version.year}
    form = PolicyFieldsForm(request.POST or None, document=document, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft = draft_create(name=data["name"], base_year=data["base_year"], document=data["parsed"],
                             assumptions=data["assumptions"], user=request.user)
        messages.success(request, _("已保存草案“%(name)s”") % {"name": draft.name})
        return redirect("fund:simulation_draft", pk=draft.pk)
    return render(request, "fund/simulation_form.html", {
        "form": form, "version": version, "years": PolicyVersion.objects.values_list("year", flat=True)})


@capability_required("fund.simulate")
def draft_edit(request, pk):
    """A saved draft changed field by field; its earlier version stays in its history and its
    results say they were of an earlier version."""
    draft = get_object_or_404(PolicyDraft, pk=pk)
    form = PolicyFieldsForm(request.POST or None, document=draft.document, initial={
        "name": draft.name, "base_year": draft.base_year, **draft.assumptions})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft_update(draft=draft, name=data["name"], base_year=data["base_year"], document=data["parsed"],
                     assumptions=data["assumptions"], user=request.user)
        messages.success(request, _("已保存草案“%(name)s”") % {"name": draft.name})
        return redirect("fund:simulation_draft", pk=draft.pk)
    return render(request, "fund/simulation_form.html", {"form": form, "draft": draft})


@capability_required("fund.simulate")
def draft_new_file(request):
    """A new draft from a whole policy file: its JSON pasted (prefilled from a year's policy) or
    the file uploaded, checked as load_policy checks it."""
    problems: list[str] = []
    if request.method == "POST":
        form = PolicyDraftForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                draft = draft_create(name=data["name"], base_year=data["base_year"], document=data["parsed"],
                                     assumptions=data["assumptions"], user=request.user)
            except PolicyInvalid as exc:
                problems = list(exc.errors)
            else:
                messages.success(request, _("已保存草案“%(name)s”") % {"name": draft.name})
                return redirect("fund:simulation_draft", pk=draft.pk)
    else:
        version = _base_version(request)
        initial = {}
        if version is not None:
            initial = {"name": _("%(year)s年度方案草案") % {"year": version.year}, "base_year": version.year,
                       "document": json.dumps(version.document, ensure_ascii=False, indent=2)}
        form = PolicyDraftForm(initial=initial)
    return render(request, "fund/simulation_new.html", {"form": form, "problems": problems})


@capability_required("fund.simulate_view")
def draft_detail(request, pk):
    draft = get_object_or_404(PolicyDraft, pk=pk)
    run = active_run(draft)
    interrupted = run_interrupted(run)
    base = PolicyVersion.objects.filter(year=draft.base_year).first()  # the current plan it is set against
    done = _last_result(draft)
    failed = draft.runs.first()
    return render(request, "fund/simulation_draft.html", {
        "draft": draft, "run": None if interrupted else run, "interrupted": run if interrupted else None,
        "done": done, "result": done.result if done else None,
        "stale": done is not None and not done.of_draft_as_it_is(),
        "warnings": display_warnings(done.result) if done else [],
        "by_level": [{**row, "label": Level(row["name"]).label} for row in done.result["by_level"]] if done else [],
        "failed": failed if failed and failed.status == SimulationRun.Status.FAILED else None,
        "document": json.dumps(draft.document, ensure_ascii=False, indent=2),
        "can_simulate": user_can(request.user, "fund.simulate"),
        "can_adopt": user_can(request.user, "fund.adopt_policy"),
        "adopt_form": AdoptForm(initial={"year": draft.base_year + 1}),
        "chart": out_of_pocket_chart([(draft.name, done.result)]) if done else None,
        "base": base, "changes": policy_changes(base.document, draft.document) if base else None,
        "others": PolicyDraft.objects.exclude(pk=draft.pk)})


@capability_required("fund.simulate")
@require_POST
def draft_run(request, pk):
    draft = get_object_or_404(PolicyDraft, pk=pk)
    try:
        _run, started = simulation_start(draft=draft, user=request.user)
    except PolicyInvalid as exc:
        for error in exc.errors:
            messages.error(request, error)
    else:
        if started:
            messages.success(request, _("测算已开始"))
        else:
            messages.info(request, _("该草案正在测算，已加入正在进行的测算"))
    return redirect("fund:simulation_draft", pk=draft.pk)


@capability_required("fund.simulate_view")
def run_progress(request, pk):
    run = get_object_or_404(SimulationRun, pk=pk)
    return JsonResponse(progress_read(run))


@capability_required("fund.simulate")
@require_POST
def run_cancel(request, pk):
    run = get_object_or_404(SimulationRun, pk=pk)
    if simulation_cancel(run):
        messages.success(request, _("已取消测算"))
    else:
        messages.error(request, _("该测算已结束，不能取消"))
    return redirect("fund:simulation_draft", pk=run.draft_id)


@capability_required("fund.adopt_policy")
@require_POST
def draft_adopt_view(request, pk):
    draft = get_object_or_404(PolicyDraft, pk=pk)
    form = AdoptForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("fund:simulation_draft", pk=draft.pk)
    try:
        version = draft_adopt(draft=draft, year=form.cleaned_data["year"], user=request.user)
    except PolicyInvalid as exc:
        for error in exc.errors:
            messages.error(request, error)
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已采用为%(year)s年度补偿方案（第%(revision)s版）") % {
            "year": version.year, "revision": version.revision})
    return redirect("fund:simulation_draft", pk=draft.pk)


# --- comparing two drafts ---------------------------------------------------------------------


def _pair(request) -> tuple[PolicyDraft, PolicyDraft]:
    ids = [text for text in (request.GET.get("a", ""), request.GET.get("b", "")) if text.isdigit()]
    if len(ids) != 2:
        raise Http404
    return get_object_or_404(PolicyDraft, pk=int(ids[0])), get_object_or_404(PolicyDraft, pk=int(ids[1]))


def _compared(first: PolicyDraft, second: PolicyDraft) -> list[dict]:
    """Each draft with its latest result and what it changes from its year's current plan."""
    bases = {version.year: version for version in PolicyVersion.objects.filter(
        year__in=[first.base_year, second.base_year])}
    columns = []
    for draft in (first, second):
        run = _last_result(draft)
        base = bases.get(draft.base_year)
        columns.append({"draft": draft, "result": run.result if run else None,
                        "changes": policy_changes(base.document, draft.document) if base else None})
    return columns


@capability_required("fund.simulate_view")
def compare(request):
    first, second = _pair(request)
    columns = _compared(first, second)
    rows = compare_rows(columns)
    results = [(c["draft"].name, c["result"]) for c in columns if c["result"]]
    return render(request, "fund/simulation_compare.html", {
        "columns": columns, "rows": rows, "a": first.pk, "b": second.pk,
        "chart": out_of_pocket_chart(results) if results else None})


@capability_required("fund.simulate_view")
def compare_pdf(request):
    """The comparison as PDF, the out-of-pocket chart included."""
    first, second = _pair(request)
    columns = _compared(first, second)
    pdf = compare_pdf_bytes(columns=columns, rows=compare_rows(columns), base_url=request.build_absolute_uri("/"))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="simulation-compare-{stamp}.pdf"'
    return response


@capability_required("fund.simulate_view")
def compare_xlsx(request):
    """The comparison as XLSX: names as text cells, amounts numeric with two places."""
    first, second = _pair(request)
    columns = _compared(first, second)
    book = Workbook()
    sheet = book.active
    sheet.title = "方案比较"
    sheet.append([_("项目"), text_cell(first.name), text_cell(second.name)])
    for row in compare_rows(columns):
        kind = row["kind"]
        if kind == "text":
            values = [text_cell(value) if value else None for value in row["values"]]
        else:
            values = [Decimal(value) if kind != "count" and value is not None else value for value in row["values"]]
        sheet.append([str(row["label"]), *values])
        if kind in ("money", "ratio"):
            for col in (2, 3):
                sheet.cell(row=sheet.max_row, column=col).number_format = "#,##0.00" if kind == "money" else "0.00%"
        elif kind == "text":  # the warnings and the changes, a line each
            for col in (2, 3):
                sheet.cell(row=sheet.max_row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 28
    for letter in ("B", "C"):
        sheet.column_dimensions[letter].width = 48
    return xlsx_response(book, f"simulation-compare-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
