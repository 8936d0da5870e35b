"""Clerk pages of households, members and contributions, and the co-op card PDF.

Thin adapters: scoping comes from `for_user` (out of scope → 404), what a role may do from
`capability_required` (→ 403), every write from enrollment/services.py.
"""
from collections import OrderedDict
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.roles import capability_required, user_can
from core.errors import NcmsError
from enrollment import selectors, services
from enrollment.forms import (
    ContributionForm,
    ContributionVoidForm,
    HouseholdContributionForm,
    HouseholdCreateForm,
    HouseholdForm,
    HouseholdSearchForm,
    MemberForm,
    MemberLeaveForm,
    MemberMoveForm,
    MemberReinstateForm,
    NewbornForm,
    add_service_error,
)
from enrollment.models import ContributionVoid, Enrollment, Household, Member, MemberMove

PAGE_SIZE = 20


def scheme_year() -> int:
    """The current scheme year (calendar year, Asia/Shanghai)."""
    return timezone.localdate().year


def _members_with_year(household: Household, year: int):
    """The household's members, each with `enrollment_this_year` (or None), head first."""
    this_year = Enrollment.objects.filter(year=year)
    members = list(
        household.members.order_by("id").prefetch_related(
            Prefetch("enrollments", queryset=this_year, to_attr="enrollments_this_year")
        )
    )
    for member in members:
        member.enrollment_this_year = member.enrollments_this_year[0] if member.enrollments_this_year else None
    members.sort(key=lambda m: (m.pk != household.head_id, m.pk))
    return members


@capability_required("enrollment.view")
def household_search(request):
    form = HouseholdSearchForm(request.GET or None, user=request.user)
    q, village, searched = "", None, bool(request.GET)
    if form.is_valid():
        q, village = form.cleaned_data["q"], form.cleaned_data["village"]
    households = selectors.household_search(user=request.user, q=q, village=village)
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "enrollment/household_search.html", {
        "form": form, "page": page, "searched": searched, "query": query.urlencode(),
        "can_change": user_can(request.user, "enrollment.change"),
    })


@capability_required("enrollment.view")
def household_detail(request, pk):
    household = get_object_or_404(
        Household.objects.for_user(request.user).select_related("village__township", "head"), pk=pk
    )
    year = scheme_year()
    members = _members_with_year(household, year)
    by_year: OrderedDict[int, list] = OrderedDict()
    enrollments = (
        Enrollment.objects.filter(member__household=household)
        .select_related("member", "recorded_by").order_by("-year", "member_id")
    )
    for enrollment in enrollments:
        by_year.setdefault(enrollment.year, []).append(enrollment)
    years = [
        {"year": y, "enrollments": rows, "total": sum((e.contribution for e in rows), Decimal("0.00"))}
        for y, rows in by_year.items()
    ]
    voids = (ContributionVoid.objects.filter(member__household=household)
             .select_related("member", "voided_by", "recorded_by").order_by("-voided_at"))
    enrolled_count = sum(1 for m in members if m.enrollment_this_year)
    # who counts for the year: a member who died or moved out of the county before it leaves the count
    counted = [m for m in members if not m.left_before(year)]
    moves = (MemberMove.objects.filter(Q(from_household=household) | Q(to_household=household))
             .select_related("member", "from_household", "to_household", "moved_by"))
    return render(request, "enrollment/household_detail.html", {
        "household": household, "members": members, "year": year, "years": years,
        "enrolled_count": enrolled_count, "counted_count": len(counted), "voids": voids, "moves": moves,
        "history": selectors.household_history(household=household),
        "can_change": user_can(request.user, "enrollment.change"),
        "can_pay": (user_can(request.user, "enrollment.change")
                    and any(m.on_roll and not m.enrollment_this_year for m in members)),
        "can_void": user_can(request.user, "fund.void_contribution"),
    })


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def household_create(request):
    form = HouseholdCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            household = services.household_create(user=request.user, **form.household_kwargs())
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("家庭户 %(number)s 已建档") % {"number": household.number})
            return redirect("enrollment:household_detail", pk=household.pk)
    return render(request, "enrollment/household_form.html", {"form": form, "household": None})


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def household_edit(request, pk):
    household = get_object_or_404(Household.objects.for_user(request.user), pk=pk)
    initial = {"village": household.village, "address": household.address, "phone": household.phone,
               "bank_name": household.bank_name, "bank_account": household.bank_account}
    form = HouseholdForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.household_update(user=request.user, household=household, **form.household_kwargs())
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("家庭户信息已保存"))
            return redirect("enrollment:household_detail", pk=household.pk)
    return render(request, "enrollment/household_form.html", {"form": form, "household": household})


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def member_add(request, pk):
    household = get_object_or_404(Household.objects.for_user(request.user), pk=pk)
    form = MemberForm(request.POST or None, household=household)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_add(user=request.user, household=household, **form.service_kwargs())
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("已添加成员 %(name)s") % {"name": member.name})
            return redirect("enrollment:household_detail", pk=household.pk)
    return render(request, "enrollment/member_form.html", {"form": form, "household": household, "member": None})


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def member_edit(request, pk):
    member = get_object_or_404(Member.objects.for_user(request.user).select_related("household"), pk=pk)
    initial = {"name": member.name, "id_number": member.id_number, "sex": member.sex,
               "birth_date": member.birth_date, "relation": member.relation,
               "category": member.category, "phone": member.phone}
    form = MemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(user=request.user, member=member, **form.service_kwargs())
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("成员信息已保存"))
            return redirect("enrollment:household_detail", pk=member.household_id)
    return render(request, "enrollment/member_form.html",
                  {"form": form, "household": member.household, "member": member})


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def enrollment_record(request, pk):
    member = get_object_or_404(Member.objects.for_user(request.user).select_related("household"), pk=pk)
    year = scheme_year()
    existing = Enrollment.objects.filter(member=member, year=year).select_related("recorded_by").first()
    amount = services.year_contribution(year)
    form = ContributionForm(request.POST or None, initial={"paid_date": timezone.localdate()},
                            year=year, amount=amount)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.enrollment_record_contribution(
                user=request.user, member=member, year=year, contribution=data["contribution"],
                receipt_no=data["receipt_no"], paid_date=data["paid_date"], payer=data["payer"] or None,
            )
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(name)s 的%(year)s年度缴费已登记") % {"name": member.name, "year": year})
            return redirect("enrollment:household_detail", pk=member.household_id)
    return render(request, "enrollment/enrollment_form.html", {
        "form": form, "member": member, "household": member.household, "year": year,
        "existing": existing, "default_payer": services.default_payer(member.category), "amount": amount,
    })


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def household_pay(request, pk):
    """The whole household pays: the year's contribution of every member not yet enrolled, in one form."""
    household = get_object_or_404(Household.objects.for_user(request.user), pk=pk)
    year = scheme_year()
    members = services.members_to_enroll(household, year)
    amount = services.year_contribution(year)
    form = HouseholdContributionForm(request.POST or None, members=members,
                                     initial={"paid_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            enrollments = services.household_record_contributions(
                user=request.user, household=household, year=year, paid_date=form.cleaned_data["paid_date"],
                receipts=form.cleaned_data["receipts"])
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("已登记本户 %(count)s 人的%(year)s年度缴费") % {
                "count": len(enrollments), "year": year})
            return redirect("enrollment:household_detail", pk=household.pk)
    rows = [(member, services.default_payer(member.category), field)
            for member, field in zip(members, form.receipt_fields())]
    return render(request, "enrollment/household_pay.html", {
        "form": form, "household": household, "year": year, "amount": amount, "rows": rows,
        "total": amount * len(members) if amount is not None else None,
    })


def _household_action(request, *, form, act, template: str, household, **context):
    """A page that changes one household's member through a service (`act(cleaned_data)`, which
    returns the success message): a refusal is shown on the form, nothing written; on success
    the message, and back to the household (enrollment/_household_action.html)."""
    if request.method == "POST" and form.is_valid():
        try:
            message = act(form.cleaned_data)
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, message)
            return redirect("enrollment:household_detail", pk=household.pk)
    return render(request, template, {"form": form, "household": household, **context})


@capability_required("fund.void_contribution")
@require_http_methods(["GET", "POST"])
def contribution_void(request, pk):
    """The fund officer voids a mistaken contribution, with a reason (a reversing entry)."""
    enrollment = get_object_or_404(
        Enrollment.objects.for_user(request.user).select_related("member__household", "recorded_by"), pk=pk)

    def act(data):
        services.contribution_void(user=request.user, enrollment=enrollment, reason=data["reason"])
        return _("%(name)s 的%(year)s年度缴费已作废") % {"name": enrollment.member.name, "year": enrollment.year}

    return _household_action(request, form=ContributionVoidForm(request.POST or None), act=act,
                             template="enrollment/contribution_void.html", household=enrollment.member.household,
                             enrollment=enrollment)


def _scoped_member(request, pk) -> Member:
    return get_object_or_404(Member.objects.for_user(request.user).select_related("household"), pk=pk)


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def member_leave(request, pk):
    """A member died or moved out of the county: the date and the reason."""
    member = _scoped_member(request, pk)

    def act(data):
        services.member_leave(user=request.user, member=member, status=data["status"], on=data["on"],
                              reason=data["reason"])
        member.refresh_from_db()
        return _("已登记 %(name)s %(status)s") % {"name": member.name, "status": member.get_status_display()}

    return _household_action(request, form=MemberLeaveForm(request.POST or None), act=act,
                             template="enrollment/member_leave.html", household=member.household, member=member)


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def member_reinstate(request, pk):
    """A death or move-out recorded by mistake undone: the member back on the roll, with a reason."""
    member = _scoped_member(request, pk)

    def act(data):
        status = member.get_status_display()
        services.member_reinstate(user=request.user, member=member, reason=data["reason"])
        return _("已撤销 %(name)s 的%(status)s登记，该成员重新在册") % {"name": member.name, "status": status}

    return _household_action(request, form=MemberReinstateForm(request.POST or None), act=act,
                             template="enrollment/member_reinstate.html", household=member.household, member=member)


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def member_move(request, pk):
    """A member moved to another household of the county (the clerk's own township; the county
    office between townships)."""
    member = _scoped_member(request, pk)

    def act(data):
        move = services.member_move(user=request.user, member=member, on=data["on"], reason=data["reason"],
                                    to_household_number=data["to_household_number"], relation=data["relation"])
        return _("%(name)s 已迁入户号 %(number)s") % {"name": member.name, "number": move.to_household.number}

    form = MemberMoveForm(request.POST or None, initial={"on": timezone.localdate()})
    # back to the household the member left
    return _household_action(request, form=form, act=act, template="enrollment/member_move.html",
                             household=member.household, member=member)


@capability_required("enrollment.change")
@require_http_methods(["GET", "POST"])
def newborn_add(request, pk):
    """A newborn added to the household and enrolled for the scheme year of the payment."""
    household = get_object_or_404(Household.objects.for_user(request.user).select_related("head"), pk=pk)
    form = NewbornForm(request.POST or None, initial={"paid_date": timezone.localdate()})

    def act(data):
        enrollment = services.newborn_add(user=request.user, household=household, **form.service_kwargs())
        words = {"name": enrollment.member.name, "year": enrollment.year}
        if services.covered_from_birth(enrollment):
            return _("新生儿 %(name)s 已入户并登记%(year)s年度缴费，自出生之日起享受待遇") % words
        return _("新生儿 %(name)s 已入户并登记%(year)s年度缴费；出生90天后才缴费，按补偿方案的缴费规定起算待遇") % words

    return _household_action(request, form=form, act=act, template="enrollment/newborn_form.html", household=household,
                             amount=services.year_contribution(scheme_year()))


@capability_required("enrollment.view")
def household_card_pdf(request, pk):
    """The co-op card (合作医疗证) as a PDF, rendered by WeasyPrint with a CJK font."""
    from weasyprint import HTML

    household = get_object_or_404(
        Household.objects.for_user(request.user).select_related("village__township", "head"), pk=pk
    )
    year = scheme_year()
    html = render_to_string("enrollment/card.html", {
        "household": household, "members": _members_with_year(household, year), "year": year,
        "county_name": settings.COUNTY_NAME, "printed": timezone.localdate(),
    }, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="card-{household.card_number}.pdf"'
    return response
