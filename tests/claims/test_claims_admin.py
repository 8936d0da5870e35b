"""The claims admin: claims read-only (they change only through the services), reasons maintained."""
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.urls import path

from accounts.models import Role
from claims.models import Claim, ClaimEvent, RejectionReason
from claims.services import claim_settle
from tests.claims.conftest import facts
from tests.factories import UserFactory

# the admin alone, so these pages are tested whatever the rest of the site's URLs hold; it registers
# the apps' models as config/urls.py does (settings: SimpleAdminConfig)
admin.autodiscover()
urlpatterns = [path("admin/", admin.site.urls)]
# refusals answered as config.urls answers them in the admin (the site's own pages are not here)
handler403 = "config.urls.permission_denied"
handler404 = "config.urls.page_not_found"
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_claim_pages_read_and_refuse_changes(client, policy, facility, member):
    root = UserFactory(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    claim = claim_settle(user=root, facts=facts(member))[0]
    client.force_login(root)
    for url in ["/admin/claims/claim/", f"/admin/claims/claim/{claim.pk}/change/",
                f"/admin/claims/claim/{claim.pk}/history/", "/admin/claims/rejectionreason/"]:
        assert client.get(url).status_code == 200, url
    assert client.post(f"/admin/claims/claim/{claim.pk}/change/", {"note": "x"}).status_code == 403
    assert client.get(f"/admin/claims/claim/{claim.pk}/delete/").status_code == 403
    assert Claim.objects.get().note == ""


def test_the_data_migration_seeds_the_maintained_list_once():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("claims.migrations.0003_seed_rejection_reasons")
    # run again (a transactional test may have flushed the rows the migration wrote): idempotent
    migration.seed(apps, None)
    migration.seed(apps, None)
    assert list(RejectionReason.objects.active().order_by("pk").values_list("text", flat=True)) == [
        "非参合人员", "非定点机构", "超出报销时限", "重复报销", "材料不全", "目录外费用", "其他"]


def test_claim_factory_builds_a_valid_row(township):
    from tests.factories import ClaimFactory

    claim = ClaimFactory(facility__township=township)
    claim.full_clean()
    assert (claim.policy.year, claim.compensation, claim.status) == (2026, claim.reimbursable_cost - 190, "submitted")


def test_a_claim_event_reads_in_county_time():
    """The admin lists a claim's events by their text: 16:30 UTC on 14 June is 00:30 on the 15th in
    the county."""
    event = ClaimEvent(claim_id=7, action="pay", at=datetime(2026, 6, 14, 16, 30, tzinfo=UTC))
    assert str(event) == "7 pay 2026-06-15 00:30"
