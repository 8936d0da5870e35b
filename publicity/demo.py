"""The publicity part of the demo county (`seed_demo`), a writer run after the claims writer,
as of the county's date today:

- transfers money from the special account (the contributions and subsidies demo.county books)
  to the expenditure account (fund.services funds_transfer) so the fund can pay;
- pays about two thirds of the approved township-channel demo claims to households through
  fund.services.claims_pay_batch, each dated a week to a month after discharge, and never after
  the payout cutoff (claims.demo.payout_cutoff, eight days ago); the newest approved one waits in
  the cashier's queue; pays each facility's monthly statement (fund.statements) of the months
  whose 5th after their end is by the cutoff (claims.demo.statement_months), except one
  facility's (claims.demo.waiting_facility), which wait for the cashier: facility-channel claims
  are paid to the facility. A recovery withheld from a statement, an inspection penalty and a
  household's recovery half refunded come with them;
- publishes the notices of those months (publicity.services.notices_publish), each a few days
  after the month's end and by the cutoff, so their objection periods are over today; then pays
  one more household yesterday and posts its notice: the one notice open for objections today.
  It files one objection and one report.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import Role
from claims.demo import STATEMENT_PAY_DAY, payout_cutoff, statement_months
from claims.models import Channel, Claim, ClaimStatus
from claims.services import claim_recover
from facilities.models import Facility
from fund.refunds import refund_record
from fund.services import claims_pay_batch
from fund.statements import month_last_day, statement_pay, statements_for_month
from ledger.models import SPECIAL, AccountBalance
from ledger.services import funds_transfer, income_record
from oversight.services import inspection_record

PAID_SHARE = 0.67


def write_publicity(ctx) -> None:
    from . import services

    config = ctx.county.config
    year = config.year
    today = timezone.localdate()
    cutoff = payout_cutoff(today)
    approved = list(Claim.objects.filter(status=ClaimStatus.APPROVED, year=year).order_by("pk"))
    rng = random.Random(config.seed + 6)
    chosen = [claim for claim in approved if rng.random() < PAID_SHARE]
    plans = []
    # the facilities' statements of the months that have ended, each paid on the 5th after
    # (claims.demo.statement_months); one facility's statements all wait for the cashier
    months_paid = statement_months(year, today)
    waiting_code = ctx.county.extras.get("waiting_facility")
    waiting = ctx.facilities.get(waiting_code) if waiting_code else None
    for claim in approved:
        if claim.channel == Channel.FACILITY and claim.facility_id != waiting:
            month = next((m for m in months_paid if claim.discharge_date <= month_last_day(year, m)), None)
            if month is not None:
                plans.append((month_last_day(year, month) + timedelta(days=STATEMENT_PAY_DAY), claim))
    # the newest approved township-office claim waits for the cashier's payout queue
    township = [claim for claim in approved if claim.channel == Channel.TOWNSHIP]
    for_cashier = max(township, key=lambda c: (c.discharge_date, c.pk)).pk if len(township) > 1 else None
    fresh = None  # one household paid yesterday: its notice is the one open for objections
    yesterday = today - timedelta(days=1)
    for claim in chosen:
        if claim.channel != Channel.TOWNSHIP or claim.pk == for_cashier:
            continue
        # the demo's claims are all approved "now" by the services; the payout is dated in the
        # past, a week to a month after discharge, as the county would have paid them
        earliest = claim.discharge_date + timedelta(days=7)
        if earliest > cutoff:
            if fresh is None and claim.discharge_date < yesterday:
                fresh = (yesterday, claim)
            continue
        paid_on = min(earliest + timedelta(days=rng.randint(0, 23)), cutoff)
        plans.append((paid_on, claim))
    if fresh is None:
        planned = {claim.pk for _, claim in plans}
        fresh = next(((yesterday, claim) for claim in reversed(township)
                      if claim.pk not in planned and claim.pk != for_cashier and claim.discharge_date < yesterday),
                     None)
    if fresh is None:  # every household claim was paid in time: the latest of them is paid yesterday
        paid_households = [plan for plan in plans if plan[1].channel == Channel.TOWNSHIP]
        if paid_households:
            latest = max(paid_households, key=lambda plan: (plan[1].discharge_date, plan[1].pk))
            plans.remove(latest)
            fresh = (yesterday, latest[1])
    if fresh is not None:
        plans.append(fresh)
    if not plans:
        return
    users = ctx.users
    fund_officer, cashier = users.get("fund"), users.get("cashier")
    needed = sum((claim.compensation for _, claim in plans), Decimal("0")) + 1000
    start = date(year, 1, 25)
    transferable = _transferable(year)
    if transferable < needed:  # a small demo with many claims: the county tops the fund up
        income_record(user=fund_officer, year=year, date=start, source="county",
                      amount=((needed - transferable) * 2).quantize(Decimal("1")), ref=f"演示-县级追加-{year}")
    funds_transfer(user=fund_officer, year=year, date=start + timedelta(days=1),
                   amount=needed.quantize(Decimal("0.01")), ref=f"演示-划拨-{year}")
    by_day = defaultdict(list)
    for paid_on, claim in plans:
        if claim.channel == Channel.TOWNSHIP:
            by_day[paid_on].append(claim)
    for paid_on in sorted(by_day):
        if fresh is None or paid_on != fresh[0]:
            claims_pay_batch(user=cashier, claims=by_day[paid_on], paid_date=paid_on)
    _refund_demo(users, [claim for day in sorted(by_day) for claim in by_day[day]
                         if fresh is None or claim.pk != fresh[1].pk], today)
    middle = months_paid[len(months_paid) // 2] if months_paid else None
    for month in months_paid:
        paid_on = month_last_day(year, month) + timedelta(days=STATEMENT_PAY_DAY)
        by_day.setdefault(paid_on, [])
        paid = []
        for statement in statements_for_month(year, month,
                                              facilities=Facility.objects.exclude(pk=waiting).order_by("code")):
            if not statement.paid:
                paid.append(statement_pay(user=cashier, facility=statement.facility, year=year, month=month,
                                          on=paid_on, ref=f"JS-{statement.facility.code}-{year}{month:02d}"))
        if month == middle and paid:
            _withholding_demo(users, paid[0].statement, paid_on, cutoff)
    # each month's notices a few days after its end, or by the cutoff: all closed by today
    tz = ZoneInfo(settings.TIME_ZONE)
    notices = []
    posted = None
    for y, m in sorted({(paid_on.year, paid_on.month) for paid_on in by_day if paid_on <= cutoff}):
        month_end = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
        posted = min(month_end + timedelta(days=3), cutoff)
        notices += services.notices_publish(user=fund_officer, year=y, month=m,
                                            now=datetime.combine(posted, time(9, 0), tzinfo=tz))
    if posted is not None:
        # the corrections of recoveries recorded after their claims' notices, on closed notices too
        notices += services.notices_publish(user=fund_officer, year=posted.year, month=posted.month,
                                            now=datetime.combine(posted, time(10, 0), tzinfo=tz))
    if fresh is not None:
        paid_on, claim = fresh
        claims_pay_batch(user=cashier, claims=[claim], paid_date=paid_on)
        notices += services.notices_publish(user=fund_officer, year=paid_on.year, month=paid_on.month,
                                            now=datetime.combine(paid_on, time(16, 0), tzinfo=tz))
    ctx.summary["claims_paid"] = len(plans)
    ctx.summary["claims_approved"] = ctx.summary.get("claims_approved", 0) - len(plans)
    ctx.summary["notices"] = len(notices)
    if notices:
        # the objection goes to a notice of a township with a demo clerk, who answers it after
        # looking into it; the county resolves it
        clerks = {user.township_id: user for user in users.values()
                  if user is not None and user.role == Role.TOWNSHIP_CLERK}
        notice = next((n for n in notices if n.village.township_id in clerks and n.lines.exists()), notices[0])
        line = notice.lines.order_by("order").first()
    if notices and line is not None:
        objection = services.objection_file(line=line, text="该户成员当月外出务工，未见住院，请核实。", anonymous=True,
                                            today=timezone.localdate(line.notice.posted_at))
        clerk = clerks.get(line.notice.village.township_id)
        if clerk is not None:
            services.case_answer(user=clerk, case=objection,
                                 answer="经村委会核实，该户成员当月曾回乡住院，有出院小结和住院发票为证，公示无误。")
        services.report_file(text="听说有病人住院期间白天回家，晚上才回医院，疑似挂床住院。",
                             facility=line.claim.facility, phone="13900001234")


def _transferable(year: int) -> Decimal:
    """What the special account of `year` may transfer: its balance (the risk reserve is booked
    to an account of its own)."""
    return AccountBalance.objects.filter(account__code=SPECIAL, year=year).values_list(
        "balance", flat=True).first() or Decimal("0")


def _withholding_demo(users, statement, paid_on: date, today: date) -> None:
    """After a facility's statement is paid: the reviewer recovers part of one of its claims and
    the fund officer records an inspection penalty to deduct; the facility's next statement
    withholds both."""
    claim = max(statement.claims, key=lambda claim: (claim.compensation, claim.pk))
    on = min(paid_on + timedelta(days=3), today)
    amount = min(claim.compensation, (claim.compensation / 10).quantize(Decimal("0.01")) or Decimal("0.01"))
    if amount > 0:
        claim_recover(user=users.get("reviewer"), claim=claim, amount=amount, on=on,
                      reason="复查发现重复收取检查费，按规定追回")
    inspection_record(user=users.get("fund"), facility=statement.facility, inspected_on=min(paid_on + timedelta(days=2), today),
                      inspectors="县合管办 周强、吴刚", findings="抽查在院病人 12 名，2 名不在床（挂床住院）",
                      penalty_amount=Decimal("500.00"), deduct_from_settlements=True)


def _refund_demo(users, paid_to_households, today: date) -> None:
    """A household was paid too much: the fund officer recovers it, and the household has
    refunded half so far."""
    if not paid_to_households:
        return
    claim = Claim.objects.get(pk=paid_to_households[0].pk)
    on = min(timezone.localdate(claim.paid_at) + timedelta(days=10), today)
    amount = (claim.compensation / 5).quantize(Decimal("0.01"))
    if amount <= 0:
        return
    recovery = claim_recover(user=users.get("fund"), claim=claim, amount=amount, on=on,
                             reason="发票中含非本次住院费用，多补部分追回")
    refund_record(user=users.get("fund"), recovery=recovery, amount=(amount / 2).quantize(Decimal("0.01")),
                  on=min(on + timedelta(days=2), today), ref=f"TK-{claim.invoice_no}")
