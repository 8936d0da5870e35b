"""State-only: the foreign keys now name the models in places (same tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0006_history_without_date_index'),
        ('places', '0001_places_from_enrollment'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='claim',
                name='township',
                field=models.ForeignKey(db_index=False, help_text='提交时参合人员所属乡镇', on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='places.township', verbose_name='乡镇'),
            ),
            migrations.AlterField(
                model_name='historicalclaim',
                name='township',
                field=models.ForeignKey(blank=True, db_constraint=False, help_text='提交时参合人员所属乡镇', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='places.township', verbose_name='乡镇'),
            ),
        ]),
    ]
