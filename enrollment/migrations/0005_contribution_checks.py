import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count


def refuse_repeated_receipts(apps, schema_editor):
    """A receipt number is used once per scheme year: say which are used twice before the
    constraint would fail on them (the county decides which contribution keeps the number)."""
    Enrollment = apps.get_model("enrollment", "Enrollment")
    repeated = list(Enrollment.objects.exclude(receipt_no="").values_list("year", "receipt_no")
                    .annotate(times=Count("id")).filter(times__gt=1).order_by("year", "receipt_no")[:20])
    if repeated:
        listed = ", ".join(f"{year} {receipt_no} ({times}x)" for year, receipt_no, times in repeated)
        raise RuntimeError(f"receipt numbers used more than once in a scheme year: {listed}; "
                           "correct them before this migration (one receipt per contribution and year)")


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0004_places_move_out'),
        ('ledger', '0002_contribution_void'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(refuse_repeated_receipts, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='enrollment',
            constraint=models.UniqueConstraint(condition=models.Q(('receipt_no', ''), _negated=True), fields=('year', 'receipt_no'), name='one_receipt_per_year'),
        ),
        migrations.CreateModel(
            name='ContributionVoid',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('enrollment_id', models.PositiveBigIntegerField(verbose_name='原缴费记录号')),
                ('year', models.PositiveSmallIntegerField(verbose_name='年度')),
                ('contribution', models.DecimalField(decimal_places=2, max_digits=18, verbose_name='缴费金额')),
                ('receipt_no', models.CharField(max_length=40, verbose_name='收据号')),
                ('paid_date', models.DateField(verbose_name='缴费日期')),
                ('payer', models.CharField(choices=[('self', '个人缴纳'), ('civil_affairs', '民政代缴')], max_length=15, verbose_name='缴费方式')),
                ('recorded_at', models.DateTimeField(verbose_name='登记时间')),
                ('reason', models.CharField(max_length=200, verbose_name='作废原因')),
                ('voided_at', models.DateTimeField(auto_now_add=True, verbose_name='作废时间')),
                ('voided_on', models.DateField(help_text='冲回分录的记账日期（县里的日期）', verbose_name='冲回日期')),
                ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contribution_voids', to='enrollment.member', verbose_name='参合人员')),
                ('recorded_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='登记人')),
                ('reversal', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='contribution_void', to='ledger.ledgertransaction', verbose_name='冲回凭证')),
                ('voided_by', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='作废人')),
            ],
            options={
                'verbose_name': '作废缴费',
                'verbose_name_plural': '作废缴费',
                'ordering': ['-voided_at'],
                'indexes': [models.Index(fields=['year', 'voided_on'], name='contribution_void_year_day')],
                'constraints': [models.UniqueConstraint(fields=('enrollment_id',), name='one_void_per_enrollment')],
            },
        ),
    ]
