"""`python manage.py transfer_funds --year Y --date D --amount X --ref R` (contract): moves money
of scheme year Y from the special account to the expenditure account; refused when the special
account's balance less the risk reserve would not cover it, or the ref was booked before."""
from django.core.management.base import BaseCommand, CommandError

from core.errors import NcmsError
from ledger.services import funds_transfer

from ._fund_args import parse_date, parse_year


class Command(BaseCommand):
    help = "从财政专户向支出户划拨基金（风险基金不可划拨）"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="年度")
        parser.add_argument("--date", required=True, help="划拨日期 YYYY-MM-DD")
        parser.add_argument("--amount", required=True, help="金额（元，两位小数）")
        parser.add_argument("--ref", required=True, help="业务号（同一业务号只能划拨一次）")

    def handle(self, *args, year, date, amount, ref, **options):
        try:
            entry = funds_transfer(user=None, year=parse_year(year), date=parse_date(date), amount=amount, ref=ref)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已划拨 {entry.year} 年度基金 {amount} 元至支出户（业务号 {entry.ref}，凭证 #{entry.pk}）")
