"""Facilities' monthly settlement statements (结算单) on the web (fund.statements).

County side (capability "fund.statements": cashier, fund officer, auditor, administrator): every
facility's statement of a month, one statement with its claims and what it withholds, the paid
statements' bank file (XLSX) and a printable PDF; the cashier ("fund.pay") pays a statement in
two steps (the form, then a confirmation showing the count and the net), through
`fund.statements.statement_pay`. A refusal (NcmsError) is shown and nothing is paid.

Facility side (capability "statements.view_own": the facility clerk): their own facility's
statements, read-only, with the same page and PDF; another facility's code is a 404.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import capability_required, user_can
from core.errors import NcmsError
from core.money import ZERO, amount_in_words, format_yuan
from core.tabular import text_cell
from core.xlsx import xlsx_response
from facilities.models import Facility

from .models import FacilityStatement
from .statements import Statement, statement_compute, statement_pay, statements_for_month


def last_complete_month(today: date | None = None) -> tuple[int, int]:
    """The last month that has ended, in local time (December of last year in January)."""
    today = today or timezone.localdate()
    previous = today.replace(day=1) - timedelta(days=1)
    return previous.year, previous.month


def _month_from_query(request) -> tuple[int, int]:
    year, month = request.GET.get("year", ""), request.GET.get("month", "")
    if year.isdigit() and month.isdigit() and 2000 <= int(year) <= 2100 and 1 <= int(month) <= 12:
        return int(year), int(month)
    return last_complete_month()


def _neighbours(year: int, month: int) -> tuple[tuple[int, int], tuple[int, int]]:
    before = (year - 1, 12) if month == 1 else (year, month - 1)
    after = (year + 1, 1) if month == 12 else (year, month + 1)
    return before, after


def _statement_or_404(facility: Facility, year: int, month: int) -> Statement | None:
    try:
        return statement_compute(facility, year, month)
    except NcmsError:
        raise Http404 from None


def _default_ref(facility: Facility, year: int, month: int) -> str:
    return f"JS-{facility.code}-{year}{month:02d}"


def _bank(statement: Statement | None, facility: Facility) -> tuple[str, str]:
    if statement is not None and statement.stored is not None:
        return statement.stored.bank_name, statement.stored.bank_account
    return facility.bank_name, facility.bank_account


def _detail_context(request, facility: Facility, year: int, month: int, statement: Statement | None, *,
                    own: bool) -> dict:
    bank_name, bank_account = _bank(statement, facility)
    namespace = "facility_statements" if own else "fund"
    args = [facility.code, year, month]
    return {
        "facility": facility, "year": year, "month": month, "statement": statement, "own": own,
        "bank_name": bank_name, "bank_account": bank_account,
        "net_words": amount_in_words(statement.net) if statement is not None else "",
        "pdf_url": reverse(f"{namespace}:statement_pdf", args=args),
        "list_url": reverse(f"{namespace}:statements") + ("" if own else f"?year={year}&month={month}"),
        "can_pay": (not own and statement is not None and not statement.paid
                    and user_can(request.user, "fund.pay")),
        "default_ref": _default_ref(facility, year, month),
        "today": timezone.localdate().isoformat(),
    }


def _pdf_response(request, facility: Facility, year: int, month: int, statement: Statement | None) -> HttpResponse:
    from weasyprint import HTML

    if statement is None:
        raise Http404
    bank_name, bank_account = _bank(statement, facility)
    html = render_to_string("fund/statement_pdf.html", {
        "facility": facility, "year": year, "month": month, "statement": statement,
        "bank_name": bank_name, "bank_account": bank_account, "net_words": amount_in_words(statement.net),
        "county_name": settings.COUNTY_NAME, "printed": timezone.localdate(),
    }, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="statement-{facility.code}-{year}{month:02d}.pdf"'
    return response


# --- the county's pages -------------------------------------------------------------------------


@capability_required("fund.statements")
def statement_list(request):
    """Every facility's statement of the month (default: the last complete month)."""
    year, month = _month_from_query(request)
    statements = statements_for_month(year, month)
    before, after = _neighbours(year, month)
    paid = [s for s in statements if s.paid]
    return render(request, "fund/statement_list.html", {
        "year": year, "month": month, "statements": statements, "before": before, "after": after,
        "total_net": sum((s.net for s in statements), ZERO), "paid_count": len(paid),
        "paid_net": sum((s.net for s in paid), ZERO)})


@capability_required("fund.statements")
def statement_detail(request, code: str, year: int, month: int):
    facility = get_object_or_404(Facility, code=code)
    statement = _statement_or_404(facility, year, month)
    return render(request, "fund/statement_detail.html",
                  _detail_context(request, facility, year, month, statement, own=False))


def _paid_on(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None


@capability_required("fund.pay")
@require_POST
def statement_pay_view(request, code: str, year: int, month: int):
    """The cashier pays a statement: the form posts here and is shown back for confirmation
    (count, net, date, ref); the confirmed post (confirm=1) pays through `statement_pay`."""
    facility = get_object_or_404(Facility, code=code)
    statement = _statement_or_404(facility, year, month)
    detail = reverse("fund:statement_detail", args=[facility.code, year, month])
    if statement is None:
        messages.error(request, _("%(code)s %(year)s年%(month)s月没有待支付的结算单")
                       % {"code": facility.code, "year": year, "month": month})
        return redirect(detail)
    paid_on = _paid_on(request.POST.get("paid_on", ""))
    ref = request.POST.get("ref", "").strip()
    if paid_on is None:
        messages.error(request, _("请填写支付日期（YYYY-MM-DD）"))
        return redirect(detail)
    if request.POST.get("confirm") != "1":
        context = _detail_context(request, facility, year, month, statement, own=False)
        context.update({"paid_on": paid_on, "ref": ref})
        return render(request, "fund/statement_confirm.html", context)
    shown = (request.POST.get("net", ""), request.POST.get("claims", ""))
    if not statement.paid and shown != (str(statement.net), str(len(statement.claims))):
        messages.error(request, _("结算单在确认期间已有变化（现为 %(count)s 件，实付 %(net)s 元），请重新核对后再支付，"
                                  "本次未支付") % {"count": len(statement.claims), "net": format_yuan(statement.net)})
        return redirect(detail)
    try:
        payment = statement_pay(user=request.user, facility=facility, year=year, month=month, on=paid_on, ref=ref)
    except NcmsError as exc:
        messages.error(request, exc.message)
        return redirect(detail)
    paid = payment.statement
    if payment.replayed:
        messages.success(request, _("该结算单已按业务号 %(ref)s 支付（重复提交，没有再次付款）") % {"ref": paid.stored.ref})
    else:
        messages.success(request, _("已支付结算单 %(code)s %(year)s年%(month)s月：%(count)s 件，实付 %(net)s 元")
                         % {"code": facility.code, "year": year, "month": month, "count": len(paid.claims),
                            "net": format_yuan(paid.net)})
    return redirect(detail)


@capability_required("fund.statements")
def statement_pdf(request, code: str, year: int, month: int):
    facility = get_object_or_404(Facility, code=code)
    return _pdf_response(request, facility, year, month, _statement_or_404(facility, year, month))


STATEMENT_BANK_FILE_HEADER = ["机构代码", "机构名称", "开户银行", "银行账号", "实付金额", "业务号", "支付日期"]


@capability_required("fund.statements")
def statement_bank_file(request):
    """The facilities' bank file of a month: one row per paid statement, net as a number, a total row."""
    from openpyxl import Workbook

    year, month = _month_from_query(request)
    paid = list(FacilityStatement.objects.filter(year=year, month=month).select_related("facility")
                .order_by("facility__code"))
    book = Workbook()
    sheet = book.active
    sheet.title = f"{year}-{month:02d}"
    sheet.append(STATEMENT_BANK_FILE_HEADER)
    for stored in paid:
        sheet.append([text_cell(stored.facility.code), text_cell(stored.facility.name), text_cell(stored.bank_name),
                      text_cell(stored.bank_account), stored.net, text_cell(stored.ref), stored.paid_on])
        row = sheet.max_row
        sheet.cell(row=row, column=4).number_format = "@"
        sheet.cell(row=row, column=5).number_format = "0.00"
        sheet.cell(row=row, column=7).number_format = "yyyy-mm-dd"
    sheet.append(["合计", f"{len(paid)} 家", None, None, sum((s.net for s in paid), Decimal("0.00")), None, None])
    sheet.cell(row=sheet.max_row, column=5).number_format = "0.00"
    for letter, width in zip("ABCDEFG", (12, 24, 20, 26, 14, 22, 12)):
        sheet.column_dimensions[letter].width = width
    return xlsx_response(book, f"statements-{year}{month:02d}.xlsx")


# --- the facility clerk's pages -----------------------------------------------------------------


def _own_facility(request, code: str | None = None) -> Facility:
    facility = request.user.facility if request.user.facility_id else None
    if facility is None:
        raise PermissionDenied
    if code is not None and code != facility.code:
        raise Http404
    return facility


RECENT_MONTHS = 3  # unpaid statements shown as they stand now: this month and the two before


@capability_required("statements.view_own")
def own_statement_list(request):
    """The clerk's facility: its paid statements, and the unpaid ones of recent months as computed now."""
    facility = _own_facility(request)
    paid = list(FacilityStatement.objects.filter(facility=facility).order_by("-year", "-month"))
    paid_months = {(s.year, s.month) for s in paid}
    today = timezone.localdate()
    year, month = today.year, today.month
    pending = []
    for _step in range(RECENT_MONTHS):
        if (year, month) not in paid_months:
            statement = statement_compute(facility, year, month)
            if statement is not None:
                pending.append(statement)
        (year, month), _after = _neighbours(year, month)
    return render(request, "fund/statement_own_list.html", {"facility": facility, "paid": paid, "pending": pending})


@capability_required("statements.view_own")
def own_statement_detail(request, code: str, year: int, month: int):
    facility = _own_facility(request, code)
    statement = _statement_or_404(facility, year, month)
    return render(request, "fund/statement_detail.html",
                  _detail_context(request, facility, year, month, statement, own=True))


@capability_required("statements.view_own")
def own_statement_pdf(request, code: str, year: int, month: int):
    facility = _own_facility(request, code)
    return _pdf_response(request, facility, year, month, _statement_or_404(facility, year, month))
