"""PostgreSQL enforces the ledger's two invariants whatever path a write takes (raw SQL, admin,
a bug): no UPDATE or DELETE of a transaction or a line, and every transaction's lines sum to zero
and number at least two, checked at commit by deferred constraint triggers (so the service can
insert the transaction row, then its lines). On other databases (SQLite in development) nothing is
installed (SQLite serves development only; its test-database flush deletes rows, which a trigger
would refuse): the model layer and the service refuse instead (fund.models._AppendOnly)."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION fund_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused (book a reversal instead)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER fund_ledgertransaction_append_only BEFORE UPDATE OR DELETE ON fund_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION fund_refuse_change();
CREATE TRIGGER fund_ledgerline_append_only BEFORE UPDATE OR DELETE ON fund_ledgerline
    FOR EACH ROW EXECUTE FUNCTION fund_refuse_change();

CREATE OR REPLACE FUNCTION fund_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    txn_id bigint;
    total numeric;
    line_count integer;
BEGIN
    IF TG_TABLE_NAME = 'fund_ledgerline' THEN
        txn_id := NEW.transaction_id;
    ELSE
        txn_id := NEW.id;
    END IF;
    SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, line_count
        FROM fund_ledgerline WHERE transaction_id = txn_id;
    IF total <> 0 OR line_count < 2 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (% lines, sum %)', txn_id, line_count, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER fund_ledgerline_balanced AFTER INSERT ON fund_ledgerline
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fund_check_balanced();
CREATE CONSTRAINT TRIGGER fund_ledgertransaction_balanced AFTER INSERT ON fund_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fund_check_balanced();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS fund_ledgertransaction_balanced ON fund_ledgertransaction;
DROP TRIGGER IF EXISTS fund_ledgerline_balanced ON fund_ledgerline;
DROP FUNCTION IF EXISTS fund_check_balanced();
DROP TRIGGER IF EXISTS fund_ledgerline_append_only ON fund_ledgerline;
DROP TRIGGER IF EXISTS fund_ledgertransaction_append_only ON fund_ledgertransaction;
DROP FUNCTION IF EXISTS fund_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [("fund", "0001_ledger")]

    operations = [migrations.RunPython(forward, backward)]
