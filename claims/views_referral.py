"""Referral records' pages (转诊单): the list, issuing one, its page and cancelling it.

Scoping comes from `Referral.objects.for_user` (out of scope → 404), what a role may do from
`capability_required` (→ 403), every write from claims.referrals.
"""
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import capability_required, user_can
from claims import services
from claims.forms import REFERRAL_ERROR_FIELDS, ReferralCancelForm, ReferralForm
from claims.models import Claim, Referral
from claims.referrals import can_cancel
from core.errors import NcmsError

PAGE_SIZE = 30


def _referrals(user):
    return Referral.objects.for_user(user).select_related("member", "from_facility", "to_facility", "township")


@capability_required("referrals.view")
@require_http_methods(["GET"])
def referral_list(request):
    """The referrals the user reaches, newest first; searched by number, name or ID number."""
    rows = _referrals(request.user)
    text = (request.GET.get("q") or "").strip()[:60]
    if text:
        rows = rows.filter(Q(number__icontains=text) | Q(member__name__icontains=text)
                           | Q(member__id_number__iexact=text))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "claims/referral_list.html", {
        "page": page, "q": text, "can_issue": user_can(request.user, "referrals.issue")})


@capability_required("referrals.issue")
@require_http_methods(["GET", "POST"])
def referral_create(request):
    """Issue a referral: a facility from itself, the township office for its members."""
    form = ReferralForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.referral_issue(
                user=request.user, number=data["number"], id_number=data["id_number"],
                from_facility=data["from_facility"], to_facility=data["to_facility"], day=data["date"],
                reason=data["reason"], emergency=data["emergency"], admission_date=data["admission_date"])
        except NcmsError as exc:
            field = REFERRAL_ERROR_FIELDS.get(exc.code)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, _("转诊单 %(number)s 已开具") % {"number": referral.number})
            return redirect("claims:referral_detail", pk=referral.pk)
    return render(request, "claims/referral_form.html", {"form": form})


@capability_required("referrals.view")
@require_http_methods(["GET"])
def referral_detail(request, pk):
    referral = get_object_or_404(_referrals(request.user).select_related("issued_by", "cancelled_by"), pk=pk)
    return render(request, "claims/referral_detail.html", {
        "referral": referral,
        "claims": list(Claim.objects.for_user(request.user).filter(referral=referral)
                       .select_related("facility").order_by("-admission_date")),
        "can_cancel": (user_can(request.user, "referrals.issue") and referral.cancelled_at is None
                       and can_cancel(request.user, referral)),
        "cancel_form": ReferralCancelForm(),
    })


@capability_required("referrals.issue")
@require_POST
def referral_cancel(request, pk):
    """Cancel (作废) a referral with a reason; refused for one a claim rests on."""
    referral = get_object_or_404(Referral.objects.for_user(request.user), pk=pk)
    form = ReferralCancelForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("claims:referral_detail", pk=referral.pk)
    try:
        services.referral_cancel(user=request.user, referral=referral, reason=form.cleaned_data["reason"])
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("转诊单 %(number)s 已作废") % {"number": referral.number})
    return redirect("claims:referral_detail", pk=referral.pk)
