"""Every page of the URL walk, as an anonymous visitor and as each role: no figure is shown with
more than two decimals (aggregate sums come back from SQLite and PostgreSQL with eight or more;
ratios are shown as percentages with two): HTML, PDF (read with pdftotext) and XLSX (a number
cell must be formatted to two places). Charts' SVG, scripts and styles are left out: their
coordinates are no figures a reader sees."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from openpyxl import load_workbook

from tests.factories import ClaimFactory
from tests.security_walk.table import ALL_RULES, ROLES, _admin_rows, _url, expected, outcome, variants, walk
from tests.security_walk.test_url_walk import body_text

LONG_DECIMAL = re.compile(r"(?<![\w.])\d[\d,]*\.\d{3,}(?![\w.])")
NO_SEPARATOR = re.compile(r"(?<![\d,.])\d{4,}\.\d\d(?!\d)")  # 1100.00 where 1,100.00 is meant
HIDDEN = re.compile(r"<(svg|script|style)\b.*?</\1>", re.S | re.I)
# a textarea holds a form value (a policy file's JSON, plain 1100.00 so it posts), as an input's value does
FORM_TEXT = re.compile(r"<textarea\b.*?</textarea>", re.S | re.I)


def _shown(text: str) -> str:
    return HIDDEN.sub("", text)


def _pdf_text(response, tmp_path) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    path = tmp_path / "page.pdf"
    path.write_bytes(content)
    # uploaded scans of the walk are stand-ins, no real PDF: pdftotext reads nothing from them
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=False).stdout.decode()


def _xlsx_long_figures(response) -> list[str]:
    """Cells a spreadsheet shows with more than two decimals: a text cell holding such a figure,
    or a number whose format does not round it to two places (money '#,##0.00', ratios '0.00%')."""
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    found = []
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str):
                    found += LONG_DECIMAL.findall(value)
                elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    exponent = Decimal(str(value)).normalize().as_tuple().exponent
                    if isinstance(exponent, int) and exponent < -2 and "0.00" not in cell.number_format:
                        found.append(f"{cell.coordinate}={value}")
    return found


@pytest.fixture
def amounts_world(world):
    """The walk's world with claims whose sums carry cents that SQLite's float sums blur."""
    for number, (cost, compensation) in enumerate((("1082904.97", "562079.86"), ("0.10", "0.10"), ("0.20", "0.20"))):
        ClaimFactory(member=world.own.member, facility=world.own.facility, invoice_no=f"INV-SUM-{number}",
                     status="submitted", policy=world.policy, total_cost=Decimal(cost),
                     reimbursable_cost=Decimal(cost), non_reimbursable_cost=Decimal("0.00"),
                     compensation=Decimal(compensation), patient_pays=Decimal(cost) - Decimal(compensation),
                     admission_date=date(2026, 1, 10 + number), discharge_date=date(2026, 1, 10 + number))
    cache.clear()
    yield world
    cache.clear()


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_no_page_shows_an_amount_with_more_than_two_decimals_or_without_separators(amounts_world, role, tmp_path):
    world = amounts_world
    user = None if role is None else world.users[role]
    _admin_rows(world)
    client = Client()
    if user is not None:
        client.force_login(user)
    wrong = []
    for key, _route in walk():
        if key.startswith("admin:") or key.startswith("api:"):
            continue  # the Django admin shows raw field values; the API keeps the contract's figures
        rule = ALL_RULES[key]
        for variant in variants(rule):
            url = _url(key, rule, world, variant)
            response = client.get(url)
            if outcome(response) != 200 or expected(rule, user, variant) != 200:
                continue
            if "json" in response.get("Content-Type", ""):
                continue  # contract outputs keep their own figures
            if "spreadsheetml" in response.get("Content-Type", ""):
                found = _xlsx_long_figures(response)
            elif "pdf" in response.get("Content-Type", ""):
                found = LONG_DECIMAL.findall(_pdf_text(response, tmp_path))
            elif (text := body_text(response)) is not None:
                found = LONG_DECIMAL.findall(_shown(text))
                if "html" in response.get("Content-Type", ""):  # what a reader sees, not form values
                    found += NO_SEPARATOR.findall(re.sub(r"<[^>]*>", " ", FORM_TEXT.sub("", _shown(text))))
            else:
                continue
            if found:
                wrong.append(f"{key} [{variant}] GET {url}: {sorted(set(found))[:5]}")
    assert wrong == [], "\n".join(wrong)
