"""Each language shows its own words: in English the ledger's account names, the fund report's
spreadsheet (headers and warnings), a claim's history verbs and flags, and the policy's single
diseases are English; in Chinese they are Chinese (no English keys or codes)."""
import io
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from fund import report_output
from tests.fund.test_report import county  # noqa: F401  (the hand-built county fixture)

pytestmark = pytest.mark.django_db


def english(client, user):
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


def test_the_ledger_in_english_names_its_accounts_in_english(client, funded, users_by_role):
    page = english(client, users_by_role[Role.AUDITOR]).get(reverse("fund:ledger"), {"year": 2026}).content.decode()
    assert "中央财政补助收入" not in page and "财政专户" not in page
    assert "Central government subsidy income" in page


def _sheets(content: bytes):
    book = load_workbook(io.BytesIO(content))
    return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]


def test_the_report_spreadsheet_speaks_the_chosen_language(client, users_by_role, county):  # noqa: F811
    url = reverse("fund_report:download", args=["xlsx"])
    client.force_login(users_by_role[Role.FUND_OFFICER])
    table, warnings = _sheets(client.get(url, {"year": 2026, "month": 3}).content)
    assert table[0][:3] == ["乡镇代码", "乡镇名称", "农业人口"]
    assert [row[0] for row in warnings[1:]] and all(not kind.isascii() for kind, *_ in warnings[1:])
    table, warnings = _sheets(english(client, users_by_role[Role.FUND_OFFICER]).get(
        url, {"year": 2026, "month": 3}).content)
    assert all(header.isascii() for header in table[0]), table[0]
    assert warnings[0] == ["Type", "Township", "Message"] or all(cell.isascii() for cell in warnings[0])
    assert all(str(cell).isascii() for row in warnings[1:] for cell in row[:1]), warnings
    assert all("基金" not in row[2] and "参合率" not in row[2] for row in warnings[1:]), warnings  # place names stay


def test_the_report_page_warnings_in_english(client, users_by_role, county):  # noqa: F811
    page = english(client, users_by_role[Role.FUND_OFFICER]).get(
        reverse("fund_report:dashboard"), {"year": 2026, "month": 3}).content.decode()
    warnings = page[page.index('id="warnings"'):page.index("</ul>", page.index('id="warnings"'))]
    assert "基金" not in warnings and "参合率" not in warnings and "%" in warnings


def test_the_warning_sentences_in_chinese_are_the_contracts(users_by_role, county):  # noqa: F811
    from fund.report import monthly_report_figures

    figures = monthly_report_figures(year=2026, month=3)
    with translation.override("zh-hans"):
        shown = report_output.display_warnings(figures)
    assert shown and [w["message"] for w in shown] == [w["message"] for w in figures["warnings"]]


def test_history_verbs_flags_and_single_diseases_in_english(client, users_by_role, clock):
    from claims.models import ClaimEvent
    from oversight.models import ClaimFlag
    from tests.factories import ClaimFactory, PolicyVersionFactory

    clock("2026-06-15 10:00")
    claim = ClaimFactory(status="submitted", admission_date=date(2026, 3, 1), discharge_date=date(2026, 3, 8))
    ClaimEvent.objects.create(claim=claim, action="submit", to_status="submitted", user=None, at=timezone.now())
    ClaimFlag.objects.create(claim=claim, kind="readmission", detail="", computed_at=timezone.now())
    PolicyVersionFactory(year=2026)
    client = english(client, users_by_role[Role.REVIEWER])
    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    for word in ("15日内再住院", "提交"):
        assert word not in page, page[max(0, page.index(word) - 300):page.index(word) + 50]
    policy = client.get(reverse("claims:policy_detail"), {"year": 2026}).content.decode()
    assert "急性阑尾炎" not in policy and "Acute appendicitis" in policy


def test_a_flags_explanation_is_in_the_readers_language(client, users_by_role, clock):
    """The flag's detail is stored in Chinese and shown refilled from its template: English words
    with the same figures in English mode, the stored words in Chinese mode."""
    from oversight import rules
    from oversight.models import ClaimFlag
    from tests.factories import ClaimFactory

    clock("2026-06-15 10:00")
    claim = ClaimFactory(status="submitted", admission_date=date(2026, 3, 1), discharge_date=date(2026, 3, 8))
    details = {
        "cost_outlier": rules.claim_flags(rules.ClaimFacts(
            id=1, invoice_no="A", facility_code="F001", level="county", member_id=1, admission=date(2026, 3, 1),
            discharge=date(2026, 3, 8), diagnosis_code="J18.9", total_fen=900000, non_reimbursable_fen=10000),
            groups={("county", "J18"): (rules.Robust(23, 101100.0, 550.0), rules.Robust(23, 7.0, 1.0))})[0][1],
        "readmission_15d": rules.readmission_detail(3, "INV-0001", "F002", same_facility=True),
        "overlapping_stay": rules.overlap_detail("INV-0002"),
    }
    for kind, detail in details.items():
        ClaimFlag.objects.create(claim=claim, kind=kind, detail=detail, computed_at=timezone.now())
    assert details["readmission_15d"] == "距上次出院 3 天再次入院（上次住院 INV-0001，本院）"
    url = reverse("claims:claim_detail", args=[claim.pk])
    chinese = client.force_login(users_by_role[Role.REVIEWER]) or client.get(url).content.decode()
    for detail in details.values():
        assert detail in chinese
    page = english(client, users_by_role[Role.REVIEWER]).get(url).content.decode()
    assert "Readmitted 3 days after the previous discharge (previous stay INV-0001, this facility)" in page
    assert "Overlaps another stay of the same person (INV-0002)" in page
    assert "Total cost 9000.00 yuan, above the outlier bound" in page
    for detail in details.values():
        assert detail not in page
    # every template reads back from the words it writes
    for template in rules.DETAILS:
        values = {name: f"v{index}" for index, name in enumerate(
            ("total", "group", "n", "median", "bound", "days", "limit", "share", "invoice", "where", "gap"))}
        written = template % values
        assert rules.detail_parse(written) == (template, {k: v for k, v in values.items() if f"%({k})s" in template})
