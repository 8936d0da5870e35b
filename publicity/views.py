"""The public site (/public/): no login, Simplified Chinese, phone first.

Every page renders only masked notice lines (publicity.models.NoticeLine), county fund totals,
or what a villager proved to be theirs; pages without a form are cached (publicity.cache).
"""
from __future__ import annotations

import base64

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.errors import NcmsError
from places.models import Township, Village

from . import policy_words, rules, selectors, services
from .cache import public_cached
from .forms import HONEYPOT, LookupForm, ObjectionForm, PolicyCalculatorForm, ReportForm, StatusForm
from .models import Notice, NoticeLine, Objection, Report
from .throttle import throttle_hit


def _context(**extra):
    return {"county_name": settings.COUNTY_NAME, "report_phone": settings.COUNTY_REPORT_PHONE,
            "today": timezone.localdate(), **extra}


@login_not_required
@public_cached
def index(request):
    return render(request, "publicity/index.html", _context(townships=selectors.townships_with_villages()))


@login_not_required
@public_cached
def township_detail(request, code):
    township = get_object_or_404(Township, code=code)
    rows = [row for t, rows in selectors.townships_with_villages() if t.pk == township.pk for row in rows]
    return render(request, "publicity/township.html", _context(township=township, villages=rows))


@login_not_required
@public_cached
def village_detail(request, code):
    village = get_object_or_404(Village.objects.select_related("township"), code=code)
    return render(request, "publicity/village.html",
                  _context(village=village, notices=selectors.village_notices(village)))


def _notice(pk):
    return get_object_or_404(Notice.objects.select_related("village__township", "addendum_to"), pk=pk)


@login_not_required
@public_cached
def notice_detail(request, pk):
    notice = _notice(pk)
    lines = selectors.notice_lines(notice)
    return render(request, "publicity/notice.html", _context(
        notice=notice, lines=lines, addenda=list(notice.addenda.order_by("number")),
        corrections=selectors.notice_corrections(notice),
        open_for_objections=notice.in_objection_period(timezone.localdate()),
        total=sum((line.compensation for line in lines), start=0)))


def qr_data_uri(url: str) -> str:
    """A QR code of `url` as an inline SVG data URI (segno), for the notice board PDF."""
    from io import BytesIO

    import segno

    out = BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


@login_not_required
@public_cached
def notice_pdf(request, pk):
    """The notice for the village notice board: A4, large type, QR code to its public page."""
    from weasyprint import HTML

    notice = _notice(pk)
    lines = selectors.notice_lines(notice)
    url = request.build_absolute_uri(reverse("publicity:notice_detail", args=[notice.pk]))
    html = render_to_string("publicity/notice_pdf.html", _context(
        notice=notice, lines=lines, url=url, qr=qr_data_uri(url), corrections=selectors.notice_corrections(notice),
        total=sum((line.compensation for line in lines), start=0)), request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (f'inline; filename="notice-{notice.village.code}-{notice.year}-'
                                       f'{notice.month:02d}-{notice.number}.pdf"')
    return response


@login_not_required
@public_cached
def fund_summary(request):
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year = today.year
    year = min(max(year, 2000), today.year)
    return render(request, "publicity/fund.html", _context(
        year=year, quarters=selectors.fund_summary(year), years=list(range(today.year, today.year - 5, -1))))


def _throttled(request):
    return render(request, "publicity/throttled.html", _context(), status=429)


def _fake_success(request, kind):
    """What a bot that filled the honeypot sees: a success page; nothing is stored."""
    return render(request, "publicity/submitted.html", _context(kind=kind, code=rules.tracking_code_new()))


@login_not_required
@require_http_methods(["GET", "POST"])
def objection_create(request, pk):
    line = get_object_or_404(NoticeLine.objects.select_related("notice__village"), pk=pk)
    form = ObjectionForm(request.POST or None)
    if request.method == "POST":
        if not throttle_hit(request, "case"):
            return _throttled(request)
        if request.POST.get(HONEYPOT):
            return _fake_success(request, "objection")
        if form.is_valid():
            try:
                objection = services.objection_file(line=line, text=form.cleaned_data["text"],
                                                    phone=form.cleaned_data["phone"],
                                                    anonymous=form.cleaned_data["anonymous"])
            except NcmsError as exc:
                form.add_error(None, exc.message)
            else:
                return render(request, "publicity/submitted.html",
                              _context(kind="objection", code=objection.tracking_code))
    return render(request, "publicity/objection_form.html", _context(form=form, line=line, notice=line.notice))


@login_not_required
@require_http_methods(["GET", "POST"])
def report_create(request):
    form = ReportForm(request.POST or None)
    if request.method == "POST":
        if not throttle_hit(request, "case"):
            return _throttled(request)
        if request.POST.get(HONEYPOT):
            return _fake_success(request, "report")
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = services.report_file(text=data["text"], facility=data["facility"],
                                              invoice_no=data["invoice_no"], phone=data["phone"],
                                              anonymous=data["anonymous"])
            except NcmsError as exc:
                form.add_error(None, exc.message)
            else:
                return render(request, "publicity/submitted.html", _context(kind="report", code=report.tracking_code))
    return render(request, "publicity/report_form.html", _context(form=form))


@login_not_required
@require_http_methods(["GET"])
def case_status(request):
    """Status of an objection or a report by its tracking code (GET ?code=)."""
    form = StatusForm(request.GET or None)
    case = kind = None
    searched = False
    if form.is_bound and form.is_valid():
        if not throttle_hit(request, "status"):
            return _throttled(request)
        searched = True
        code = rules.tracking_code_clean(form.cleaned_data["code"])
        case = Objection.objects.filter(tracking_code=code).select_related("line__notice__village").first()
        kind = "objection"
        if case is None:
            case = Report.objects.filter(tracking_code=code).select_related("facility").first()
            kind = "report"
    return render(request, "publicity/status.html",
                  _context(form=form, case=case, kind=kind if case else None, searched=searched))


@login_not_required
@require_http_methods(["GET", "POST"])
def claim_lookup(request):
    """The villager's own page: the ID number and the full name must both match; an unknown ID
    number gets exactly the same answer as a mismatch. The entered values are never echoed back.
    It shows their own claims of the last three years, their household's cover this year and next
    (the household as counts only) and the co-op card number; name and ID masked."""
    today = timezone.localdate()
    found = None
    searched = False
    form = LookupForm(request.POST or None)
    if request.method == "POST":
        if not throttle_hit(request, "lookup"):
            return _throttled(request)
        if form.is_valid():
            searched = True
            found = selectors.villager_page(id_number=form.cleaned_data["id_number"],
                                            name=form.cleaned_data["name"], today=today)
        form = LookupForm()  # never echo an ID number or a name back into the page
    context = _context(form=form, year=today.year, searched=searched, first_year=today.year - selectors.LOOKUP_YEARS + 1)
    if found is not None:
        context.update(masked_name=rules.mask_name(found.member.name), masked_id=rules.mask_id(found.member.id_number),
                       villager=found)
    return render(request, "publicity/lookup.html", context)


def _policy_year(request) -> int | None:
    """The year asked for by ?year= (None: not asked, or not a year: the latest loaded)."""
    asked = request.GET.get("year", "").strip()
    return int(asked) if asked.isdigit() and len(asked) == 4 else None


def _policy_context(request):
    """The page's (or the leaflet's) context and the policy shown; the policy is None when the
    year asked for, or any year when none is asked for, has no policy loaded."""
    year = _policy_year(request)
    version = policy_words.policy_version(year)
    context = _context(years=policy_words.policy_years(), year=year if version is None else version.year,
                       version=version)
    if version is not None:
        context.update(policy_words.described(version))
    return context, version


def _policy_render(request, context, version, form):
    if version is None:
        return render(request, "publicity/policy.html", context, status=404)
    context.update(form=form, leaflet_url=reverse("publicity:policy_leaflet") + f"?year={version.year}")
    return render(request, "publicity/policy.html", context)


def _calculator_form(version, data=None):
    policy = version.policy()
    return PolicyCalculatorForm(data, levels=policy_words.level_choices(policy),
                                groups=policy_words.group_choices(policy), auto_id="calc_%s")


@public_cached
def _policy_page_cached(request):
    context, version = _policy_context(request)
    return _policy_render(request, context, version, _calculator_form(version) if version else None)


@login_not_required
@require_http_methods(["GET"])
def policy_page(request):
    """The year's policy in plain words (?year=, the latest loaded by default) and the calculator.
    The page alone is cached; a calculation (?total=...) is throttled per address like the
    lookup and never cached. The calculator reads nobody's data and writes nothing."""
    if "total" not in request.GET:
        return _policy_page_cached(request)
    context, version = _policy_context(request)
    if version is None:
        return _policy_render(request, context, version, None)
    if not throttle_hit(request, "calculator"):
        return _throttled(request)
    form = _calculator_form(version, request.GET)
    if form.is_valid():
        data = form.cleaned_data
        try:
            context["quote"] = policy_words.quote(
                policy=version.policy(), level=data["level"], total_cost=data["total"],
                self_paid=data["self_paid"], referred=data["referred"], group=data.get("group") or "")
        except NcmsError as exc:
            form.add_error(None, exc.message)
    return _policy_render(request, context, version, form)


LEAFLET_LARGE_MAX_DISEASES = 3


@login_not_required
@require_http_methods(["GET"])
@public_cached
def policy_leaflet(request):
    """The year's policy as a one-page A4 leaflet for the village board, with a QR code to the
    page and its calculator."""
    from weasyprint import HTML

    context, version = _policy_context(request)
    if version is None:
        return render(request, "publicity/policy.html", context, status=404)
    url = request.build_absolute_uri(reverse("publicity:policy_page") + f"?year={version.year}")
    # larger type when the year's list of single diseases is short enough to keep to one page
    context.update(url=url, qr=qr_data_uri(url), large=len(context["single_diseases"]) <= LEAFLET_LARGE_MAX_DISEASES)
    html = render_to_string("publicity/policy_leaflet.html", context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="policy-{version.year}.pdf"'
    return response
