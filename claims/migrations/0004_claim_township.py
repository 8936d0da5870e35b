"""Claim.township: the township the member belonged to when the claim was made.

Added nullable, filled for the claims already stored from their member's household's village (the
best knowledge of the township at the time), then made NOT NULL. Historical rows are filled the same
way so a restored history row is complete. PostgreSQL: one UPDATE ... FROM join per table;
other databases (SQLite): a correlated subquery UPDATE.
"""
import django.db.models.deletion
from django.db import migrations, models

_JOIN_UPDATE = """
UPDATE {table} AS c
   SET township_id = v.township_id
  FROM enrollment_member m
  JOIN enrollment_household h ON h.id = m.household_id
  JOIN enrollment_village v ON v.id = h.village_id
 WHERE m.id = c.member_id AND c.township_id IS NULL
"""

_SUBQUERY_UPDATE = """
UPDATE {table}
   SET township_id = (
       SELECT v.township_id
         FROM enrollment_member m
         JOIN enrollment_household h ON h.id = m.household_id
         JOIN enrollment_village v ON v.id = h.village_id
        WHERE m.id = {table}.member_id)
 WHERE township_id IS NULL
"""


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    statement = _JOIN_UPDATE if connection.vendor == "postgresql" else _SUBQUERY_UPDATE
    with connection.cursor() as cursor:
        for model in ("Claim", "HistoricalClaim"):
            cursor.execute(statement.format(table=apps.get_model("claims", model)._meta.db_table))
        if connection.vendor == "postgresql":
            # run the deferred foreign-key checks of the UPDATE now: ALTER TABLE ... SET NOT NULL
            # refuses to run on a table with pending trigger events
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0003_seed_rejection_reasons"),
        ("enrollment", "0002_lean_roster_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="claim",
            name="township",
            field=models.ForeignKey(db_index=False, null=True, help_text="提交时参合人员所属乡镇",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="claims",
                                    to="enrollment.township", verbose_name="乡镇"),
        ),
        migrations.AddField(
            model_name="historicalclaim",
            name="township",
            field=models.ForeignKey(blank=True, db_constraint=False, help_text="提交时参合人员所属乡镇", null=True,
                                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                    to="enrollment.township", verbose_name="乡镇"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="claim",
            name="township",
            field=models.ForeignKey(db_index=False, help_text="提交时参合人员所属乡镇",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="claims",
                                    to="enrollment.township", verbose_name="乡镇"),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["township", "year", "status"], name="claim_township_year_status"),
        ),
    ]
