"""`python manage.py record_income --year Y --date D --source S --amount X --ref R` (contract):
books income of scheme year Y into the special account, the risk reserve's share set apart; a
ref already booked is refused. Errors go to stderr; non-zero exit; nothing written on failure."""
from django.core.management.base import BaseCommand, CommandError

from core.errors import NcmsError
from ledger.models import IncomeSource
from ledger.services import income_record

from ._fund_args import parse_date, parse_year


class Command(BaseCommand):
    help = "登记基金收入（记入财政专户，并按方案比例提取风险基金）"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="年度")
        parser.add_argument("--date", required=True, help="到账日期 YYYY-MM-DD")
        parser.add_argument("--source", required=True, help=f"来源：{', '.join(IncomeSource.values)}")
        parser.add_argument("--amount", required=True, help="金额（元，两位小数）")
        parser.add_argument("--ref", required=True, help="业务号（同一业务号只能登记一次）")

    def handle(self, *args, year, date, source, amount, ref, **options):
        try:
            entry = income_record(user=None, year=parse_year(year), date=parse_date(date), source=source,
                                  amount=amount, ref=ref)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已登记 {entry.year} 年度收入 {amount} 元（{IncomeSource(source).label}，业务号 {entry.ref}，"
                          f"凭证 #{entry.pk}）")
