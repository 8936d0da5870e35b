"""The co-op card (合作医疗证) PDF: real WeasyPrint, Chinese text must come out (pdftotext)."""
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment import services
from enrollment.models import Category, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id


@pytest.fixture
def household(clerk, village):
    household = services.household_create(
        user=clerk, village=village, number="4201021002010007", address="东湖村3组28号",
        phone="13912345678", head={"name": "欧阳振华", "id_number": make_resident_id("420102", date(1966, 9, 9), 13, MALE)},
    )
    wife = services.member_add(user=clerk, household=household, name="林秀珍",
                               id_number=make_resident_id("420102", date(1968, 4, 2), 24, FEMALE),
                               relation=Relation.SPOUSE, category=Category.DIBAO)
    services.member_add(user=clerk, household=household, name="欧阳小龙",
                        id_number=make_resident_id("420102", date(2005, 11, 30), 35, MALE),
                        relation=Relation.SON)
    year = timezone.localdate().year
    services.enrollment_record_contribution(user=clerk, member=wife, year=year, contribution="380.00",
                                            receipt_no="R-1", paid_date=date(year, 1, 2))
    return household


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "card.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_card_pdf_lists_the_household_and_its_members_in_chinese(client, clerk, household, tmp_path):
    client.force_login(clerk)
    response = client.get(reverse("enrollment:household_card_pdf", args=[household.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="card-HZ4201021002010007.pdf"'
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content, tmp_path)
    for expected in ["新型农村合作医疗证", "HZ4201021002010007", "4201021002010007", "城关镇", "东湖村",
                     "欧阳振华", "林秀珍", "欧阳小龙", "东湖村3组28号", household.head.id_number,
                     "户主", "配偶", "低保", "已参合", "未参合"]:
        assert expected in text, expected
    assert text.count("已参合") == 1
    assert text.count("未参合") == 2


def test_card_pdf_renders_to_an_image(client, clerk, household, tmp_path):
    """Renders page 1 to PNG (pdftoppm -r 60); the image is kept in /tmp for a look."""
    client.force_login(clerk)
    pdf = client.get(reverse("enrollment:household_card_pdf", args=[household.pk])).content
    pdf_path = tmp_path / "card.pdf"
    pdf_path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(pdf_path)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)
    fonts = subprocess.run(["pdffonts", str(pdf_path)], check=True, capture_output=True, text=True).stdout
    assert "Noto-Sans-CJK-SC" in fonts  # the CJK font is embedded, not a fallback box font
    out = Path("/tmp/ncms-card-test")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf_path), str(out)], check=True)
    png = out.with_suffix(".png")
    assert png.stat().st_size > 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_card_pdf_marks_a_member_who_died(client, clerk, household, tmp_path):
    from enrollment.models import MemberStatus

    son = household.members.get(name="欧阳小龙")
    services.member_leave(user=clerk, member=son, status=MemberStatus.DIED, on=date(2024, 10, 8), reason="病故")
    client.force_login(clerk)
    text = pdf_text(client.get(reverse("enrollment:household_card_pdf", args=[household.pk])).content, tmp_path)
    line = next(row for row in text.splitlines() if "欧阳小龙" in row)
    assert "死亡 2024-10-08" in line and "未参合" not in line
