"""Lean indexes for the roster import (bench/import_roster.py): drop indexes nothing searches by.

- enrollment.member: the unique (member, year) index serves every lookup by member;
- household.village: the (village, number) index serves it; household.head and
  enrollment.recorded_by: never searched by (only a rare delete of a member or user scans);
- history tables: history is read by id (household), household_id (members) and member_id
  (enrollments); the indexes on the other copied columns go;
- PostgreSQL only: the `_like` (varchar_pattern_ops) indexes Django adds beside the unique
  household number and card number; those columns are searched with icontains, which no btree
  serves. The member ID number keeps its `_like` index (prefix search, collation not C).
No field changes meaning; no constraint is dropped.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


LIKE_INDEXED = [("number", 30), ("card_number", 40)]


def _like_index_names(schema_editor):
    table = "enrollment_household"
    return [schema_editor._create_index_name(table, [column], suffix="_like") for column, _ in LIKE_INDEXED]


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in _like_index_names(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (column, _length) in zip(_like_index_names(schema_editor), LIKE_INDEXED):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)}"
            f" ON enrollment_household ({column} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='enrollment',
            name='member',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='enrollments', to='enrollment.member', verbose_name='参合人员'),
        ),
        migrations.AlterField(
            model_name='enrollment',
            name='recorded_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='登记人'),
        ),
        migrations.AlterField(
            model_name='historicalenrollment',
            name='recorded_by',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='登记人'),
        ),
        migrations.AlterField(
            model_name='historicalhousehold',
            name='card_number',
            field=models.CharField(max_length=40, verbose_name='合作医疗证号'),
        ),
        migrations.AlterField(
            model_name='historicalhousehold',
            name='head',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='enrollment.member', verbose_name='户主'),
        ),
        migrations.AlterField(
            model_name='historicalhousehold',
            name='number',
            field=models.CharField(max_length=30, verbose_name='户号'),
        ),
        migrations.AlterField(
            model_name='historicalhousehold',
            name='village',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='enrollment.village', verbose_name='村'),
        ),
        migrations.AlterField(
            model_name='historicalmember',
            name='id_number',
            field=models.CharField(max_length=18, verbose_name='身份证号'),
        ),
        migrations.AlterField(
            model_name='household',
            name='head',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='enrollment.member', verbose_name='户主'),
        ),
        migrations.AlterField(
            model_name='household',
            name='village',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='households', to='enrollment.village', verbose_name='村'),
        ),
        migrations.RunPython(drop_like_indexes, create_like_indexes),
    ]
