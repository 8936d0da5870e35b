"""Nothing in the ledger is updated or deleted: database triggers refuse raw SQL too (PostgreSQL and
SQLite); every database refuses through the model layer; an unbalanced posting is refused by the
service everywhere and, on PostgreSQL, by a deferred constraint trigger at commit."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from core.errors import NcmsError
from ledger.models import LedgerLine, LedgerTransaction
from ledger.services import chart_ensure, income_record, lock_balances, post


@pytest.fixture
def entry(policy_2026):
    return income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="100.00", ref="C")


@pytest.mark.django_db
def test_the_model_layer_refuses_to_change_or_delete(entry):
    line = entry.lines.first()
    entry.memo = "改"
    for action in (entry.save, entry.delete, line.save, line.delete,
                   lambda: LedgerTransaction.objects.filter(pk=entry.pk).update(memo="改"),
                   lambda: LedgerLine.objects.filter(transaction=entry).delete()):
        with pytest.raises(NcmsError) as refused:
            action()
        assert refused.value.code == "append_only"
    assert LedgerTransaction.objects.get(pk=entry.pk).memo != "改"
    assert LedgerLine.objects.count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "UPDATE fund_ledgerline SET amount = amount * 2",
    "DELETE FROM fund_ledgerline",
    "UPDATE fund_ledgertransaction SET memo = 'x'",
    "DELETE FROM fund_ledgertransaction",
])
def test_the_database_refuses_raw_updates_and_deletes(entry, sql):
    """PostgreSQL's triggers refuse raw SQL; on SQLite (development only) the same change made
    through the ORM is what is refused, by the model layer."""
    if connection.vendor != "postgresql":
        table, verb = ("line" if "ledgerline" in sql else "transaction"), sql.split()[0]
        rows = (LedgerLine.objects.filter(transaction=entry) if table == "line"
                else LedgerTransaction.objects.filter(pk=entry.pk))
        change = {"transaction": {"memo": "x"}, "line": {"amount": 0}}[table]
        with pytest.raises(NcmsError) as refused:
            rows.update(**change) if verb == "UPDATE" else rows.delete()
        assert refused.value.code == "append_only"
        assert LedgerLine.objects.filter(transaction=entry).count() == 4
        return
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert LedgerLine.objects.filter(transaction=entry).count() == 4


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_transaction_is_refused(policy_2026):
    accounts = chart_ensure()
    with pytest.raises(NcmsError) as refused, transaction.atomic():
        codes = ("special", "income_other")
        post(user=None, year=2026, on=date(2026, 1, 1), kind="income", ref="S", memo="",
              movements=[("special", Decimal("10.00")), ("income_other", Decimal("-9.99"))],
              balances=lock_balances(accounts, codes, 2026), accounts=accounts)
    assert refused.value.code == "unbalanced"
    assert LedgerTransaction.objects.count() == 0
    if connection.vendor != "postgresql":
        return  # what follows bypasses the service: only PostgreSQL's deferred trigger can catch it
    with pytest.raises(DatabaseError, match="does not balance"):
        with transaction.atomic():
            entry = LedgerTransaction.objects.create(year=2026, date=date(2026, 1, 1), kind="income", ref="U")
            LedgerLine.objects.bulk_create([
                LedgerLine(transaction=entry, account=accounts["special"], amount="10.00"),
                LedgerLine(transaction=entry, account=accounts["income_other"], amount="-9.99")])
    with pytest.raises(DatabaseError, match="does not balance"):
        with transaction.atomic():
            LedgerTransaction.objects.create(year=2026, date=date(2026, 1, 1), kind="income", ref="V")
    assert LedgerTransaction.objects.count() == 0
    income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="100.00", ref="C")
    assert LedgerTransaction.objects.count() == 1
