"""`python manage.py pay_statement --facility CODE --year Y --month M --date D --ref R` (contract):
pays that statement as one transfer to the facility on date D, and prints the statement JSON with
"paid": true. The same ref again changes nothing and exits 0; the same statement under another
ref is refused. One database transaction: paid whole or not at all."""
import json

from django.core.management.base import BaseCommand, CommandError

from core.errors import NcmsError
from fund.statements import statement_pay

from ._fund_args import parse_date, parse_year
from .facility_statement import facility_by_code, parse_month


class Command(BaseCommand):
    help = "支付定点医疗机构的月度结算单（一笔转账；同一业务号重复执行不重复支付）"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--facility", required=True, help="机构代码")
        parser.add_argument("--year", required=True, help="年度")
        parser.add_argument("--month", required=True, help="月份 1-12")
        parser.add_argument("--date", required=True, help="支付日期 YYYY-MM-DD")
        parser.add_argument("--ref", required=True, help="业务号（如银行付款凭证号）")

    def handle(self, *args, facility, year, month, date, ref, **options):
        year, month, on = parse_year(year), parse_month(month), parse_date(date)
        try:
            payment = statement_pay(user=None, facility=facility_by_code(facility), year=year, month=month,
                                    on=on, ref=ref)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        if payment.replayed:
            self.stderr.write(f"业务号「{payment.statement.stored.ref}」的结算单已于 "
                              f"{payment.statement.stored.paid_on:%Y-%m-%d} 支付，本次未重复支付")
        self.stdout.write(json.dumps({"statements": [payment.statement.as_json()]}, ensure_ascii=False))
