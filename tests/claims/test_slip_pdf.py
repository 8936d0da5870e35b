"""The settlement slip (结算单): a PDF with the member, facility, dates, costs, the breakdown line
by line, the compensation and what the patient pays, in Chinese (checked with pdftotext)."""
import re
import subprocess

import pytest
from django.urls import reverse

from accounts.models import Role
from claims import services, settlement
from tests.claims.conftest import TODAY, facts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "slip.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return re.sub(r"[ \t]+", " ", text)


def test_slip_lists_member_facility_costs_and_breakdown(client, users_by_role, policy, county_facility, member,
                                                        admin_user, tmp_path):
    claim = services.claim_submit(user=admin_user, channel="township", facts=facts(
        member, facility="F002", invoice_no="F002-2026-000077", total_cost="12345.60",
        non_reimbursable_cost="1345.60", diagnosis_text="肺炎"), cost_lines=[
        {"category": "drugs", "amount": "8000.00", "in_catalog": True},
        {"category": "beds", "amount": "3000.00", "in_catalog": True},
        {"category": "materials", "amount": "1345.60", "in_catalog": False}])
    services.claim_review(user=users_by_role[Role.REVIEWER], claim=claim)
    client.force_login(users_by_role[Role.AUDITOR])
    response = client.get(reverse("claims:claim_slip_pdf", args=[claim.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content, tmp_path)
    (tmp_path / "slip.txt").write_text(text)
    for expected in (
        "新型农村合作医疗住院补偿结算单", "王小明", member.id_number, "城关镇 东湖村", member.household.card_number,
        "县人民医院（县级医院）", "2026-03-01", "2026-03-08", "住院 7 天", "J18.9 肺炎", "F002-2026-000077",
        "药品费", "床位费", "材料费", "8,000.00", "3,000.00", "1,345.60", "12,345.60",
        "可报销费用 11,000.00 = 总费用 12,345.60 − 目录外费用 1,345.60",
        "起付线 400.00（县级医院）",
        "400.00–10,000.00 部分：(10,000.00 − 400.00) × 75% = 7,200.00",
        "10,000.00–11,000.00 部分：(11,000.00 − 10,000.00) × 80% = 800.00",
        "本次补偿金额 8,000.00 元", "个人自付金额 4,345.60 元",
        "个人自付 4,345.60 = 总费用 12,345.60 − 补偿金额 8,000.00",
        users_by_role[Role.REVIEWER].display_name,
    ):
        assert expected in text, expected


def test_slip_is_scoped(client, other_clerk, clerk, policy, facility, member, admin_user):
    claim = services.claim_submit(user=admin_user, channel="township", facts=facts(member))
    url = reverse("claims:claim_slip_pdf", args=[claim.pk])
    client.force_login(other_clerk)
    assert client.get(url).status_code == 404
    client.force_login(clerk)
    assert client.get(url).status_code == 200


def _pages(content: bytes, tmp_path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True).stdout.decode()
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _long_claim(admin_user, member):
    return services.claim_submit(user=admin_user, channel="township", facts=facts(
        member, facility="F002", invoice_no="F002-2026-000088", total_cost="12345.60",
        non_reimbursable_cost="1345.60", diagnosis_text="肺炎"), cost_lines=[
        {"category": category, "amount": amount, "in_catalog": category != "materials"}
        for category, amount in (("drugs", "6000.00"), ("tests", "1000.00"), ("treatment", "1000.00"),
                                 ("beds", "3000.00"), ("materials", "1345.60"))])


def test_the_slip_names_the_approver_states_the_amount_in_words_and_fits_one_page(
        client, users_by_role, policy, county_facility, member, admin_user, tmp_path):
    claim = _long_claim(admin_user, member)
    services.claim_review(user=users_by_role[Role.REVIEWER], claim=claim)
    services.claim_approve(user=users_by_role[Role.APPROVER], claim=claim)
    client.force_login(users_by_role[Role.AUDITOR])
    response = client.get(reverse("claims:claim_slip_pdf", args=[claim.pk]))
    text = pdf_text(response.content, tmp_path)
    assert "审批人" in text and users_by_role[Role.APPROVER].display_name in text
    assert "补偿金额大写" in text and "捌仟元整" in text  # 8,000.00 in capital numerals
    assert _pages(response.content, tmp_path) == 1


def test_a_rejected_claim_shows_no_payable_amount_but_its_reason(
        client, users_by_role, policy, county_facility, member, admin_user, tmp_path, clock):
    from claims.models import RejectionReason

    clock("2026-03-20 10:00")
    reason, _ = RejectionReason.objects.get_or_create(code="documents_missing", defaults={"text": "材料不全"})
    claim = _long_claim(admin_user, member)
    services.claim_reject(user=users_by_role[Role.REVIEWER], claim=claim, reason=reason)
    client.force_login(users_by_role[Role.AUDITOR])
    slip = client.get(reverse("claims:claim_slip_pdf", args=[claim.pk]))
    text = pdf_text(slip.content, tmp_path)
    assert "不予补偿" in text and reason.text in text
    assert "本次补偿金额" not in text and "8,000.00 元" not in text and "捌仟元整" not in text
    assert _pages(slip.content, tmp_path) == 1
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    figures = page[page.index('class="card figures"'):page.index("</section>", page.index('class="card figures"'))]
    assert 'id="claim-compensation">不予补偿<' in figures and "8,000.00" not in figures and reason.text in figures
    assert "补偿计算过程" not in page
    client.logout()
    lookup = client.post(reverse("publicity:claim_lookup"), {"id_number": member.id_number, "name": member.name})
    html = lookup.content.decode()
    assert "不予补偿" in html and reason.text in html and "8,000.00" not in html
