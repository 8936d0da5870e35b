"""The public site: no login, nothing unmasked, honeypot, throttling, the own-claim lookup."""
import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Member
from publicity import services
from publicity.models import Objection, Report


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def posted(county):
    services.notices_publish(year=2026, month=3)
    services.notices_publish(year=2026, month=4)
    return county


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def public_urls():
    from places.models import Township, Village
    from publicity.models import Notice, NoticeLine

    urls = [reverse("publicity:index"), reverse("publicity:fund_summary"), reverse("publicity:report_create"),
            reverse("publicity:case_status"), reverse("publicity:claim_lookup"), reverse("publicity:policy_page"),
            reverse("publicity:policy_page") + "?level=county&total=1100.00&self_paid=100.00&group=dibao"]
    urls += [reverse("publicity:township_detail", args=[t.code]) for t in Township.objects.all()]
    urls += [reverse("publicity:village_detail", args=[v.code]) for v in Village.objects.all()]
    urls += [reverse("publicity:notice_detail", args=[n.pk]) for n in Notice.objects.all()]
    urls += [reverse("publicity:objection_create", args=[line.pk]) for line in NoticeLine.objects.all()]
    return urls


def assert_nothing_unmasked(text: str, where: str):
    for name, id_number in Member.objects.values_list("name", "id_number"):
        assert len(name) >= 2
        assert name not in text, f"{name} on {where}"
        assert id_number not in text, f"{id_number} on {where}"


def test_every_public_page_and_pdf_shows_no_full_name_or_id(posted, client, tmp_path):
    from publicity.models import Notice

    assert Member.objects.count() == 5
    for url in public_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        assert_nothing_unmasked(response.content.decode(), url)
    for notice in Notice.objects.all():
        response = client.get(reverse("publicity:notice_pdf", args=[notice.pk]))
        assert response["Content-Type"] == "application/pdf"
        text = pdf_text(response.content, tmp_path)
        assert_nothing_unmasked(text, f"PDF {notice.pk}")
        assert_nothing_unmasked(response.content.decode("latin-1"), f"PDF bytes {notice.pk}")
    # the lookup's answer, with the right ID and name, shows them masked only
    member = Member.objects.get(name="王建国")
    response = client.post(reverse("publicity:claim_lookup"), {"id_number": member.id_number, "name": "王建国"})
    assert "王*国" in response.content.decode()
    assert_nothing_unmasked(response.content.decode(), "lookup answer")


def test_notice_page_shows_masked_lines_period_and_phone(posted, client, village, settings):
    from publicity.models import Notice

    notice = Notice.objects.get(village=village, month=3)
    html = client.get(reverse("publicity:notice_detail", args=[notice.pk])).content.decode()
    assert "李*" in html and "王*国" in html and "810.00" in html and "1,310.00" in html
    assert notice.objection_until.isoformat() in html
    assert settings.COUNTY_REPORT_PHONE in html
    assert "东湖村 2026年3月住院补偿公示" in html


def test_notice_pdf_has_header_table_period_phone_and_qr(posted, client, village, tmp_path, settings):
    from publicity.models import Notice

    notice = Notice.objects.get(village=village, month=3)
    response = client.get(reverse("publicity:notice_pdf", args=[notice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert "示范县新型农村合作医疗管理办公室" in flat
    assert "城关镇东湖村住院补偿公示" in flat
    assert "李*" in flat and "王*国" in flat and "810.00" in flat
    assert f"举报电话：{settings.COUNTY_REPORT_PHONE}" in flat
    posted_on = timezone.localdate(notice.posted_at)  # the county's date, as the PDF prints it
    assert f"{posted_on:%Y-%m-%d}至{notice.objection_until:%Y-%m-%d}" in flat


def test_qr_code_encodes_the_absolute_notice_url():
    import base64

    from publicity.views import qr_data_uri

    uri = qr_data_uri("http://testserver/public/notices/1/")
    assert uri.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(uri.split(",", 1)[1])


def test_public_pages_are_cached_until_a_notice_is_posted(county, client, village, cashier):
    url = reverse("publicity:village_detail", args=[village.code])
    first = client.get(url)
    assert "本村暂无补偿公示" in first.content.decode()
    assert client.get(url)["X-Public-Cache"] == "hit"

    services.notices_publish(year=2026, month=3)
    from publicity.cache import public_cache_clear

    public_cache_clear()  # what on_commit does after the posting commits
    fresh = client.get(url)
    assert "X-Public-Cache" not in fresh
    assert "2026年3月" in fresh.content.decode()


def test_objection_form_stores_and_gives_a_tracking_code(posted, client):
    from publicity.models import NoticeLine

    line = NoticeLine.objects.get(masked_name="李*")
    response = client.post(reverse("publicity:objection_create", args=[line.pk]),
                           {"text": "她这个月没有住院", "phone": "", "anonymous": "on", "website": ""})
    assert response.status_code == 200
    objection = Objection.objects.get()
    assert objection.line == line and objection.anonymous and objection.phone == ""
    assert objection.tracking_code in response.content.decode()
    status = client.get(reverse("publicity:case_status"), {"code": objection.tracking_code.lower()})
    assert "已受理" in status.content.decode()


def test_honeypot_gets_a_fake_success_and_nothing_is_stored(posted, client):
    from publicity.models import NoticeLine

    line = NoticeLine.objects.first()
    response = client.post(reverse("publicity:objection_create", args=[line.pk]),
                           {"text": "spam spam spam", "website": "http://spam.example"})
    assert response.status_code == 200 and "异议已提交" in response.content.decode()
    response = client.post(reverse("publicity:report_create"),
                           {"text": "spam spam spam", "invoice_no": "X", "website": "http://spam.example"})
    assert "举报已提交" in response.content.decode()
    assert not Objection.objects.exists() and not Report.objects.exists()


def test_forms_need_csrf(posted):
    from django.test import Client

    from publicity.models import NoticeLine

    strict = Client(enforce_csrf_checks=True)
    line = NoticeLine.objects.first()
    response = strict.post(reverse("publicity:objection_create", args=[line.pk]), {"text": "没有令牌的提交"})
    assert response.status_code == 403
    assert not Objection.objects.exists()


def test_forms_are_throttled_per_address(posted, client):
    url = reverse("publicity:report_create")
    for i in range(5):
        response = client.post(url, {"text": f"第{i}次举报：挂床住院", "facility": posted["facility"].pk},
                               REMOTE_ADDR="10.0.0.7")
        assert response.status_code == 200
    response = client.post(url, {"text": "第6次举报：挂床住院", "facility": posted["facility"].pk},
                           REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 429 and "操作太频繁" in response.content.decode()
    assert Report.objects.count() == 5
    other = client.post(url, {"text": "另一个地址的举报", "facility": posted["facility"].pk}, REMOTE_ADDR="10.0.0.8")
    assert other.status_code == 200 and Report.objects.count() == 6


def test_lookup_needs_both_and_answers_alike_for_unknown_and_mismatch(posted, client, clock):
    clock("2026-06-15 10:00")  # the lookup shows this year's claims; the county's are of 2026
    member = Member.objects.get(name="陈小龙")
    url = reverse("publicity:claim_lookup")
    unknown = client.post(url, {"id_number": "420102199901010000", "name": "陈小龙"}, REMOTE_ADDR="10.1.0.1")
    mismatch = client.post(url, {"id_number": member.id_number, "name": "陈大龙"}, REMOTE_ADDR="10.1.0.2")
    assert unknown.status_code == mismatch.status_code == 200
    def page(response):  # the CSRF token is masked afresh on every response
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    assert page(unknown) == page(mismatch)  # the very same page
    assert "没有查到相符的参合人员" in unknown.content.decode()

    found = client.post(url, {"id_number": member.id_number, "name": "陈小龙"}, REMOTE_ADDR="10.1.0.3")
    html = found.content.decode()
    assert "陈*龙" in html and "99.50" in html and "已兑付" in html
    assert member.id_number not in html


def test_lookup_year_turns_at_the_countys_midnight(posted, client, clock):
    """At 00:30 on 1 January in the county it is still 31 December in UTC: the lookup already
    starts with the new year, where the member has no claim yet, and still shows last year's."""
    member = Member.objects.get(name="陈小龙")
    url = reverse("publicity:claim_lookup")
    clock("2026-12-31 23:30")
    before = client.post(url, {"id_number": member.id_number, "name": "陈小龙"}).content.decode()
    assert "99.50" in before and "2027年暂无住院补偿记录" not in before
    assert before.index("2026年") < before.index("99.50")
    clock("2027-01-01 00:30")
    after = client.post(url, {"id_number": member.id_number, "name": "陈小龙"}).content.decode()
    assert "2027年暂无住院补偿记录" in after
    assert after.index("2027年暂无住院补偿记录") < after.index("99.50")  # last year's claim below


def test_the_villagers_own_page_claims_of_three_years_cover_and_card(posted, client, clock):
    """Their own claims of this year and the two before (none older), their own contribution this
    year and next and their household's as counts, the card number; nobody else's name or ID."""
    from claims.models import Claim
    from enrollment.models import Enrollment

    clock("2028-06-15 10:00")
    member = Member.objects.get(name="陈小龙")
    own_2026 = list(Claim.objects.filter(member=member, year=2026).values_list("invoice_no", flat=True))
    assert own_2026
    from tests.factories import EnrollmentFactory, MemberFactory

    MemberFactory(household=member.household, name="陈大山")  # a household of two, one paid this year
    EnrollmentFactory(member=member, year=2028, contribution=Decimal("400.00"), paid_date=date(2028, 1, 10))
    household = Member.objects.filter(household_id=member.household_id).count()
    assert household == 2 and not Enrollment.objects.filter(member=member, year=2029).exists()
    html = client.post(reverse("publicity:claim_lookup"), {"id_number": member.id_number, "name": "陈小龙"}).content.decode()
    assert "2028年暂无住院补偿记录" in html and "2027年暂无住院补偿记录" in html and "99.50" in html
    assert member.household.card_number in html
    assert f"{household} 人中已缴费 1 人" in html  # this year
    assert "已缴费 400.00 元（2028-01-10）" in html and "尚未缴费" in html  # next year: not yet
    assert f"{household} 人中已缴费 0 人" in html
    assert_nothing_unmasked(html, "the villager's page")
    clock("2029-06-15 10:00")  # 2026 is now four years back: not shown
    html = client.post(reverse("publicity:claim_lookup"), {"id_number": member.id_number, "name": "陈小龙"}).content.decode()
    assert "99.50" not in html and "2027年暂无住院补偿记录" in html


def test_lookup_is_throttled(posted, client):
    url = reverse("publicity:claim_lookup")
    codes = [client.post(url, {"id_number": f"4201021999010{i:05d}", "name": "某某"}, REMOTE_ADDR="10.2.0.1")
             .status_code for i in range(11)]
    assert codes == [200] * 10 + [429]


def test_fund_summary_by_quarter(posted, client):
    html = client.get(reverse("publicity:fund_summary"), {"year": "2026"}).content.decode()
    # 10,000.00 income in Q1; 2,510.00 paid in March, 399.50 in April
    assert "10,000.00" in html and "2,510.00" in html and "7,490.00" in html
    assert "399.50" in html and "7,090.50" in html


def test_an_objection_after_the_period_is_refused_on_the_server(posted, client, clock):
    """The form hides itself after the period, but a direct POST reaches the server: it refuses."""
    from publicity.models import NoticeLine

    line = NoticeLine.objects.get(masked_name="李*")
    closed = line.notice.objection_until
    clock(f"{closed + timedelta(days=1):%Y-%m-%d} 00:05")
    response = client.post(reverse("publicity:objection_create", args=[line.pk]),
                           {"text": "异议期过后才提交", "phone": "", "anonymous": "on", "website": ""})
    assert response.status_code == 200
    assert f"异议期已于 {closed:%Y-%m-%d} 截止" in response.content.decode()
    assert not Objection.objects.exists()
