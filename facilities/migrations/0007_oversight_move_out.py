"""State-only: inspections and claim flags now belong to oversight (same tables)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('facilities', '0006_township_in_places'),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='historicalinspection',
                name='facility',
            ),
            migrations.RemoveField(
                model_name='historicalinspection',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalinspection',
                name='recorded_by',
            ),
            migrations.RemoveField(
                model_name='historicalinspectiondocument',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalinspectiondocument',
                name='inspection',
            ),
            migrations.RemoveField(
                model_name='historicalinspectiondocument',
                name='uploaded_by',
            ),
            migrations.RemoveField(
                model_name='inspection',
                name='facility',
            ),
            migrations.RemoveField(
                model_name='inspection',
                name='recorded_by',
            ),
            migrations.RemoveField(
                model_name='inspectiondocument',
                name='inspection',
            ),
            migrations.RemoveField(
                model_name='inspectiondocument',
                name='uploaded_by',
            ),
            migrations.DeleteModel(
                name='ClaimFlag',
            ),
            migrations.DeleteModel(
                name='HistoricalInspection',
            ),
            migrations.DeleteModel(
                name='HistoricalInspectionDocument',
            ),
            migrations.DeleteModel(
                name='Inspection',
            ),
            migrations.DeleteModel(
                name='InspectionDocument',
            ),
        ]),
    ]
