"""Inspections, their documents and claim flags move from the facility registry to oversight;
their tables keep their names."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from core.migrations_support import content_types_move

MODELS = ("inspection", "historicalinspection", "inspectiondocument", "historicalinspectiondocument",
          "claimflag")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('claims', '0007_township_in_places'),
        ('facilities', '0007_oversight_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='HistoricalInspection',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('date', models.DateField(verbose_name='检查日期')),
                    ('inspectors', models.CharField(max_length=200, verbose_name='检查人员')),
                    ('findings', models.TextField(verbose_name='检查发现')),
                    ('penalty_amount', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='处罚金额')),
                    ('deduct_from_settlements', models.BooleanField(default=False, verbose_name='从后续结算款中扣减')),
                    ('deducted_amount', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='已扣减金额')),
                    ('recorded_at', models.DateTimeField(blank=True, editable=False, verbose_name='记录时间')),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField()),
                    ('history_change_reason', models.TextField(null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('facility', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='facilities.facility', verbose_name='定点医疗机构')),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='记录人')),
                ],
                options={
                    'verbose_name': 'historical 监督检查',
                    'verbose_name_plural': 'historical 监督检查',
                    'db_table': 'facilities_historicalinspection',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='Inspection',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('date', models.DateField(verbose_name='检查日期')),
                    ('inspectors', models.CharField(max_length=200, verbose_name='检查人员')),
                    ('findings', models.TextField(verbose_name='检查发现')),
                    ('penalty_amount', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='处罚金额')),
                    ('deduct_from_settlements', models.BooleanField(default=False, verbose_name='从后续结算款中扣减')),
                    ('deducted_amount', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='已扣减金额')),
                    ('recorded_at', models.DateTimeField(auto_now_add=True, verbose_name='记录时间')),
                    ('facility', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='inspections', to='facilities.facility', verbose_name='定点医疗机构')),
                    ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='记录人')),
                ],
                options={
                    'verbose_name': '监督检查',
                    'verbose_name_plural': '监督检查',
                    'db_table': 'facilities_inspection',
                    'ordering': ['-date', '-id'],
                },
            ),
            migrations.CreateModel(
                name='HistoricalInspectionDocument',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('file', models.TextField(max_length=100, verbose_name='文件')),
                    ('original_name', models.CharField(blank=True, max_length=200, verbose_name='原文件名')),
                    ('content_type', models.CharField(max_length=40, verbose_name='文件类型')),
                    ('size', models.PositiveIntegerField(verbose_name='大小（字节）')),
                    ('uploaded_at', models.DateTimeField(blank=True, editable=False, verbose_name='上传时间')),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField()),
                    ('history_change_reason', models.TextField(null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('uploaded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='上传人')),
                    ('inspection', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='oversight.inspection', verbose_name='监督检查')),
                ],
                options={
                    'verbose_name': 'historical 检查材料',
                    'verbose_name_plural': 'historical 检查材料',
                    'db_table': 'facilities_historicalinspectiondocument',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='InspectionDocument',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('file', models.FileField(upload_to='inspections/%Y/%m/', verbose_name='文件')),
                    ('original_name', models.CharField(blank=True, max_length=200, verbose_name='原文件名')),
                    ('content_type', models.CharField(max_length=40, verbose_name='文件类型')),
                    ('size', models.PositiveIntegerField(verbose_name='大小（字节）')),
                    ('uploaded_at', models.DateTimeField(auto_now_add=True, verbose_name='上传时间')),
                    ('inspection', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='oversight.inspection', verbose_name='监督检查')),
                    ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='上传人')),
                ],
                options={
                    'verbose_name': '检查材料',
                    'verbose_name_plural': '检查材料',
                    'db_table': 'facilities_inspectiondocument',
                    'ordering': ['inspection', 'id'],
                },
            ),
            migrations.CreateModel(
                name='ClaimFlag',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(max_length=30, verbose_name='疑点类型')),
                    ('detail', models.CharField(max_length=300, verbose_name='说明')),
                    ('computed_at', models.DateTimeField(verbose_name='计算时间')),
                    ('claim', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='flags', to='claims.claim', verbose_name='住院补偿')),
                ],
                options={
                    'verbose_name': '疑点',
                    'verbose_name_plural': '疑点',
                    'db_table': 'facilities_claimflag',
                    'ordering': ['claim', 'kind'],
                    'constraints': [models.UniqueConstraint(fields=('claim', 'kind'), name='one_flag_per_claim_kind')],
                },
            ),
            migrations.AddConstraint(
                model_name='inspection',
                constraint=models.CheckConstraint(condition=models.Q(('penalty_amount__gte', 0)), name='inspection_penalty_not_negative'),
            ),
            migrations.AddConstraint(
                model_name='inspection',
                constraint=models.CheckConstraint(condition=models.Q(('deducted_amount__gte', 0), ('deducted_amount__lte', models.F('penalty_amount'))), name='inspection_deducted_within_penalty'),
            ),
        ]),
        content_types_move("facilities", "oversight", MODELS),
    ]
