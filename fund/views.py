"""Fund pages: the ledger, income and transfer entry (fund officer), the cashier's payout queue
with the bank payment file, and the reconciliation.

Thin adapters: what a role may do is `capability_required` (→ 403); which claims a user reaches
is `Claim.objects.for_user` (→ 404); every write goes through fund/services.py.
"""
import uuid
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import capability_required, user_can
from claims.models import Claim, ClaimStatus
from core.errors import NcmsError
from core.money import ZERO, format_yuan
from core.tabular import text_cell
from core.xlsx import xlsx_response
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import AccountBalance, LedgerTransaction

from . import selectors, services
from .forms import IncomeForm, PayoutFilterForm, TransferForm, add_service_error
from .models import PayoutBatch

PAGE_SIZE = 30


def _year(request) -> int | None:
    text = request.GET.get("year", "")
    return int(text) if text.isdigit() else None


@capability_required("fund.view")
def ledger(request):
    """Accounts with their balances (all years or one) and the transactions with their lines."""
    year = _year(request)
    entries = LedgerTransaction.objects.for_user(request.user).prefetch_related("lines__account").select_related(
        "created_by", "reverses")
    if year:
        entries = entries.filter(year=year)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    balances = ledger_selectors.balances_by_account(year=year)
    special_total = sum((amount for account, amount in balances if account.code in ("special", "reserve")),
                        Decimal("0.00"))
    rows = [{"account": account, "amount": amount, "shown": abs(amount),
             "side": "debit" if amount > 0 else ("credit" if amount < 0 else "")} for account, amount in balances]
    return render(request, "fund/ledger.html", {
        "year": year, "years": ledger_selectors.ledger_years(), "balances": rows, "special_total": special_total,
        "page": page, "can_income": user_can(request.user, "fund.income"),
        "can_transfer": user_can(request.user, "fund.transfer"), "can_pay": user_can(request.user, "fund.pay"),
    })


@capability_required("fund.income")
@require_http_methods(["GET", "POST"])
def income_create(request):
    form = IncomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = ledger_services.income_record(user=request.user, year=data["year"], date=data["date"],
                                           source=data["source"], amount=data["amount"], ref=data["ref"])
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("已登记收入 %(amount)s 元（业务号 %(ref)s）")
                             % {"amount": format_yuan(data["amount"]), "ref": entry.ref})
            return redirect(f"{reverse('fund:ledger')}?year={entry.year}")
    return render(request, "fund/booking_form.html", {"form": form, "title": _("登记基金收入")})


@capability_required("fund.transfer")
@require_http_methods(["GET", "POST"])
def transfer_create(request):
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = ledger_services.funds_transfer(user=request.user, year=data["year"], date=data["date"],
                                            amount=data["amount"], ref=data["ref"])
        except NcmsError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("已划拨 %(amount)s 元至支出户（业务号 %(ref)s）")
                             % {"amount": format_yuan(data["amount"]), "ref": entry.ref})
            return redirect(f"{reverse('fund:ledger')}?year={entry.year}")
    available = AccountBalance.objects.filter(account__code__in=["special", "reserve"]).select_related(
        "account").order_by("-year", "account__order")
    return render(request, "fund/booking_form.html", {"form": form, "title": _("划拨至支出户"),
                                                       "available": available})


@capability_required("fund.pay")
def payout_queue(request):
    """The cashier's queue: approved claims in scope, filtered; pay one or the selected batch."""
    form = PayoutFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    claims = selectors.payout_queue(user=request.user, year=filters.get("year"), township=filters.get("township"),
                                    q=filters.get("q") or "")
    page = Paginator(claims, 50).get_page(request.GET.get("page"))
    expenditure = AccountBalance.objects.filter(account__code="expenditure").order_by("-year")
    return render(request, "fund/payout_queue.html", {"form": form, "page": page, "expenditure": expenditure,
                                                       "last_batch": request.session.pop("fund_last_batch", None),
                                                       # the bank files of the user's recent batches,
                                                       # still there after a reload
                                                       "recent_batches": _recent_batches(request.user),
                                                       # the claims this user approved: paid by another
                                                       "held": selectors.held_for_another_cashier(user=request.user),
                                                       # the request's idempotency key: a resend of
                                                       # this form never pays twice
                                                       "idempotency_key": uuid.uuid4().hex,
                                                       "query": urlencode({k: v for k, v in request.GET.items()
                                                                           if k != "page"})})


def _recent_batches(user, limit: int = 5) -> list:
    """The user's last payout batches, each with its claims' count and its bank file's address."""
    batches = list(PayoutBatch.objects.filter(created_by=user).prefetch_related("claims").order_by("-created_at",
                                                                                                    "-id")[:limit])
    for batch in batches:
        ids = sorted(claim.pk for claim in batch.claims.all())
        batch.count = len(ids)
        batch.file_url = f"{reverse('fund:bank_file')}?{urlencode([('claim', pk) for pk in ids])}"
    return batches


def _claims_in_scope(request, ids, statuses):
    ids = sorted({int(pk) for pk in ids if str(pk).isdigit()})
    if not ids:
        return []
    found = list(Claim.objects.for_user(request.user).filter(pk__in=ids, status__in=statuses)
                 .select_related("member__household__head", "member__household__village__township"))
    found_ids = {claim.pk for claim in found}
    missing = [pk for pk in ids if pk not in found_ids]
    # a claim out of scope or unknown is a 404, like any object out of scope; a claim in scope
    # but already paid is left to the service, which says so
    if missing and Claim.objects.for_user(request.user).filter(pk__in=missing).count() != len(missing):
        raise Http404
    return found + list(Claim.objects.for_user(request.user).filter(pk__in=missing))


@capability_required("fund.pay")
@require_POST
def payout_pay(request):
    """Pay one claim (button `pay_one`) or the selected claims as one all-or-nothing batch.
    A double click sends the same claims twice: the second finds them paid and says so.
    The form carries the idempotency key it was rendered with (`idempotency_key`): the same form
    sent again after a lost connection answers with what was paid, never pays twice
    (`services.payout_batch_pay`). A post without a key (a page rendered before keys were sent) is paid without one."""
    ids = [request.POST["pay_one"]] if request.POST.get("pay_one") else request.POST.getlist("claim")
    claims = _claims_in_scope(request, ids, [ClaimStatus.APPROVED, ClaimStatus.PAID])
    # back to the queue page the cashier came from: a path of this site only (never //host/...)
    next_url = request.POST.get("next") or ""
    if not (next_url.startswith("/") and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure())):
        next_url = reverse("fund:payout_queue")
    if not claims:
        messages.error(request, _("请选择要兑付的补偿申请"))
        return redirect(next_url)
    key = request.POST.get("idempotency_key", "")
    replayed = False
    try:
        if key:
            result = services.payout_batch_pay(user=request.user, claims=claims, key=key)
            paid, replayed = result.claims, result.replayed
        else:
            paid = services.claims_pay_batch(user=request.user, claims=claims)
    except NcmsError as exc:
        level = messages.WARNING if exc.code == "already_paid" else messages.ERROR
        messages.add_message(request, level, exc.message)
        return redirect(next_url)
    total = sum(claim.compensation for claim in paid)
    file_url = f"{reverse('fund:bank_file')}?{urlencode([('claim', claim.pk) for claim in paid])}"
    if replayed:
        messages.success(request, _("这批兑付已经完成（重复提交，没有再次付款）：%(count)s 件，合计 %(total)s 元")
                         % {"count": len(paid), "total": format_yuan(total)})
    else:
        messages.success(request, _("已兑付 %(count)s 件，合计 %(total)s 元") % {"count": len(paid), "total": format_yuan(total)})
    request.session["fund_last_batch"] = file_url
    return redirect(next_url)


BANK_FILE_HEADER = ["户主姓名", "开户银行", "银行账号", "金额", "发票号", "参合人员", "户号"]


@capability_required("fund.pay")
def bank_file(request):
    """The bank payment file (XLSX) of a batch: one row per claim with the household's account.
    The account number is a text cell, so a spreadsheet never turns it into 6.22848E+18."""
    from openpyxl import Workbook

    claims = [claim for claim in _claims_in_scope(request, request.GET.getlist("claim"),
                                                  [ClaimStatus.APPROVED, ClaimStatus.PAID])
              if claim.status in (ClaimStatus.APPROVED, ClaimStatus.PAID)]
    if not claims:
        raise Http404
    book = Workbook()
    sheet = book.active
    sheet.title = "兑付"
    sheet.append(BANK_FILE_HEADER)
    for claim in sorted(claims, key=lambda c: c.pk):
        household = claim.member.household
        head = household.head.name if household.head_id else claim.member.name
        # text as text: a name or bank typed as "=HYPERLINK(...)" never becomes a live formula
        sheet.append([text_cell(head), text_cell(household.bank_name), text_cell(household.bank_account),
                      claim.compensation, text_cell(claim.invoice_no), text_cell(claim.member.name),
                      text_cell(household.number)])
        row = sheet.max_row
        sheet.cell(row=row, column=3).number_format = "@"
        sheet.cell(row=row, column=4).number_format = "#,##0.00"
    # the total row the bank checks the transfer against
    sheet.append([f"合计 {len(claims)} 笔", None, None, sum((claim.compensation for claim in claims), ZERO)])
    sheet.cell(row=sheet.max_row, column=4).number_format = "#,##0.00"
    for letter, width in zip("ABCDEFG", (12, 20, 26, 12, 22, 12, 16)):
        sheet.column_dimensions[letter].width = width
    return xlsx_response(book, f"payout-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


@capability_required("fund.view")
def reconciliation_view(request):
    year = _year(request) or timezone.localdate().year
    return render(request, "fund/reconciliation.html", {
        "year": year, "years": sorted(set(ledger_selectors.ledger_years()) | {year}, reverse=True),
        "differences": selectors.reconciliation(year)})
