"""`python manage.py facility_flags --year Y --month M`: the contract's flags as JSON on stdout.

`{"flags": [{"claim": "<invoice_no>", "facility": "<code>", "kind": "<kind>", "detail": "..."}]}`
for the non-rejected claims discharged in that month (kinds and methods: facilities/rules.py).
Computed afresh from the claims, read-only.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from oversight.flags import facility_flags


class Command(BaseCommand):
    help = "输出某月出院的住院补偿疑点（JSON）：15日内再住院、费用畸高等"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--month", type=int, required=True)

    def handle(self, *args, year, month, **options):
        if not 1 <= month <= 12 or not 1900 <= year <= 9999:
            raise CommandError(f"年月不正确：{year}-{month}")
        flags = facility_flags(year=year, month=month)
        self.stdout.write(json.dumps({"flags": flags}, ensure_ascii=False))
