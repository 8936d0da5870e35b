"""The scheme years' policies move from claims to policy; their tables and history stay as they are."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from core.migrations_support import content_types_move


MODELS = ("policyversion", "historicalpolicyversion")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('claims', '0007_township_in_places'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='HistoricalPolicyVersion',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('year', models.PositiveSmallIntegerField(db_index=True, verbose_name='年度')),
                    ('name', models.CharField(max_length=200, verbose_name='方案名称')),
                    ('revision', models.PositiveIntegerField(default=1, verbose_name='版本号')),
                    ('document', models.JSONField(help_text='载入时的原始 JSON 文件', verbose_name='政策文件')),
                    ('loaded_at', models.DateTimeField(verbose_name='载入时间')),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField()),
                    ('history_change_reason', models.TextField(null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('loaded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='载入人')),
                ],
                options={
                    'verbose_name': 'historical 补偿方案',
                    'verbose_name_plural': 'historical 补偿方案',
                    'db_table': 'claims_historicalpolicyversion',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='PolicyVersion',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('year', models.PositiveSmallIntegerField(unique=True, verbose_name='年度')),
                    ('name', models.CharField(max_length=200, verbose_name='方案名称')),
                    ('revision', models.PositiveIntegerField(default=1, verbose_name='版本号')),
                    ('document', models.JSONField(help_text='载入时的原始 JSON 文件', verbose_name='政策文件')),
                    ('loaded_at', models.DateTimeField(verbose_name='载入时间')),
                    ('loaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='载入人')),
                ],
                options={
                    'verbose_name': '补偿方案',
                    'verbose_name_plural': '补偿方案',
                    'db_table': 'claims_policyversion',
                    'ordering': ['-year'],
                },
            ),
        ]),
        content_types_move("claims", "policy", MODELS),
    ]
