"""State-only: the ledger's models now belong to ledger (same tables)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('fund', '0005_payout_batch_idempotency_key'),
        ('ledger', '0001_ledger_from_fund'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='account',
                name='parent',
            ),
            migrations.RemoveField(
                model_name='ledgerline',
                name='account',
            ),
            migrations.RemoveField(
                model_name='ledgerline',
                name='transaction',
            ),
            migrations.RemoveField(
                model_name='ledgertransaction',
                name='created_by',
            ),
            migrations.RemoveField(
                model_name='ledgertransaction',
                name='reverses',
            ),
            migrations.DeleteModel(
                name='AccountBalance',
            ),
            migrations.DeleteModel(
                name='Account',
            ),
            migrations.DeleteModel(
                name='LedgerLine',
            ),
            migrations.DeleteModel(
                name='LedgerTransaction',
            ),
        ]),
    ]
