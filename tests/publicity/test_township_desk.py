"""The township office's desk on the publicity pages: the objections and reports about its
villages and facilities (read and answered; the county resolves them), and which months its
villages' notices are posted (the county posts a month)."""
import pytest
from django.urls import reverse

from accounts.models import Role
from publicity import services
from publicity.models import CaseStatus, Notice, Objection, Report
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(county, township, other_township, clock):
    clock("2026-05-10 10:00")
    notices = {notice.village_id: notice for notice in services.notices_publish(year=2026, month=3)}
    own_line = notices[county["villages"][0].pk].lines.first()
    other_line = notices[county["villages"][1].pk].lines.first()
    own_facility = FacilityFactory(code="F201", name="城关镇卫生院", township=township)
    other_claim = county["claims"][2]  # 欧阳春华, of the other township, at the county hospital
    return {
        "own_objection": services.objection_file(line=own_line, text="此人当月并未住院", phone=""),
        "other_objection": services.objection_file(line=other_line, text="补偿金额不对", phone=""),
        "own_report": services.report_file(text="挂床住院，请调查", facility=own_facility),
        "other_report": services.report_file(text="冒名住院，请核查", invoice_no=other_claim.invoice_no),
        "county_report": services.report_file(text="县医院乱收费，请查", facility=county["facility"]),
    }


def codes(client, kind):
    response = client.get(reverse("publicity_staff:case_list"), {"kind": kind})
    assert response.status_code == 200
    return {case.tracking_code for case in response.context["cases"]}


def test_a_township_clerk_sees_the_cases_of_the_township_only(client, clerk, other_clerk, cases, users_by_role):
    client.force_login(clerk)
    assert codes(client, "objection") == {cases["own_objection"].tracking_code}
    assert codes(client, "report") == {cases["own_report"].tracking_code}
    for name in ("other_objection", "other_report", "county_report"):
        kind = "objection" if "objection" in name else "report"
        url = reverse("publicity_staff:case_detail", args=[kind, cases[name].pk])
        assert client.get(url).status_code == 404, name
    client.force_login(other_clerk)
    assert codes(client, "objection") == {cases["other_objection"].tracking_code}
    assert codes(client, "report") == {cases["other_report"].tracking_code}  # names a claim of the township
    client.force_login(users_by_role[Role.AUDITOR])
    assert len(codes(client, "report")) == 3 and len(codes(client, "objection")) == 2


def test_the_clerk_answers_and_the_county_resolves(client, clerk, other_clerk, cases, users_by_role):
    objection = cases["own_objection"]
    answer_url = reverse("publicity_staff:case_answer", args=["objection", objection.pk])
    client.force_login(clerk)
    page = client.get(reverse("publicity_staff:case_detail", args=["objection", objection.pk])).content.decode()
    assert 'id="answer-form"' in page and 'value="resolve"' not in page
    refused = client.post(answer_url, {"answer": "属实"}, follow=True)
    assert "请写明答复内容" in refused.content.decode()
    assert Objection.objects.get(pk=objection.pk).status == CaseStatus.RECEIVED
    client.post(answer_url, {"answer": "经村委会核实，本人三月确在县医院住院，公示无误"})
    objection.refresh_from_db()
    assert (objection.status, objection.answered_by, objection.answer) == (
        CaseStatus.INVESTIGATING, clerk, "经村委会核实，本人三月确在县医院住院，公示无误")
    assert objection.answered_at is not None
    assert objection.history.first().history_user == clerk
    # the clerk may not resolve; another township's clerk may not answer it
    action = reverse("publicity_staff:case_action", args=["objection", objection.pk])
    assert client.post(action, {"action": "resolve", "resolution": "经核实无误，已办结"}).status_code == 403
    client.force_login(other_clerk)
    assert client.post(answer_url, {"answer": "另一个乡镇的答复内容"}).status_code == 404
    # the county reads the answer and resolves
    client.force_login(users_by_role[Role.FUND_OFFICER])
    page = client.get(reverse("publicity_staff:case_detail", args=["objection", objection.pk])).content.decode()
    assert "经村委会核实" in page and clerk.display_name in page and 'id="answer-form"' not in page
    assert client.post(answer_url, {"answer": "县里不能写乡镇答复"}).status_code == 403
    client.post(action, {"action": "resolve", "resolution": "经核实，住院属实，公示无误。"})
    assert Objection.objects.get(pk=objection.pk).status == CaseStatus.RESOLVED
    client.force_login(clerk)
    late = client.post(answer_url, {"answer": "办结后再答复一次"}, follow=True).content.decode()
    assert "已经办结，不能再答复" in late


def test_a_report_is_answered_too(client, clerk, cases):
    report = cases["own_report"]
    client.force_login(clerk)
    client.post(reverse("publicity_staff:case_answer", args=["report", report.pk]), {"answer": "已约谈卫生院院长，正在整改"})
    assert Report.objects.get(pk=report.pk).answer == "已约谈卫生院院长，正在整改"


def test_notice_months_of_the_township_and_the_county_posts_a_month(client, clerk, county, users_by_role, clock):
    clock("2026-05-10 10:00")
    services.notices_publish(year=2026, month=3)
    url = reverse("publicity_staff:notice_months")
    client.force_login(clerk)
    response = client.get(url, {"year": 2026, "month": 3})
    months = {row.month: row for row in response.context["months"]}
    # the township's March: 李娜 and 王建国 posted (欧阳春华 is of the other township); April waits (赵敏, 陈小龙)
    assert (months[3].notices, months[3].lines, str(months[3].compensation), months[3].waiting) == (1, 2, "1310.00", 0)
    assert (months[4].notices, months[4].waiting) == (0, 2)
    assert not months[6].begun
    assert {notice.village.name for notice in response.context["notices"]} == {"东湖村"}
    html = response.content.decode()
    assert "西山村" not in html and reverse("publicity_staff:notice_post") not in html
    assert client.post(reverse("publicity_staff:notice_post"), {"year": 2026, "month": 4}).status_code == 403
    assert not Notice.objects.filter(month=4).exists()
    # the county sees every village and posts April from the page; a month not begun is refused
    client.force_login(users_by_role[Role.FUND_OFFICER])
    county_months = {row.month: row for row in client.get(url, {"year": 2026}).context["months"]}
    assert (county_months[3].notices, county_months[3].lines) == (2, 3)
    refused = client.post(reverse("publicity_staff:notice_post"), {"year": 2026, "month": 6}, follow=True)
    assert "2026年6月还没有到，不能发布" in refused.content.decode()
    posted = client.post(reverse("publicity_staff:notice_post"), {"year": 2026, "month": 4}, follow=True)
    assert "已发布2026年4月补偿公示 2 份" in posted.content.decode()
    assert Notice.objects.filter(year=2026, month=4).count() == 2
    assert Notice.objects.filter(year=2026, month=4).first().posted_by == users_by_role[Role.FUND_OFFICER]
    again = client.post(reverse("publicity_staff:notice_post"), {"year": 2026, "month": 4}, follow=True)
    assert "2026年4月没有需要发布的补偿公示" in again.content.decode()


@pytest.mark.parametrize("name,method,args", [
    ("publicity_staff:notice_months", "get", []), ("publicity_staff:notice_post", "post", []),
    ("publicity_staff:case_answer", "post", ["objection", 1])])
def test_anonymous_users_and_facility_clerks_are_kept_out(client, users_by_role, name, method, args):
    url = reverse(name, args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    assert getattr(client, method)(url).status_code == 403


def test_the_notice_month_follows_the_countys_date(client, users_by_role, county, clock):
    """At 00:30 on 1 May in the county (16:30 on 30 April in UTC), May has begun."""
    clock("2026-05-01 00:30")
    client.force_login(users_by_role[Role.FUND_OFFICER])
    months = {row.month: row for row in client.get(reverse("publicity_staff:notice_months"),
                                                    {"year": 2026}).context["months"]}
    assert months[5].begun and not months[6].begun
