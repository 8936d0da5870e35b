"""The nightly job storing claim flags (oversight.tasks.claim_flags_refresh): stores the flags of
new and changed claims, idempotent, follows changes; and its beat entry."""
from datetime import date, timedelta

import pytest
from django.utils import timezone

from claims.models import Claim
from config.celery import app
from oversight.flags import claim_flags_store
from oversight.models import ClaimFlag
from oversight.tasks import claim_flags_refresh
from tests.factories import ClaimFactory, MemberFactory


def stored():
    return sorted(ClaimFlag.objects.values_list("claim__invoice_no", "kind"))


@pytest.fixture
def split_stays(facility):
    member = MemberFactory()
    ClaimFactory(member=member, facility=facility, invoice_no="S1", admission_date=date(2026, 3, 1),
                 discharge_date=date(2026, 3, 5))
    ClaimFactory(member=member, facility=facility, invoice_no="S2", admission_date=date(2026, 3, 10),
                 discharge_date=date(2026, 3, 14))
    ClaimFactory(member=member, facility=facility, invoice_no="S3", admission_date=date(2026, 3, 28),
                 discharge_date=date(2026, 4, 2))


def test_beat_runs_the_job_nightly():
    entry = app.conf.beat_schedule["nightly claim flags"]
    assert entry["task"] == "oversight.tasks.claim_flags_refresh"
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {30}


@pytest.mark.celery_worker
def test_job_stores_flags_once_and_follows_changes(celery_worker, split_stays):
    result = claim_flags_refresh.delay().get(timeout=60)
    # months: March, April (discharges) and May (the month after April)
    assert result == {"months": 3, "created": 2, "updated": 0, "deleted": 0}
    assert stored() == [("S2", "readmission_15d"), ("S3", "readmission_15d")]
    first_at = ClaimFlag.objects.get(claim__invoice_no="S2").computed_at

    again = claim_flags_refresh.delay().get(timeout=60)
    assert again == {"months": 3, "created": 0, "updated": 0, "deleted": 0}
    assert ClaimFlag.objects.get(claim__invoice_no="S2").computed_at == first_at

    # S2 rejected: its flag goes, and S3's previous stay is now S1 (23 days): its flag goes too
    Claim.objects.filter(invoice_no="S2").update(status="rejected", updated_at=timezone.now())
    changed = claim_flags_refresh.delay().get(timeout=60)
    assert changed["deleted"] == 2 and stored() == []


@pytest.mark.django_db
def test_job_looks_only_at_recent_changes_unless_asked(split_stays):
    Claim.objects.update(updated_at=timezone.now() - timedelta(days=3))
    assert claim_flags_refresh(since_hours=48) == {"months": 0, "created": 0, "updated": 0, "deleted": 0}
    assert stored() == []
    assert claim_flags_refresh(all_months=True)["created"] == 2
    assert stored() == [("S2", "readmission_15d"), ("S3", "readmission_15d")]


@pytest.mark.django_db
def test_store_updates_a_changed_detail(split_stays):
    claim_flags_store(year=2026, month=3)
    ClaimFlag.objects.filter(claim__invoice_no="S2").update(detail="旧说明")
    assert claim_flags_store(year=2026, month=3) == {"created": 0, "updated": 1, "deleted": 0}
    assert ClaimFlag.objects.get(claim__invoice_no="S2").detail == "距上次出院 5 天再次入院（上次住院 S1，本院）"
