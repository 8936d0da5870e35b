"""The ledger's accounts, transactions, lines and balances move from fund to ledger; their tables,
triggers and data stay as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migrations_support import content_types_move


MODELS = ("account", "accountbalance", "ledgertransaction", "ledgerline")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('fund', '0005_payout_batch_idempotency_key'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The model moved between apps; its table and data stay where they are.
    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Account',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=30, unique=True, verbose_name='科目代码')),
                    ('name', models.CharField(max_length=60, verbose_name='科目名称')),
                    ('kind', models.CharField(choices=[('money', '资金账户'), ('income', '收入'), ('expense', '支出')], max_length=10, verbose_name='类别')),
                    ('order', models.PositiveSmallIntegerField(default=0, verbose_name='排序')),
                    ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='children', to='ledger.account', verbose_name='上级科目')),
                ],
                options={
                    'verbose_name': '会计科目',
                    'verbose_name_plural': '会计科目',
                    'db_table': 'fund_account',
                    'ordering': ['order', 'code'],
                },
            ),
            migrations.CreateModel(
                name='AccountBalance',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('year', models.PositiveSmallIntegerField(verbose_name='年度')),
                    ('kind', models.CharField(choices=[('money', '资金账户'), ('income', '收入'), ('expense', '支出')], max_length=10, verbose_name='类别')),
                    ('balance', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='余额（借正贷负）')),
                    ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='balances', to='ledger.account', verbose_name='科目')),
                ],
                options={
                    'verbose_name': '科目余额',
                    'verbose_name_plural': '科目余额',
                    'db_table': 'fund_accountbalance',
                    'ordering': ['year', 'account__order'],
                },
            ),
            migrations.CreateModel(
                name='LedgerTransaction',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('year', models.PositiveSmallIntegerField(verbose_name='年度')),
                    ('date', models.DateField(verbose_name='记账日期')),
                    ('kind', models.CharField(choices=[('income', '收入'), ('transfer', '划拨'), ('payout', '补偿兑付'), ('interest_return', '利息回缴'), ('reserve', '风险基金计提'), ('reversal', '冲销')], max_length=20, verbose_name='类型')),
                    ('ref', models.CharField(blank=True, help_text='同一类型内唯一；补偿兑付为 claim:<编号>', max_length=80, verbose_name='业务号')),
                    ('memo', models.CharField(blank=True, max_length=200, verbose_name='摘要')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='记账时间')),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='记账人')),
                    ('reverses', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversed_by', to='ledger.ledgertransaction', verbose_name='冲销的凭证')),
                ],
                options={
                    'verbose_name': '记账凭证',
                    'verbose_name_plural': '记账凭证',
                    'db_table': 'fund_ledgertransaction',
                    'ordering': ['-date', '-id'],
                },
            ),
            migrations.CreateModel(
                name='LedgerLine',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('amount', models.DecimalField(decimal_places=2, max_digits=18, verbose_name='金额（借正贷负）')),
                    ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='ledger.account', verbose_name='科目')),
                    ('transaction', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='ledger.ledgertransaction', verbose_name='记账凭证')),
                ],
                options={
                    'verbose_name': '分录',
                    'verbose_name_plural': '分录',
                    'db_table': 'fund_ledgerline',
                    'ordering': ['transaction', 'id'],
                },
            ),
            migrations.AddConstraint(
                model_name='account',
                constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['money', 'income', 'expense'])), name='account_kind_valid'),
            ),
            migrations.AddConstraint(
                model_name='accountbalance',
                constraint=models.UniqueConstraint(fields=('account', 'year'), name='one_balance_per_account_year'),
            ),
            migrations.AddConstraint(
                model_name='accountbalance',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'income'), ('balance__lte', 0)), models.Q(models.Q(('kind', 'income'), _negated=True), ('balance__gte', 0)), _connector='OR'), name='balance_sign_follows_kind'),
            ),
            migrations.AddIndex(
                model_name='ledgertransaction',
                index=models.Index(fields=['year', 'date'], name='fund_ledger_year_d70b56_idx'),
            ),
            migrations.AddConstraint(
                model_name='ledgertransaction',
                constraint=models.UniqueConstraint(condition=models.Q(('ref', ''), _negated=True), fields=('kind', 'ref'), name='ledger_ref_unique_per_kind'),
            ),
            migrations.AddConstraint(
                model_name='ledgertransaction',
                constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['income', 'transfer', 'payout', 'interest_return', 'reserve', 'reversal'])), name='ledger_kind_valid'),
            ),
            migrations.AddConstraint(
                model_name='ledgertransaction',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'reversal'), ('reverses__isnull', False)), models.Q(models.Q(('kind', 'reversal'), _negated=True), ('reverses__isnull', True)), _connector='OR'), name='ledger_reversal_points_back'),
            ),
            migrations.AddConstraint(
                model_name='ledgerline',
                constraint=models.CheckConstraint(condition=models.Q(('amount', 0), _negated=True), name='ledger_line_not_zero'),
            ),
        ]),
        content_types_move("fund", "ledger", MODELS),
    ]
