"""publish_notices: one notice per village per month, idempotent, addenda, immutability."""
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.errors import NcmsError
from publicity import services
from publicity.cache import public_cache_version
from publicity.models import CaseStatus, Notice, NoticeLine, Objection, Report

from .conftest import paid_claim

TZ = ZoneInfo("Asia/Shanghai")
POSTED = datetime(2026, 4, 2, 9, 30, tzinfo=TZ)


def publish(year=2026, month=3):
    out = StringIO()
    call_command("publish_notices", "--year", str(year), "--month", str(month), stdout=out)
    return out.getvalue()


def test_one_notice_per_village_with_masked_snapshots(county, village, other_village):
    notices = services.notices_publish(year=2026, month=3, now=POSTED)

    assert [(n.village.code, n.number, n.addendum_to_id) for n in notices] == [
        ("420102100201", 0, None), ("420102200201", 0, None)]
    first = notices[0]
    assert first.posted_at == POSTED
    assert first.objection_until == date(2026, 4, 9)
    lines = list(first.lines.order_by("order"))
    assert [(l.order, l.masked_name, l.village_name, l.compensation, l.total_cost, l.reimbursable_cost)
            for l in lines] == [(1, "李*", "东湖村", Decimal("810.00"), Decimal("1100.00"), Decimal("1100.00")),
                                (2, "王*国", "东湖村", Decimal("500.00"), Decimal("1100.00"), Decimal("1100.00"))]
    assert lines[0].facility_name == "县人民医院"
    assert lines[0].claim == county["claims"][0]
    assert lines[0].admission_date == date(2026, 3, 1) and lines[0].discharge_date == date(2026, 3, 8)
    assert notices[1].lines.get().masked_name == "欧**华"
    # April's claims are not in March's notices
    assert NoticeLine.objects.count() == 3


def test_the_month_is_the_local_paid_date(county):
    notices = services.notices_publish(year=2026, month=4, now=POSTED)
    assert sorted(l.masked_name for n in notices for l in n.lines.all()) == ["赵*", "陈*龙"]


def test_running_again_changes_nothing(county):
    first = publish()
    before = list(NoticeLine.objects.order_by("pk").values_list("pk", "notice_id", "claim_id", "masked_name"))
    notices_before = list(Notice.objects.order_by("pk").values_list("pk", "posted_at"))

    second = publish()

    assert first == "已发布2026年3月补偿公示2份（其中补充公示0份），共3人次\n"
    assert second == "2026年3月没有需要发布的补偿公示\n"
    assert list(NoticeLine.objects.order_by("pk").values_list("pk", "notice_id", "claim_id", "masked_name")) == before
    assert list(Notice.objects.order_by("pk").values_list("pk", "posted_at")) == notices_before


@override_settings(NOTICE_OBJECTION_DAYS=10)
def test_objection_period_is_the_county_setting(county):
    notice = services.notices_publish(year=2026, month=3, now=POSTED)[0]
    assert notice.objection_until == date(2026, 4, 12)


def test_a_claim_paid_for_the_month_after_posting_goes_to_an_addendum(county, village, cashier):
    original = services.notices_publish(year=2026, month=3, now=POSTED)[0]
    late = paid_claim(village, name="孙悟空", cashier=cashier, paid_date=date(2026, 3, 28), compensation="200.00")

    addenda = services.notices_publish(year=2026, month=3)

    assert len(addenda) == 1
    addendum = addenda[0]
    assert (addendum.village_id, addendum.number, addendum.addendum_to) == (village.pk, 1, original)
    assert [(l.order, l.masked_name, l.claim_id) for l in addendum.lines.all()] == [(1, "孙*空", late.pk)]
    assert original.lines.count() == 2  # the original is untouched
    # and a second late claim makes addendum 2, pointing to the original too
    paid_claim(village, name="猪八戒", cashier=cashier, paid_date=date(2026, 3, 29))
    second = services.notices_publish(year=2026, month=3)[0]
    assert (second.number, second.addendum_to_id) == (2, original.pk)


def test_a_posted_notice_and_its_lines_never_change(county):
    notice = services.notices_publish(year=2026, month=3, now=POSTED)[0]
    line = notice.lines.first()

    notice.objection_until = date(2027, 1, 1)
    with pytest.raises(NcmsError, match="公示一经发布不能修改"):
        notice.save()
    line.compensation = Decimal("1.00")
    with pytest.raises(NcmsError):
        line.save()
    with pytest.raises(NcmsError):
        line.delete()
    with pytest.raises(NcmsError):
        notice.delete()
    with pytest.raises(NcmsError):
        NoticeLine.objects.filter(pk=line.pk).update(masked_name="李娜")
    with pytest.raises(NcmsError):
        Notice.objects.all().delete()

    assert NoticeLine.objects.get(pk=line.pk).compensation == Decimal("810.00")
    assert Notice.objects.get(pk=notice.pk).objection_until == date(2026, 4, 9)


def test_posting_bumps_the_public_cache_version(county, django_capture_on_commit_callbacks):
    before = public_cache_version()
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_publish(year=2026, month=3)
    assert public_cache_version() == before + 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notices_publish(year=2026, month=3)  # nothing new: no clearing
    assert callbacks == [] and public_cache_version() == before + 1


def test_bad_month_is_refused(db):
    with pytest.raises(CommandError, match="月份 13 不对"):
        publish(month=13)
    assert not Notice.objects.exists()


def test_township_clerk_may_not_publish(county, clerk):
    with pytest.raises(NcmsError, match="没有发布公示的权限"):
        services.notices_publish(user=clerk, year=2026, month=3)
    assert not Notice.objects.exists()


# --- objections, reports and their handling ---------------------------------------------------


def test_objection_filed_investigated_and_resolved_with_history(county, handler):
    line = services.notices_publish(year=2026, month=3)[0].lines.first()
    objection = services.objection_file(line=line, text="此人当月并未住院", phone="13800001111")
    assert objection.status == CaseStatus.RECEIVED and len(objection.tracking_code) == 10

    services.case_investigate(user=handler, case=objection)
    services.case_resolve(user=handler, case=objection, resolution="经核实住院属实，补偿无误。")

    objection.refresh_from_db()
    assert (objection.status, objection.resolved_by, objection.resolution) == (
        CaseStatus.RESOLVED, handler, "经核实住院属实，补偿无误。")
    steps = [(h.status, h.history_user) for h in objection.history.order_by("history_date")]
    assert steps == [("received", None), ("investigating", handler), ("resolved", handler)]
    with pytest.raises(NcmsError, match="已经办结"):
        services.case_resolve(user=handler, case=objection, resolution="再办一次结果")


def test_anonymous_objection_keeps_no_phone_and_empty_text_is_refused(county):
    line = services.notices_publish(year=2026, month=3)[0].lines.first()
    objection = services.objection_file(line=line, text="金额看起来不对", phone="13800001111", anonymous=True)
    assert objection.phone == "" and objection.anonymous
    with pytest.raises(NcmsError, match="请写清楚"):
        services.objection_file(line=line, text="  ")
    assert Objection.objects.count() == 1


def test_report_needs_a_facility_or_an_invoice(county, handler):
    with pytest.raises(NcmsError, match="请选择被举报的医疗机构"):
        services.report_file(text="挂床住院很多天")
    report = services.report_file(text="挂床住院很多天", facility=county["facility"])
    assert Report.objects.get().tracking_code == report.tracking_code
    with pytest.raises(NcmsError, match="至少 5 个字"):
        services.case_resolve(user=handler, case=report, resolution="好")
    assert Report.objects.get().status == CaseStatus.RECEIVED


def test_clerk_may_not_handle_cases(county, clerk):
    report = services.report_file(text="挂床住院很多天", invoice_no="X-1")
    with pytest.raises(NcmsError, match="没有办理"):
        services.case_investigate(user=clerk, case=report)
    assert Report.objects.get().status == CaseStatus.RECEIVED
