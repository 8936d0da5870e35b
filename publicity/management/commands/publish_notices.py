"""`python manage.py publish_notices --year Y --month M` (contract): posts the compensation
notices of that month's paid claims, one per village; running it again changes nothing."""
from django.core.management.base import BaseCommand, CommandError

from core.errors import NcmsError
from publicity.services import notices_publish


class Command(BaseCommand):
    help = "发布某月已兑付住院补偿的公示（每村一份；重复运行不会重复发布）"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--month", type=int, required=True)

    def handle(self, *args, year, month, **options):
        try:
            notices = notices_publish(year=year, month=month)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        if not notices:
            self.stdout.write(f"{year}年{month}月没有需要发布的补偿公示")
            return
        addenda = sum(1 for n in notices if n.number)
        lines = sum(n.lines.count() for n in notices)
        self.stdout.write(f"已发布{year}年{month}月补偿公示{len(notices)}份（其中补充公示{addenda}份），共{lines}人次")
