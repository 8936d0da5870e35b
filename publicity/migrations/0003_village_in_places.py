"""State-only: the foreign keys now name the models in places (same tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('places', '0001_places_from_enrollment'),
        ('publicity', '0002_history_without_date_index'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='notice',
                name='village',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='notices', to='places.village', verbose_name='村'),
            ),
        ]),
    ]
