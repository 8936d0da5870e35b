"""No personal data in the logs: the main journeys run with every logger captured at DEBUG, and
no member's full name, ID number or phone number appears in any log line (plain or JSON)."""
import logging
import re
from datetime import date

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from claims.models import Claim, ClaimStatus
from enrollment.models import Member
from ledger.services import funds_transfer, income_record
from publicity.models import Notice
from publicity.services import notices_publish
from tests.claims.conftest import line
from tests.claims.test_views import entry_data
from tests.conftest import PASSWORD
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

PHONE = "13912345678"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64
LOGGERS = ["", "django", "django.request", "django.server", "django.template", "django.security",
           "django.db.backends", "celery", "celery.task", "celery.worker", "ncms", "ncms.access", "axes",
           "accounts", "claims", "enrollment", "fund", "publicity", "facilities", "py.warnings"]


@pytest.fixture
def people(village, policy):
    """Two enrolled members of one household with a phone number and a bank account."""
    household = HouseholdFactory(village=village, phone=PHONE, bank_name="农商银行",
                                 bank_account="6228480012345678901")
    first = MemberFactory(household=household, name="欧阳明华")
    second = MemberFactory(household=household, name="司马秀英", relation="spouse")
    for person in (first, second):
        EnrollmentFactory(member=person, year=2026)
    return first, second


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def rendered(records) -> str:
    """Every record as the console (plain) and the production JSON formatter would write it."""
    from core.logs import JsonFormatter

    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    json_formatter = JsonFormatter()
    lines = []
    for record in records:
        for key in ("request_id", "task_id"):
            record.__dict__.setdefault(key, "-")
        lines.append(plain.format(record))
        lines.append(json_formatter.format(record))
    return "\n".join(lines)


def test_main_journeys_log_no_names_id_numbers_or_phones(client, all_logs, people, policy, facility, clerk,
                                                         facility_clerk, reviewer, approver, users_by_role,
                                                         make_user, village, monkeypatch, clock):
    from accounts.models import Role
    from claims import settlement

    cache.clear()
    clock("2026-06-15 10:00")  # the members, the policy and the fund are of 2026
    today = timezone.localdate()
    first, second = people
    monkeypatch.setattr(settlement, "_today", lambda: today)
    admission = today.replace(day=1) if today.day > 3 else today
    income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="100000.00", ref="C-1")
    funds_transfer(user=None, year=2026, date=date(2026, 2, 2), amount="50000.00", ref="T-1")
    cashier = make_user(Role.CASHIER, username="cashier")
    make_user(Role.FUND_OFFICER, username="handler")

    # a failed login naming a user, then the clerk logs in
    client.post(reverse("login"), {"username": first.id_number, "password": "wrong"})
    client.post(reverse("login"), {"username": "clerk", "password": "wrong-password"})
    assert client.post(reverse("login"), {"username": "clerk", "password": PASSWORD}).status_code == 302

    # the clerk searches the member by ID number, by name and by phone
    for text in (first.id_number, first.name, PHONE):
        assert client.get(reverse("enrollment:household_search"), {"q": text}).status_code == 200
    assert client.get(reverse("claims:member_lookup"), {"q": first.id_number}).status_code == 200

    # the clerk enters a township-office claim with a scan
    data = entry_data(first, facility, admission_date=str(admission), discharge_date=str(today),
                      invoice_no="INV-LOG-1")
    data["scans"] = [SimpleUploadedFile(f"{first.name}-发票.pdf", PDF)]
    response = client.post(reverse("claims:claim_create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entered = Claim.objects.get(invoice_no="INV-LOG-1")

    # the facility settles a claim of the second member through the API; errors on the way
    token, _ = Token.objects.get_or_create(user=facility_clerk)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = line(second, invoice_no="F001-LOG-2", admission_date=str(admission), discharge_date=str(today))
    body.pop("facility")
    assert api.get(f"/api/v1/members/{second.id_number}/").status_code == 200
    assert api.post("/api/v1/quote/", body, format="json").status_code == 200
    assert api.post("/api/v1/claims/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code in (200, 201)
    assert api.post("/api/v1/claims/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code in (200, 201)
    unknown = dict(body, id_number="11010519491231002X", invoice_no="F001-LOG-3")
    assert api.post("/api/v1/claims/", unknown, format="json").status_code >= 400
    assert api.get("/api/v1/members/11010519491231002X/").status_code == 404
    assert APIClient().get(f"/api/v1/members/{second.id_number}/").status_code in (401, 403)

    # review, approve, pay
    client.force_login(reviewer)
    assert client.post(reverse("claims:claim_review", args=[entered.pk]), {"note": ""}).status_code == 302
    client.force_login(approver)
    assert client.post(reverse("claims:claim_approve", args=[entered.pk])).status_code == 302
    client.force_login(cashier)
    queue = client.get(reverse("fund:payout_queue")).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]*)"', queue)
    client.post(reverse("fund:payout_pay"), {"pay_one": entered.pk, "idempotency_key": key[1] if key else ""})
    entered.refresh_from_db()
    assert entered.status == ClaimStatus.PAID

    # the month's notices are posted and read on the public site; a villager looks up their claim
    notices_publish(year=today.year, month=today.month)
    client.logout()
    notice = Notice.objects.get(village=village)
    for url in ("/public/", reverse("publicity:village_detail", args=[village.code]),
                reverse("publicity:notice_detail", args=[notice.pk])):
        assert client.get(url).status_code == 200
    lookup = reverse("publicity:claim_lookup")
    assert client.post(lookup, {"id_number": first.id_number, "name": first.name}).status_code == 200
    client.post(lookup, {"id_number": first.id_number, "name": "错误姓名"})
    client.get(lookup, {"id_number": first.id_number, "name": first.name})
    client.get(f"/public/no-such-page/{first.id_number}/")

    # then: plenty was logged, none of it personal
    text = rendered(all_logs.records)
    assert len(all_logs.records) > 20
    assert "/api/v1/claims/" in text  # the access lines were captured
    needles = {PHONE}
    for member in Member.objects.all():
        needles |= {member.name, member.id_number}
    found = sorted(needle for needle in needles if needle in text)
    assert found == [], "\n".join(line for line in text.splitlines() if any(n in line for n in found))[:3000]
