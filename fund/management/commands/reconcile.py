"""`python manage.py reconcile --year Y`: the ledger against recorded contributions, paid claims
and its own balances (fund.selectors.reconciliation). Prints every difference to stderr and
exits non-zero when there is any; prints a one-line all-clear otherwise."""
from django.core.management.base import BaseCommand, CommandError

from fund.selectors import reconciliation

from ._fund_args import parse_year


class Command(BaseCommand):
    help = "基金对账：账务与参合缴费、已兑付补偿及科目余额核对，列出全部差异"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="年度")

    def handle(self, *args, year, **options):
        year = parse_year(year)
        differences = reconciliation(year)
        for difference in differences:
            self.stderr.write(difference.message)
        if differences:
            raise CommandError(f"{year} 年度对账发现 {len(differences)} 处差异")
        self.stdout.write(f"{year} 年度对账无差异")
