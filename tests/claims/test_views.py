"""Claims pages: scoping of every view, township-office entry with the live quote, the
workbench (filters, review, approve, return, reject, bulk approve) and documents."""
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from claims import services, settlement
from claims.models import Claim, ClaimDocument, ClaimEvent, ClaimStatus, CostLine
from tests.claims.conftest import TODAY, facts
from tests.conftest import PASSWORD
from tests.factories import HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


def submit(member, user, n: int = 1, **changes):
    """A township-office claim of `member`: 1100.00 at F001 (100.00 outside the catalogue) →
    compensation 810.00; stays of different n never overlap."""
    changes.setdefault("invoice_no", f"INV-{n:04d}")
    changes.setdefault("admission_date", f"2026-02-{2 * n:02d}")
    changes.setdefault("discharge_date", f"2026-02-{2 * n + 1:02d}")
    claim_facts = facts(member, **changes)
    lines = [{"category": "drugs", "amount": str(claim_facts.total_cost - claim_facts.non_reimbursable_cost),
              "in_catalog": True}]
    if claim_facts.non_reimbursable_cost:
        lines.append({"category": "materials", "amount": str(claim_facts.non_reimbursable_cost), "in_catalog": False})
    return services.claim_submit(user=user, facts=claim_facts, channel="township", cost_lines=lines)


def login(client, user):
    client.force_login(user)
    return client


def entry_data(member, facility, **changes) -> dict:
    data = {
        "member": str(member.pk), "facility": str(facility.pk), "admission_date": "2026-03-01",
        "discharge_date": "2026-03-08", "invoice_no": "F001-2026-000001", "diagnosis_code": "j18.9",
        "diagnosis_text": "肺炎", "delivery": "",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "40",
        "lines-0-category": "drugs", "lines-0-amount": "600.00", "lines-0-in_catalog": "on",
        "lines-1-category": "beds", "lines-1-amount": "400.00", "lines-1-in_catalog": "on",
        "lines-2-category": "materials", "lines-2-amount": "100.00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def claim(policy, facility, member, admin_user):
    return submit(member, admin_user)


@pytest.fixture
def document(claim, admin_user):
    return services.claim_document_add(user=admin_user, claim=claim,
                                       upload=SimpleUploadedFile("invoice.png", PNG, content_type="image/png"))


# --- scoping of every view ---------------------------------------------------------------------

# (url name, method, which object the url takes, capability)
VIEWS = [
    ("claims:claim_list", "get", None, "claims.view"),
    ("claims:claim_create", "get", None, "claims.entry"),
    ("claims:member_lookup", "get", None, "claims.entry"),
    ("claims:claim_quote_preview", "post", None, "claims.entry"),
    ("claims:bulk_approve", "post", None, "claims.bulk_approve"),
    ("claims:claim_detail", "get", "claim", "claims.view"),
    ("claims:claim_slip_pdf", "get", "claim", "claims.view"),
    ("claims:claim_review", "post", "claim", "claims.review"),
    ("claims:claim_approve", "post", "claim", "claims.approve"),
    ("claims:claim_return", "post", "claim", "claims.return"),
    ("claims:claim_reject", "post", "claim", "claims.reject"),
    ("claims:claim_resubmit", "post", "claim", "claims.enter"),
    ("claims:document_upload", "post", "claim", "claims.enter"),
    ("claims:document_download", "get", "document", "claims.view"),
]
SCOPED = [view for view in VIEWS if view[2] is not None]


def url_of(name, kind, claim, document):
    if kind is None:
        return reverse(name)
    return reverse(name, args=[claim.pk if kind == "claim" else document.pk])


def call(client, method, url):
    return client.post(url, {"note": "x"}) if method == "post" else client.get(url)


@pytest.mark.parametrize("name,method,kind,capability", VIEWS)
def test_anonymous_is_sent_to_login(client, document, claim, name, method, kind, capability):
    url = url_of(name, kind, claim, document)
    response = call(client, method, url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name,method,kind,capability", VIEWS)
def test_roles_without_the_capability_get_403(client, users_by_role, document, claim, name, method, kind,
                                              capability):
    from accounts.roles import CAPABILITIES

    lacking = [role for role in Role if role not in CAPABILITIES[capability]]
    for role in lacking:
        response = call(login(client, users_by_role[role]), method, url_of(name, kind, claim, document))
        assert response.status_code == 403, role
    assert Claim.objects.get().status == ClaimStatus.SUBMITTED


def test_capabilities_of_the_claims_pages():
    from accounts.roles import CAPABILITIES

    assert CAPABILITIES["claims.enter"] == {Role.TOWNSHIP_CLERK}
    assert CAPABILITIES["claims.review"] == {Role.REVIEWER}
    assert CAPABILITIES["claims.approve"] == CAPABILITIES["claims.bulk_approve"] == {Role.APPROVER}
    assert set(CAPABILITIES["claims.view"]) == set(Role)


@pytest.mark.parametrize("name,method,kind,capability",
                         [view for view in SCOPED if view[3] in ("claims.view", "claims.enter")])
def test_a_township_clerk_gets_404_for_another_townships_claim(client, other_clerk, document, claim, name, method,
                                                               kind, capability):
    response = call(login(client, other_clerk), method, url_of(name, kind, claim, document))
    assert response.status_code == 404
    assert ClaimDocument.objects.count() == 1 and Claim.objects.get().status == ClaimStatus.SUBMITTED


@pytest.mark.parametrize("name,method,kind,capability", [v for v in SCOPED if v[3] == "claims.view"])
def test_a_facility_clerk_reaches_only_their_facilitys_claims(client, county_facility, facility_clerk, document,
                                                              claim, member, admin_user, name, method, kind,
                                                              capability):
    elsewhere = submit(member, admin_user, n=5, facility="F002", invoice_no="F002-1")
    other_document = services.claim_document_add(user=admin_user, claim=elsewhere,
                                                 upload=SimpleUploadedFile("a.pdf", PDF))
    login(client, facility_clerk)
    assert call(client, method, url_of(name, kind, claim, document)).status_code == 200
    assert call(client, method, url_of(name, kind, elsewhere, other_document)).status_code == 404


def test_queues_are_scoped(client, claim, other_member, member, admin_user, clerk, other_clerk, facility_clerk,
                           county_facility, users_by_role):
    theirs = submit(other_member, admin_user, n=2, invoice_no="OTHER-1")
    at_county = submit(member, admin_user, n=3, facility="F002", invoice_no="F002-9")

    def shown(user):
        response = login(client, user).get(reverse("claims:claim_list"), {"status": ""})
        assert response.status_code == 200
        return {c.pk for c in response.context["page"].object_list}

    assert shown(clerk) == {claim.pk, at_county.pk}
    assert shown(other_clerk) == {theirs.pk}
    assert shown(facility_clerk) == {claim.pk, theirs.pk}
    assert shown(users_by_role[Role.AUDITOR]) == {claim.pk, theirs.pk, at_county.pk}


def test_the_auditor_reads_everything_and_changes_nothing(client, users_by_role, claim, document):
    auditor = login(client, users_by_role[Role.AUDITOR])
    page = client.get(reverse("claims:claim_detail", args=[claim.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "审核通过" not in html and "审批通过" not in html and "不予补偿原因" not in html and "上传" not in html
    assert client.get(reverse("claims:claim_slip_pdf", args=[claim.pk]))["Content-Type"] == "application/pdf"
    for name in ("claims:claim_review", "claims:claim_approve", "claims:claim_return", "claims:claim_reject",
                 "claims:claim_resubmit", "claims:document_upload"):
        assert auditor.post(reverse(name, args=[claim.pk]), {"note": "x"}).status_code == 403
    assert auditor.post(reverse("claims:bulk_approve"), {"claim": [claim.pk]}).status_code == 403
    assert ClaimEvent.objects.count() == 1


# --- township-office entry and the live quote --------------------------------------------------


def test_entry_page_and_nav_for_the_township_clerk(client, clerk, policy):
    response = login(client, clerk).get(reverse("claims:claim_create"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-post="/claims/new/quote/"' in html and 'hx-trigger="input changed delay:400ms' in html
    assert "django_htmx/htmx-2.min.js" in html
    assert 'href="/claims/new/"' in html  # nav link
    home = client.get(reverse("home")).content.decode()
    assert "住院补偿录入" in home and reverse("claims:claim_list") in home


def test_member_lookup_by_id_number_or_card_in_own_township_only(client, clerk, member, other_member):
    login(client, clerk)
    by_id = client.get(reverse("claims:member_lookup"), {"q": member.id_number.lower()})
    assert by_id.status_code == 200
    assert member.name in by_id.content.decode() and "checked" in by_id.content.decode()
    assert by_id["HX-Trigger-After-Settle"] == "member-chosen"
    by_card = client.get(reverse("claims:member_lookup"), {"q": member.household.card_number})
    assert member.name in by_card.content.decode() and "2026" in by_card.content.decode()
    elsewhere = client.get(reverse("claims:member_lookup"), {"q": other_member.id_number}).content.decode()
    assert other_member.name not in elsewhere and "本乡镇没有" in elsewhere


def test_quote_preview_explains_every_figure_and_writes_nothing(client, clerk, policy, facility, member):
    response = login(client, clerk).post(reverse("claims:claim_quote_preview"), entry_data(member, facility))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a partial
    assert 'id="quote-compensation">810.00<' in html and 'id="quote-patient-pays">290.00<' in html
    assert "费用明细合计 1,100.00 元，其中目录外 100.00 元" in html
    assert "可报销费用 1,000.00 = 总费用 1,100.00 − 目录外费用 100.00" in html
    assert "起付线 100.00（乡镇卫生院）" in html
    assert "100.00–1,000.00 部分：(1,000.00 − 100.00) × 90% = 810.00" in html
    assert "个人自付 290.00 = 总费用 1,100.00 − 补偿金额 810.00" in html
    assert (Claim.objects.count(), CostLine.objects.count(), ClaimEvent.objects.count()) == (0, 0, 0)


def test_quote_preview_shows_the_refusal_or_what_is_missing(client, clerk, policy, facility, member,
                                                            other_member, village, monkeypatch):
    login(client, clerk)
    url = reverse("claims:claim_quote_preview")
    late = client.post(url, entry_data(member, facility)).content.decode()
    assert "不能报销" not in late
    monkeypatch.setattr(settlement, "_today", lambda: TODAY.replace(month=7))
    late = client.post(url, entry_data(member, facility)).content.decode()
    assert "不能报销" in late and "已超过报销期限" in late
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)
    unenrolled = MemberFactory(household=HouseholdFactory(village=village), name="赵未缴")
    not_enrolled = client.post(url, entry_data(unenrolled, facility)).content.decode()
    assert "不能报销" in not_enrolled and "赵未缴 未参加 2026 年度合作医疗（未缴费）" in not_enrolled
    missing = client.post(url, {**entry_data(member, facility), "facility": "", "invoice_no": ""}).content.decode()
    assert "请先填写" in missing and "定点医疗机构" in missing and "发票号" in missing
    # a member of another township can't even be named
    foreign = client.post(url, entry_data(other_member, facility)).content.decode()
    assert "请先填写" in foreign and "参合人员" in foreign and other_member.name not in foreign
    no_lines = client.post(url, entry_data(member, facility, **{"lines-0-category": "", "lines-0-amount": "",
                                                                 "lines-1-category": "", "lines-1-amount": "",
                                                                 "lines-2-category": "", "lines-2-amount": ""}))
    assert "请至少填写一条费用明细" in no_lines.content.decode()
    bad_amount = client.post(url, entry_data(member, facility, **{"lines-1-amount": "12.345"})).content.decode()
    assert "费用明细第2行金额：金额最多两位小数（分）" in bad_amount
    assert Claim.objects.count() == 0


def test_submit_stores_the_claim_lines_and_scans(client, clerk, policy, facility, member):
    data = entry_data(member, facility)
    data["scans"] = [SimpleUploadedFile("发票.png", PNG, content_type="image/png"),
                     SimpleUploadedFile("小结.pdf", PDF, content_type="application/pdf")]
    response = login(client, clerk).post(reverse("claims:claim_create"), data)
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("claims:claim_detail", args=[claim.pk])
    assert (claim.member, claim.facility, claim.channel, claim.status) == (member, facility, "township", "submitted")
    assert (claim.total_cost, claim.non_reimbursable_cost, claim.compensation, claim.patient_pays) == (
        Decimal("1100.00"), Decimal("100.00"), Decimal("810.00"), Decimal("290.00"))
    assert (claim.invoice_no, claim.diagnosis_code, claim.diagnosis_text, claim.submitted_by) == (
        "F001-2026-000001", "J18.9", "肺炎", clerk)
    assert sorted(claim.cost_lines.values_list("category", "amount", "in_catalog")) == [
        ("beds", Decimal("400.00"), True), ("drugs", Decimal("600.00"), True), ("materials", Decimal("100.00"), False)]
    assert sorted(claim.documents.values_list("content_type", "original_name")) == [
        ("application/pdf", "小结.pdf"), ("image/png", "发票.png")]
    page = client.get(response["Location"]).content.decode()
    assert "住院补偿申请已提交" in page and "810.00" in page


@pytest.mark.parametrize("name,content,limit,message", [
    ("invoice.png", b"GIF89a" + b"\x00" * 40, None, "不是 PDF、JPEG 或 PNG 格式的扫描件"),
    ("invoice.pdf", b"<html>not a pdf</html>", None, "不是 PDF、JPEG 或 PNG 格式的扫描件"),
    ("big.png", PNG + b"\x00" * 2048, 1024, "太大"),
])
def test_submit_refuses_bad_scans_and_writes_nothing(client, clerk, policy, facility, member, settings, name,
                                                     content, limit, message):
    if limit:
        settings.CLAIM_DOCUMENT_MAX_BYTES = limit
    data = entry_data(member, facility)
    data["scans"] = [SimpleUploadedFile(name, content)]
    response = login(client, clerk).post(reverse("claims:claim_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (Claim.objects.count(), ClaimDocument.objects.count(), CostLine.objects.count()) == (0, 0, 0)


def test_submit_refused_by_the_service_shows_why_and_writes_nothing(client, clerk, policy, facility, member,
                                                                   admin_user):
    submit(member, admin_user, n=9, invoice_no="F001-2026-000001")
    response = login(client, clerk).post(reverse("claims:claim_create"), entry_data(member, facility))
    assert response.status_code == 200
    assert "发票号 F001-2026-000001 在 F001 已报销过" in response.content.decode()
    assert Claim.objects.count() == 1 and ClaimEvent.objects.count() == 1


@pytest.mark.parametrize("changes,message", [
    ({"admission_date": "2026-03-15", "discharge_date": "2026-03-21"}, "出院日期 2026-03-21 晚于今天 2026-03-20"),
    ({"lines-0-amount": "5000000.01", "lines-1-amount": "", "lines-1-category": "", "lines-2-amount": "",
      "lines-2-category": ""},
     "住院总费用「5000000.01」超过单次住院总费用的上限 5000000.00 元，请核对金额"),
    ({"lines-0-amount": "9999999999999999.99", "lines-1-amount": "9999999999999999.99"},
     "住院总费用「20000000000000099.98」超过单次住院总费用的上限 5000000.00 元，请核对金额"),
    ({"lines-0-amount": "12345678901234567"}, "费用明细第1行金额"),
])
def test_an_implausible_entry_is_refused_on_the_page_and_writes_nothing(client, clerk, policy, facility, member,
                                                                       changes, message):
    """Discharged after today (the county's date, 2026-03-20 here) or a total above the ceiling:
    the preview and the submission say why; nothing is written, nothing fails."""
    login(client, clerk)
    preview = client.post(reverse("claims:claim_quote_preview"), entry_data(member, facility, **changes))
    assert preview.status_code == 200 and message in preview.content.decode()
    response = client.post(reverse("claims:claim_create"), entry_data(member, facility, **changes))
    assert response.status_code == 200 and message in response.content.decode()
    assert (Claim.objects.count(), ClaimEvent.objects.count(), CostLine.objects.count()) == (0, 0, 0)


# --- the workbench ---------------------------------------------------------------------------


def test_queue_filters(client, users_by_role, policy, facility, county_facility, member, other_member, admin_user,
                       other_township):
    first = submit(member, admin_user, n=1)
    second = submit(other_member, admin_user, n=2, invoice_no="B-2")
    third = submit(member, admin_user, n=3, facility="F002", invoice_no="C-3", total_cost="5400.00",
                   non_reimbursable_cost="0.00")
    services.claim_review(user=users_by_role[Role.REVIEWER], claim=third)
    login(client, users_by_role[Role.AUDITOR])

    def shown(**params):
        response = client.get(reverse("claims:claim_list"), params)
        assert response.status_code == 200
        return [c.pk for c in response.context["page"].object_list]

    assert shown() == [third.pk, second.pk, first.pk]
    assert shown(status="reviewed") == [third.pk]
    assert shown(township=other_township.pk) == [second.pk]
    assert shown(facility=county_facility.pk) == [third.pk]
    assert shown(level="county") == [third.pk]
    assert shown(amount_min="1000", amount_max="4000.00") == [third.pk]
    assert third.compensation == Decimal("3750.00")  # (5000 − 400) × 75% … shown in the queue as stored
    assert shown(amount_max="810.00") == [second.pk, first.pk]
    assert shown(q="B-2") == [second.pk]
    assert shown(q=member.id_number) == [third.pk, first.pk]
    assert shown(flagged="on") == []
    summary = client.get(reverse("claims:claim_list"), {"status": ""}).context["summary"]
    assert summary == {"count": 3, "total_cost": Decimal("7600.00"), "compensation": Decimal("5370.00")}
    # a reviewer's workbench opens on what waits for review, an approver's on what waits for approval
    # the reviewer's work queue (submitted) serves the oldest first, so January is never buried
    assert [c.pk for c in login(client, users_by_role[Role.REVIEWER]).get(
        reverse("claims:claim_list")).context["page"].object_list] == [first.pk, second.pk]
    assert [c.pk for c in login(client, users_by_role[Role.APPROVER]).get(
        reverse("claims:claim_list")).context["page"].object_list] == [third.pk]


def test_queue_is_paginated(client, users_by_role, policy, facility, admin_user, village):
    from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

    for n in range(23):
        person = MemberFactory(household=HouseholdFactory(village=village))
        EnrollmentFactory(member=person, year=2026)
        submit(person, admin_user, n=1, invoice_no=f"P-{n:03d}")
    login(client, users_by_role[Role.AUDITOR])
    first = client.get(reverse("claims:claim_list"))
    assert len(first.context["page"].object_list) == 20 and "第 1 / 2 页" in first.content.decode()
    assert len(client.get(reverse("claims:claim_list"), {"page": 2}).context["page"].object_list) == 3


def test_claim_page_explains_the_breakdown_with_events_and_documents(client, users_by_role, policy, member,
                                                                     county_facility, admin_user):
    claim = submit(member, admin_user, n=1, facility="F002", invoice_no="X-1", total_cost="12345.60",
                   non_reimbursable_cost="1345.60")
    services.claim_document_add(user=admin_user, claim=claim, upload=SimpleUploadedFile("发票.pdf", PDF))
    reviewer = users_by_role[Role.REVIEWER]
    services.claim_review(user=reviewer, claim=claim, note="材料齐全")
    html = login(client, users_by_role[Role.AUDITOR]).get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "可报销费用 11,000.00 = 总费用 12,345.60 − 目录外费用 1,345.60" in html
    assert "起付线 400.00（县级医院）" in html
    assert "400.00–10,000.00 部分：(10,000.00 − 400.00) × 75% = 7,200.00" in html
    assert "10,000.00–11,000.00 部分：(11,000.00 − 10,000.00) × 80% = 800.00" in html
    assert "未超过年度封顶线剩余额度 200,000.00" in html
    assert "个人自付 4,345.60 = 总费用 12,345.60 − 补偿金额 8,000.00" in html
    assert "发票.pdf" in html and reverse("claims:document_download", args=[claim.documents.get().pk]) in html
    timeline = html[html.index('<ol class="timeline">'):]
    assert timeline.index("提交") < timeline.index("审核") < timeline.index(reviewer.display_name) < timeline.index("材料齐全")


def test_review_then_approve_by_another_user_through_the_pages(client, users_by_role, claim):
    reviewer, approver = users_by_role[Role.REVIEWER], users_by_role[Role.APPROVER]
    page = login(client, reviewer).get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "审核通过" in page and "审批通过" not in page
    response = client.post(reverse("claims:claim_review", args=[claim.pk]), {"note": "票据齐全"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.reviewed_by, claim.note) == ("reviewed", reviewer, "票据齐全")
    page = login(client, approver).get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "审批通过" in page and "审核通过" not in page
    response = client.post(reverse("claims:claim_approve", args=[claim.pk]), follow=True)
    claim.refresh_from_db()
    assert (claim.status, claim.approved_by) == ("approved", approver)
    assert f"补偿申请 {claim.invoice_no} 已审批" in response.content.decode()
    assert list(claim.events.values_list("action", "user")) == [
        ("submit", claim.submitted_by_id), ("review", reviewer.pk), ("approve", approver.pk)]


def test_the_approver_is_never_the_reviewer(client, claim, admin_user):
    login(client, admin_user)  # a superuser carries every capability
    client.post(reverse("claims:claim_review", args=[claim.pk]))
    response = client.post(reverse("claims:claim_approve", args=[claim.pk]), follow=True)
    claim.refresh_from_db()
    assert claim.status == "reviewed" and claim.approved_by is None
    assert f"补偿申请 {claim.invoice_no} 由您审核，审批须由另一位工作人员进行" in response.content.decode()


def test_return_needs_a_note_and_the_clerk_resubmits(client, users_by_role, clerk, claim):
    reviewer = login(client, users_by_role[Role.REVIEWER])
    response = reviewer.post(reverse("claims:claim_return", args=[claim.pk]), {"note": " "}, follow=True)
    assert "退回时请写明需要修改的内容" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "submitted"
    reviewer.post(reverse("claims:claim_return", args=[claim.pk]), {"note": "缺出院小结"})
    claim.refresh_from_db()
    assert (claim.status, claim.note) == ("returned", "缺出院小结")
    page = login(client, clerk).get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert "缺出院小结" in page and "重新提交" in page
    client.post(reverse("claims:claim_resubmit", args=[claim.pk]))
    claim.refresh_from_db()
    assert claim.status == "submitted"
    assert list(claim.events.values_list("action", flat=True)) == ["submit", "return", "resubmit"]


def test_reject_with_a_reason_from_the_list(client, users_by_role, claim, reason):
    approver = login(client, users_by_role[Role.APPROVER])
    page = approver.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    assert f'<option value="{reason.pk}">{reason.text}</option>' in page
    response = approver.post(reverse("claims:claim_reject", args=[claim.pk]), {"reason": ""}, follow=True)
    assert "请从列表中选择不予补偿的原因" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "submitted"
    approver.post(reverse("claims:claim_reject", args=[claim.pk]), {"reason": reason.pk, "note": "缺发票原件"})
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason, claim.note) == ("rejected", reason, "缺发票原件")
    assert "不予补偿原因：材料不全" in approver.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()


def test_bulk_approve_the_shown_or_the_chosen_claims(client, users_by_role, policy, facility, member, admin_user):
    reviewer, approver = users_by_role[Role.REVIEWER], users_by_role[Role.APPROVER]
    claims = [submit(member, admin_user, n=n) for n in (1, 2, 3)]
    for claim in claims:
        services.claim_review(user=reviewer, claim=claim)
    login(client, approver)
    queue = client.get(reverse("claims:claim_list"))
    assert sorted(queue.context["approvable"]) == [c.pk for c in claims]
    assert "审批本页全部已审核的申请（3 件）" in queue.content.decode()
    client.post(reverse("claims:bulk_approve"), {"claim": [claims[0].pk], "selected": "1"})
    assert [Claim.objects.get(pk=c.pk).status for c in claims] == ["approved", "reviewed", "reviewed"]
    response = client.post(reverse("claims:bulk_approve"), {
        "shown": [claims[1].pk, claims[2].pk], "all_shown": "1", "next": "/claims/?status=reviewed"})
    assert response["Location"] == "/claims/?status=reviewed"
    assert [Claim.objects.get(pk=c.pk).status for c in claims] == ["approved"] * 3
    assert set(Claim.objects.values_list("approved_by", flat=True)) == {approver.pk}


def test_bulk_approve_is_all_or_nothing_and_names_the_reason(client, users_by_role, policy, facility, member,
                                                             admin_user):
    mine = submit(member, admin_user, n=1)
    theirs = submit(member, admin_user, n=2)
    services.claim_review(user=admin_user, claim=mine)
    services.claim_review(user=users_by_role[Role.REVIEWER], claim=theirs)
    response = login(client, admin_user).post(reverse("claims:bulk_approve"),
                                              {"shown": [mine.pk, theirs.pk], "all_shown": "1"}, follow=True)
    assert "没有审批任何申请" in response.content.decode() and "审批须由另一位工作人员进行" in response.content.decode()
    assert set(Claim.objects.values_list("status", flat=True)) == {"reviewed"}


def test_the_queue_offers_an_approver_only_the_claims_someone_else_reviewed(client, users_by_role, policy,
                                                                          facility, member, admin_user):
    mine = submit(member, admin_user, n=1)
    theirs = submit(member, admin_user, n=2)
    services.claim_review(user=admin_user, claim=mine)
    services.claim_review(user=users_by_role[Role.REVIEWER], claim=theirs)
    queue = login(client, admin_user).get(reverse("claims:claim_list"))
    assert queue.context["approvable"] == [theirs.pk]
    page = queue.content.decode()
    assert "审批本页全部已审核的申请（1 件）" in page
    assert f'name="claim" value="{theirs.pk}"' in page and f'name="claim" value="{mine.pk}"' not in page


def test_documents_upload_checked_and_download_scoped(client, clerk, other_clerk, claim, settings):
    login(client, clerk)
    url = reverse("claims:document_upload", args=[claim.pk])
    refused = client.post(url, {"scans": [SimpleUploadedFile("scan.jpg", b"not a jpeg at all")]}, follow=True)
    assert "不是 PDF、JPEG 或 PNG 格式的扫描件" in refused.content.decode()
    settings.CLAIM_DOCUMENT_MAX_BYTES = 50
    too_big = client.post(url, {"scans": [SimpleUploadedFile("scan.png", PNG)]}, follow=True)
    assert "太大" in too_big.content.decode()
    assert ClaimDocument.objects.count() == 0
    settings.CLAIM_DOCUMENT_MAX_BYTES = 1024 * 1024
    client.post(url, {"scans": [SimpleUploadedFile("出院小结.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 32)]})
    document = ClaimDocument.objects.get()
    assert (document.content_type, document.original_name, document.uploaded_by) == (
        "image/jpeg", "出院小结.jpg", clerk)
    download = client.get(reverse("claims:document_download", args=[document.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "image/jpeg"
    assert b"".join(download.streaming_content).startswith(b"\xff\xd8\xff")
    assert login(client, other_clerk).get(reverse("claims:document_download", args=[document.pk])).status_code == 404


def test_login_page_round_trip(client, clerk):
    """A real login (not force_login) reaches the entry page."""
    assert client.login(username=clerk.username, password=PASSWORD)
    assert client.get(reverse("claims:claim_create")).status_code == 200


# --- issue 14: finding the member by name; the quote names a wrong date ---------------------


def test_member_lookup_by_name_in_own_township_only_saying_what_matched(client, clerk, member, other_member,
                                                                        village, other_village):
    namesake = MemberFactory(household=HouseholdFactory(village=other_village), name="王小明")
    cousin = MemberFactory(household=HouseholdFactory(village=village), name="王小明明")
    login(client, clerk)
    response = client.get(reverse("claims:member_lookup"), {"q": " 王小明 "})
    html = response.content.decode()
    assert [m.pk for m in response.context["members"]] == [member.pk, cousin.pk]  # the exact name first
    assert [m.matched for m in response.context["members"]] == ["name", "name"]
    assert "按姓名找到" in html and namesake.id_number not in html
    assert "HX-Trigger-After-Settle" not in response  # two found: the clerk chooses
    by_id = client.get(reverse("claims:member_lookup"), {"q": member.id_number})
    assert [m.matched for m in by_id.context["members"]] == ["id_number"]
    assert "按身份证号找到" in by_id.content.decode()
    by_card = client.get(reverse("claims:member_lookup"), {"q": member.household.card_number.lower()})
    assert by_card.context["members"][0].matched == "card" and "按合作医疗证号找到" in by_card.content.decode()
    nobody = client.get(reverse("claims:member_lookup"), {"q": other_member.name}).content.decode()
    assert other_member.id_number not in nobody and "本乡镇没有姓名、身份证号或合作医疗证号" in nobody


def test_claim_page_finds_the_member_by_name(client, clerk, member):
    response = login(client, clerk).get(reverse("claims:claim_create"), {"q": member.name})
    assert [m.pk for m in response.context["members"]] == [member.pk]
    assert response.context["chosen"] == str(member.pk)


def test_quote_says_discharge_before_admission_not_that_it_is_missing(client, clerk, policy, facility, member):
    login(client, clerk)
    html = client.post(reverse("claims:claim_quote_preview"), entry_data(
        member, facility, admission_date="2026-03-08", discharge_date="2026-03-01")).content.decode()
    assert "出院日期早于入院日期" in html
    assert "请先填写" not in html
    html = client.post(reverse("claims:claim_quote_preview"), entry_data(
        member, facility, discharge_date="")).content.decode()
    assert "请先填写" in html and "出院日期" in html


# --- the facility's desk: instant settlement at discharge (即时结报) -------------------------------


@pytest.fixture
def fclerk(make_user, facility):
    return make_user(Role.FACILITY_CLERK, facility=facility, username="fclerk-desk")


def test_a_facility_clerk_settles_a_discharge_on_the_web(client, policy, facility, member, fclerk, clock):
    clock("2026-03-10 10:00")
    login(client, fclerk)
    home = client.get(reverse("home")).content.decode()
    assert reverse("claims:claim_create") in home and "出院即时结报" in home
    page = client.get(reverse("claims:claim_create")).content.decode()
    assert "出院即时结报" in page and "身份证号或合作医疗证号" in page
    quote = client.post(reverse("claims:claim_quote_preview"), entry_data(member, facility)).content.decode()
    assert 'id="quote-collect"' in quote and "出院时向患者收取 290.00 元" in quote
    response = client.post(reverse("claims:claim_create"), entry_data(member, facility), follow=True)
    claim = Claim.objects.get()
    assert (claim.channel, claim.facility, claim.submitted_by, claim.compensation, claim.patient_pays) == (
        "facility", facility, fclerk, Decimal("810.00"), Decimal("290.00"))
    body = response.content.decode()
    assert "请向患者收取个人自付 290.00 元" in body and reverse("claims:claim_slip_pdf", args=[claim.pk]) in body
    # the same discharge sent again (a double click) settles it once
    client.post(reverse("claims:claim_create"), entry_data(member, facility))
    assert Claim.objects.count() == 1


def test_the_facility_desk_settles_only_at_its_own_facility(client, policy, facility, member, fclerk, clock,
                                                              township):
    from tests.factories import FacilityFactory

    clock("2026-03-10 10:00")
    other = FacilityFactory(code="F777", township=township)
    login(client, fclerk)
    response = client.post(reverse("claims:claim_create"), entry_data(member, other))
    assert response.status_code == 200 and not Claim.objects.exists()


def test_the_facility_desk_finds_members_by_id_or_card_never_by_name(client, policy, member, fclerk):
    login(client, fclerk)
    by_name = client.get(reverse("claims:member_lookup"), {"q": member.name}).content.decode()
    assert member.id_number not in by_name
    by_id = client.get(reverse("claims:member_lookup"), {"q": member.id_number}).content.decode()
    assert f'value="{member.pk}"' in by_id


def test_approving_a_claim_without_scans_warns_and_asks(client, users_by_role, policy, member, admin_user):
    claim = submit(member, admin_user)
    services.claim_review(user=users_by_role[Role.REVIEWER], claim=claim)
    page = login(client, users_by_role[Role.APPROVER]).get(reverse("claims:claim_detail", args=[claim.pk]))
    html = page.content.decode()
    assert 'id="no-scans-warning"' in html and "没有扫描件，仍然审批通过" in html
