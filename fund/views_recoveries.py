"""The fund officer's recoveries page (`/fund/recoveries/`): every recovery (追回) with what is
still owed, and households' refunds of township-channel ones. fund.view reads it; fund.refund
records a refund (fund.refunds.refund_record, which books it in the ledger)."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import capability_required, user_can
from claims.models import Recovery
from core.errors import NcmsError
from core.money import format_yuan

from .forms import RefundForm
from .recoveries import recovery_rows
from .refunds import refund_record


def _year(request) -> int | None:
    text = request.GET.get("year", "")
    return int(text) if text.isdigit() else None


@capability_required("fund.view")
def recovery_list(request):
    year = _year(request)
    outstanding_only = request.GET.get("outstanding") == "1"
    rows = recovery_rows(user=request.user, year=year, outstanding_only=outstanding_only)
    return render(request, "fund/recoveries.html", {
        "rows": rows, "year": year, "outstanding_only": outstanding_only,
        "years": range(timezone.localdate().year, timezone.localdate().year - 5, -1),
        "can_refund": user_can(request.user, "fund.refund"), "refund_form": RefundForm(),
        "today": timezone.localdate().isoformat(),
    })


@capability_required("fund.refund")
@require_POST
def refund_create(request, pk):
    """A household's refund of a township-channel recovery; a refusal is shown in Chinese and
    nothing is written."""
    recovery = get_object_or_404(Recovery.objects.for_user(request.user).select_related("claim"), pk=pk)
    form = RefundForm(request.POST)
    back = f"{reverse('fund:recovery_list')}#recovery-{recovery.pk}"
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    try:
        refund = refund_record(user=request.user, recovery=recovery, amount=data["amount"], on=data["date"],
                               ref=data["ref"])
    except NcmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已登记退款 %(amount)s 元（补偿申请 %(invoice)s，业务号 %(ref)s）") % {
            "amount": format_yuan(refund.amount), "invoice": recovery.claim.invoice_no, "ref": refund.ref})
    return redirect(back)
