"""Seed the maintained list of rejection reasons (不予补偿原因); the county edits it in the admin."""
from django.db import migrations

REASONS = [
    ("not_enrolled", "非参合人员"),
    ("not_designated", "非定点机构"),
    ("past_deadline", "超出报销时限"),
    ("duplicate", "重复报销"),
    ("documents_missing", "材料不全"),
    ("outside_catalog", "目录外费用"),
    ("other", "其他"),
]


def seed(apps, schema_editor):
    RejectionReason = apps.get_model("claims", "RejectionReason")
    for code, text in REASONS:
        RejectionReason.objects.get_or_create(code=code, defaults={"text": text, "active": True})


def unseed(apps, schema_editor):
    RejectionReason = apps.get_model("claims", "RejectionReason")
    RejectionReason.objects.filter(code__in=[code for code, _ in REASONS], claims__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("claims", "0002_claims_and_workflow")]
    operations = [migrations.RunPython(seed, unseed)]
