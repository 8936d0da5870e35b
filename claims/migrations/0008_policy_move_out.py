"""State-only: the policy versions now belong to policy (same tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0007_township_in_places'),
        ('policy', '0001_policy_from_claims'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='policyversion',
                name='loaded_by',
            ),
            migrations.AlterField(
                model_name='claim',
                name='policy',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='policy.policyversion', verbose_name='补偿方案'),
            ),
            migrations.AlterField(
                model_name='historicalclaim',
                name='policy',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='policy.policyversion', verbose_name='补偿方案'),
            ),
            migrations.DeleteModel(
                name='HistoricalPolicyVersion',
            ),
            migrations.DeleteModel(
                name='PolicyVersion',
            ),
        ]),
    ]
