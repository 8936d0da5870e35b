"""State-only: the foreign keys now name the models in places (same tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('facilities', '0005_history_without_date_index'),
        ('places', '0001_places_from_enrollment'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='facility',
                name='township',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='facilities', to='places.township', verbose_name='所在乡镇'),
            ),
            migrations.AlterField(
                model_name='historicalfacility',
                name='township',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='places.township', verbose_name='所在乡镇'),
            ),
        ]),
    ]
