"""Seed the fixed chart of accounts (fund.models.CHART, copied here as it stood: a migration must
not follow later code changes)."""
from django.db import migrations

CHART = (
    ("special", "财政专户", "money", None, 10),
    ("reserve", "风险基金", "money", "special", 11),
    ("expenditure", "支出户", "money", None, 20),
    ("income_individual", "个人缴费收入", "income", None, 30),
    ("income_central", "中央财政补助收入", "income", None, 31),
    ("income_provincial", "省级财政补助收入", "income", None, 32),
    ("income_county", "县级财政补助收入", "income", None, 33),
    ("income_interest", "利息收入", "income", None, 34),
    ("income_other", "其他收入", "income", None, 35),
    ("compensation", "补偿支出", "expense", None, 40),
)


def seed(apps, schema_editor):
    Account = apps.get_model("fund", "Account")
    for code, name, kind, parent, order in CHART:
        Account.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "order": order,
                                 "parent": Account.objects.get(code=parent) if parent else None})


class Migration(migrations.Migration):

    dependencies = [("fund", "0002_append_only_and_balanced_triggers")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
