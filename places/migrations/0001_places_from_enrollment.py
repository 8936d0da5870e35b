"""Townships, villages and populations move from enrollment to places; their tables keep their names."""

import django.db.models.deletion
from django.db import migrations, models

from core.migrations_support import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('enrollment', '0003_leaner_roster_writes'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Township',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=9, unique=True, verbose_name='乡镇代码')),
                    ('name', models.CharField(max_length=50, verbose_name='乡镇名称')),
                ],
                options={
                    'verbose_name': '乡镇',
                    'verbose_name_plural': '乡镇',
                    'db_table': 'enrollment_township',
                    'ordering': ['code'],
                },
            ),
            migrations.CreateModel(
                name='Village',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=12, unique=True, verbose_name='村代码')),
                    ('name', models.CharField(max_length=50, verbose_name='村名称')),
                    ('township', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='villages', to='places.township', verbose_name='乡镇')),
                ],
                options={
                    'verbose_name': '村',
                    'verbose_name_plural': '村',
                    'db_table': 'enrollment_village',
                    'ordering': ['code'],
                },
            ),
            migrations.CreateModel(
                name='VillagePopulation',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('year', models.PositiveSmallIntegerField(verbose_name='年度')),
                    ('population', models.PositiveIntegerField(verbose_name='农业人口')),
                    ('village', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='populations', to='places.village', verbose_name='村')),
                ],
                options={
                    'verbose_name': '农业人口',
                    'verbose_name_plural': '农业人口',
                    'db_table': 'enrollment_villagepopulation',
                    'ordering': ['village__code', 'year'],
                    'constraints': [models.UniqueConstraint(fields=('village', 'year'), name='one_population_per_village_year')],
                },
            ),
        ]),
        content_types_move("enrollment", "places", ("township", "village", "villagepopulation")),
    ]
