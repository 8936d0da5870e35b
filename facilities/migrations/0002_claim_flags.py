import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("claims", "0002_claims_and_workflow"),
        ("facilities", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClaimFlag",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=30, verbose_name="疑点类型")),
                ("detail", models.CharField(max_length=300, verbose_name="说明")),
                ("computed_at", models.DateTimeField(verbose_name="计算时间")),
                ("claim", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="flags",
                                            to="claims.claim", verbose_name="住院补偿")),
            ],
            options={
                "verbose_name": "疑点",
                "verbose_name_plural": "疑点",
                "ordering": ["claim", "kind"],
                "constraints": [models.UniqueConstraint(fields=("claim", "kind"), name="one_flag_per_claim_kind")],
            },
        ),
    ]
