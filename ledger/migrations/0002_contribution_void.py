from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_ledger_from_fund'),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgertransaction',
            name='kind',
            field=models.CharField(choices=[('income', '收入'), ('transfer', '划拨'), ('payout', '补偿兑付'), ('interest_return', '利息回缴'), ('reserve', '风险基金计提'), ('reversal', '冲销'), ('contribution_void', '缴费作废冲回')], max_length=20, verbose_name='类型'),
        ),
        migrations.RemoveConstraint(
            model_name='ledgertransaction',
            name='ledger_kind_valid',
        ),
        migrations.AddConstraint(
            model_name='ledgertransaction',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['income', 'transfer', 'payout', 'interest_return', 'reserve', 'reversal', 'contribution_void'])), name='ledger_kind_valid'),
        ),
    ]
