"""Correction lines (更正) on notices: a recovery (追回) of a claim posted on an earlier notice of
the village, recorded after that notice went up, rides on the village's next notice once, masked
like the other lines; a village with corrections and no new claims gets a notice of them alone."""
import re
import subprocess

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Role
from claims.services import claim_recover
from core.errors import NcmsError
from publicity import services
from publicity.models import Notice, NoticeCorrection


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def claim_of(county, name):
    return next(claim for claim in county["claims"] if claim.member.name == name)


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(content)
    return re.sub(r"[ \t]+", " ", subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                                                 check=True, text=True).stdout)


def test_a_recovery_after_posting_is_corrected_on_the_villages_next_notice(
        county, clock, users_by_role, village, client, tmp_path):
    reviewer = users_by_role[Role.REVIEWER]
    clock("2026-04-02 10:00")
    services.notices_publish(year=2026, month=3)
    clock("2026-04-20 10:00")
    claim_recover(user=reviewer, claim=claim_of(county, "王建国"), amount="100.00", reason="重复收费")
    # 陈小龙's claim (paid 15 April) is not posted yet: its recovery needs no correction
    claim_recover(user=reviewer, claim=claim_of(county, "陈小龙"), amount="9.50", reason="重复收费")
    clock("2026-05-02 10:00")
    notices = services.notices_publish(year=2026, month=4)
    april = next(notice for notice in notices if notice.village == village)
    assert [c.text for c in april.corrections.all()] == [
        "更正：王*国 2026年3月 补偿 500.00 元，追回 100.00 元，实际补偿 400.00 元"]
    assert NoticeCorrection.objects.count() == 1  # only the village of the posted claim
    assert services.notices_publish(year=2026, month=4) == []  # corrected once

    page = client.get(reverse("publicity:notice_detail", args=[april.pk])).content.decode()
    assert "更正：王*国 2026年3月 补偿 500.00 元，追回 100.00 元，实际补偿 400.00 元" in page
    assert "王建国" not in page and "陈小龙" not in page
    text = pdf_text(client.get(reverse("publicity:notice_pdf", args=[april.pk])).content, tmp_path)
    assert "更正：王*国 2026年3月 补偿 500.00 元，追回 100.00 元，实际补偿 400.00 元" in text
    assert "王建国" not in text

    # a second recovery of the same claim: the next notice (of corrections alone) says what is left
    clock("2026-05-10 10:00")
    claim_recover(user=reviewer, claim=claim_of(county, "王建国"), amount="50.00", reason="超标准收费")
    clock("2026-06-02 10:00")
    (may,) = services.notices_publish(year=2026, month=5)
    assert (may.village, may.month, may.number, may.lines.count()) == (village, 5, 0, 0)
    assert [c.text for c in may.corrections.all()] == [
        "更正：王*国 2026年3月 补偿 500.00 元，追回 50.00 元，实际补偿 350.00 元"]
    page = client.get(reverse("publicity:notice_detail", args=[may.pk])).content.decode()
    assert "实际补偿 350.00 元" in page and "王建国" not in page


def test_a_correction_line_is_never_changed(county, clock, users_by_role):
    clock("2026-04-02 10:00")
    services.notices_publish(year=2026, month=3)
    claim_recover(user=users_by_role[Role.REVIEWER], claim=claim_of(county, "李娜"), amount="10.00", reason="重复收费")
    clock("2026-05-02 10:00")
    services.notices_publish(year=2026, month=4)
    correction = NoticeCorrection.objects.get()
    assert correction.text == "更正：李* 2026年3月 补偿 810.00 元，追回 10.00 元，实际补偿 800.00 元"
    correction.net = 0
    with pytest.raises(NcmsError):
        correction.save()
    with pytest.raises(NcmsError):
        correction.delete()
    assert Notice.objects.filter(corrections__isnull=False).count() == 1
