"""`python manage.py import_facilities FILE`: the contract's facility file import.

All or nothing: any invalid row refuses the whole file, every error goes to stderr as
`第{row}行 {column}「{value}」：{reason}`, and the command exits non-zero having written nothing.
Importing again updates the facilities (matched by code); every change is kept in the history.
"""

from django.core.management.base import BaseCommand, CommandError

from core.commands import file_bytes, file_refused
from core.errors import NcmsError
from core.tabular import TableInvalid
from facilities.services import facilities_import


class Command(BaseCommand):
    help = "导入定点医疗机构（CSV 或 XLSX）：任何一行有误则整个文件不导入，并列出所有错误行"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="定点医疗机构文件（.csv 或 .xlsx）")

    def handle(self, *args, file, **options):
        path, data = file_bytes(file)
        try:
            summary = facilities_import(data=data, filename=path.name)
        except TableInvalid as exc:
            raise file_refused(self.stderr, exc) from exc
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"导入完成：{path.name}，共{summary.rows}行；新建定点医疗机构{summary.created}家，"
            f"更新{summary.updated}家，未变化{summary.unchanged}家"
        )
