"""`python manage.py facility_statement --year Y --month M [--facility CODE]` (contract): the
settlement statement of each facility (or one) for month M of year Y as JSON on stdout; nothing
written. A paid statement is shown as paid; a facility with nothing to pay and nothing withheld
has none."""
import json

from django.core.management.base import BaseCommand, CommandError

from core.errors import NcmsError
from facilities.models import Facility
from fund.statements import statements_for_month

from ._fund_args import parse_year


def parse_month(text: str) -> int:
    try:
        month = int(text)
    except (TypeError, ValueError):
        raise CommandError(f"--month「{text}」不是有效的月份，应为 1 到 12") from None
    if not 1 <= month <= 12:
        raise CommandError(f"--month「{text}」不是有效的月份，应为 1 到 12")
    return month


def facility_by_code(code: str) -> Facility:
    facility = Facility.objects.filter(code=(code or "").strip()).first()
    if facility is None:
        raise CommandError(f"--facility「{code}」：找不到该定点医疗机构")
    return facility


class Command(BaseCommand):
    help = "定点医疗机构月度结算单（JSON，不写入任何数据）"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="年度")
        parser.add_argument("--month", required=True, help="月份 1-12")
        parser.add_argument("--facility", help="机构代码（不填为全部机构）")

    def handle(self, *args, year, month, facility=None, **options):
        year, month = parse_year(year), parse_month(month)
        facilities = [facility_by_code(facility)] if facility is not None else None
        try:
            statements = statements_for_month(year, month, facilities=facilities)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps({"statements": [s.as_json() for s in statements]}, ensure_ascii=False))
