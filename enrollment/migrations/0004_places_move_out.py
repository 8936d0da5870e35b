"""State-only: the foreign keys now name the models in places (same tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_township_in_places'),
        ('claims', '0007_township_in_places'),
        ('enrollment', '0003_leaner_roster_writes'),
        ('facilities', '0006_township_in_places'),
        ('places', '0001_places_from_enrollment'),
        ('publicity', '0003_village_in_places'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='village',
                name='township',
            ),
            migrations.AlterField(
                model_name='importjob',
                name='township',
                field=models.ForeignKey(blank=True, help_text='经办员上传时只能导入本乡镇的村', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='places.township', verbose_name='乡镇'),
            ),
            migrations.AlterField(
                model_name='household',
                name='village',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='households', to='places.village', verbose_name='村'),
            ),
            migrations.RemoveField(
                model_name='villagepopulation',
                name='village',
            ),
            migrations.AlterField(
                model_name='historicalhousehold',
                name='village',
                field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='places.village', verbose_name='村'),
            ),
            migrations.DeleteModel(
                name='Township',
            ),
            migrations.DeleteModel(
                name='VillagePopulation',
            ),
            migrations.DeleteModel(
                name='Village',
            ),
        ]),
    ]
