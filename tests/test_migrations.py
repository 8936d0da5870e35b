"""Models moved between apps keep their tables and data: a database migrated to the layout before
the moves (townships and villages in enrollment, inspections and flags in facilities, the ledger in
fund, the policies in claims) migrates forward to today's layout with every row, key and permission where it was."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# the leaf migrations of each app before the places, oversight and ledger apps existed
BEFORE_THE_MOVES = [
    ("accounts", "0002_initial"),
    ("enrollment", "0003_leaner_roster_writes"),
    ("claims", "0006_history_without_date_index"),
    ("facilities", "0005_history_without_date_index"),
    ("fund", "0005_payout_batch_idempotency_key"),
    ("publicity", "0002_history_without_date_index"),
    # the apps the models moved to: none of their migrations applied
    ("places", None),
    ("oversight", None),
    ("ledger", None),
    ("policy", None),
]
MOVED = {
    "enrollment_township": ("places", "township"), "enrollment_village": ("places", "village"),
    "enrollment_villagepopulation": ("places", "villagepopulation"),
    "facilities_inspection": ("oversight", "inspection"),
    "facilities_inspectiondocument": ("oversight", "inspectiondocument"),
    "facilities_claimflag": ("oversight", "claimflag"),
    "fund_account": ("ledger", "account"), "fund_ledgertransaction": ("ledger", "ledgertransaction"),
    "fund_ledgerline": ("ledger", "ledgerline"), "fund_accountbalance": ("ledger", "accountbalance"),
    "claims_policyversion": ("policy", "policyversion"),
    "claims_historicalpolicyversion": ("policy", "historicalpolicyversion"),
}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state([t for t in targets if t[1]]).apps


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(MOVED):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
        return counts


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_layout_before_the_moves_migrates_forward_with_nothing_lost():
    # given a database migrated to the old layout, with rows written through the old models
    old = _migrate(BEFORE_THE_MOVES)
    ContentType = old.get_model("contenttypes", "ContentType")
    Township = old.get_model("enrollment", "Township")
    Village = old.get_model("enrollment", "Village")
    township = Township.objects.create(code="420102100", name="城关镇")
    village = Village.objects.create(code="420102100201", name="东湖村", township=township)
    old.get_model("enrollment", "VillagePopulation").objects.create(village=village, year=2026, population=812)
    household = old.get_model("enrollment", "Household").objects.create(
        number="H-1", village=village, address="东湖村1组")
    facility = old.get_model("facilities", "Facility").objects.create(
        code="F001", name="城关镇卫生院", level="township", township=township,
        agreement_start=date(2026, 1, 1), agreement_end=date(2026, 12, 31))
    inspection = old.get_model("facilities", "Inspection").objects.create(
        facility=facility, date=date(2026, 5, 6), inspectors="张三", findings="挂床住院",
        penalty_amount=Decimal("5000.00"), deduct_from_settlements=True)
    old.get_model("facilities", "InspectionDocument").objects.create(
        inspection=inspection, file="inspections/2026/05/a.pdf", content_type="application/pdf", size=10)
    Account = old.get_model("fund", "Account")
    # the chart is seeded by a migration; a test that flushed the tables before this one emptied it
    special = Account.objects.get_or_create(code="special", defaults={"name": "财政专户", "kind": "money"})[0]
    individual = Account.objects.get_or_create(code="income_individual",
                                               defaults={"name": "个人缴费收入", "kind": "income"})[0]
    from django.db import transaction

    with transaction.atomic():
        entry = old.get_model("fund", "LedgerTransaction").objects.create(
            year=2026, date=date(2026, 1, 5), kind="income", ref="R-1", memo="个人缴费")
        Line = old.get_model("fund", "LedgerLine")
        Line.objects.create(transaction=entry, account=special, amount=Decimal("380.00"))
        Line.objects.create(transaction=entry, account=individual, amount=Decimal("-380.00"))
    version = old.get_model("claims", "PolicyVersion").objects.create(
        year=2026, name="2026 方案", revision=2, document={"year": 2026}, loaded_at=datetime(2026, 1, 2, 9, 0,
                                                                                           tzinfo=UTC))
    township_type = ContentType.objects.get_or_create(app_label="enrollment", model="township")[0].pk
    before = _counts()

    # when it migrates forward to today's layout
    new = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # then every row is where it was, read through the models' new apps (later migrations may
    # add accounts to the chart: ledger 0003 seeds the recovered and penalty accounts)
    after = _counts()
    assert after["fund_account"] >= before["fund_account"]
    assert {k: v for k, v in after.items() if k != "fund_account"} == {
        k: v for k, v in before.items() if k != "fund_account"}
    Township = new.get_model("places", "Township")
    assert list(Township.objects.values_list("code", "name")) == [("420102100", "城关镇")]
    moved_village = new.get_model("places", "Village").objects.get(pk=village.pk)
    assert moved_village.township_id == township.pk
    assert new.get_model("places", "VillagePopulation").objects.get(village_id=village.pk).population == 812
    assert new.get_model("enrollment", "Household").objects.get(pk=household.pk).village_id == village.pk
    assert new.get_model("facilities", "Facility").objects.get(pk=facility.pk).township_id == township.pk
    moved_inspection = new.get_model("oversight", "Inspection").objects.get(pk=inspection.pk)
    assert (moved_inspection.facility_id, moved_inspection.penalty_amount) == (facility.pk, Decimal("5000.00"))
    assert new.get_model("oversight", "InspectionDocument").objects.get().inspection_id == inspection.pk
    lines = new.get_model("ledger", "LedgerLine").objects.filter(transaction_id=entry.pk)
    assert sorted(lines.values_list("amount", flat=True)) == [Decimal("-380.00"), Decimal("380.00")]
    moved_version = new.get_model("policy", "PolicyVersion").objects.get(pk=version.pk)
    assert (moved_version.year, moved_version.revision, moved_version.document) == (2026, 2, {"year": 2026})
    # permissions and admin history follow: the content type row is the same, relabelled
    moved_type = new.get_model("contenttypes", "ContentType").objects.get(app_label="places", model="township")
    assert moved_type.pk == township_type
    # and the database serves today's models
    from places.models import Village as CurrentVillage

    assert CurrentVillage.objects.get(pk=village.pk).township.name == "城关镇"
