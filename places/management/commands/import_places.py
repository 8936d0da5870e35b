"""`python manage.py import_places FILE --year Y`: the contract's places import.

All or nothing: any invalid row refuses the whole file, every error goes to stderr as
`第{row}行 {column}「{value}」：{reason}`, and the command exits non-zero having written nothing.
Importing again updates names and populations and adds new places; it never duplicates.
"""

from django.core.management.base import BaseCommand, CommandError

from core.commands import file_bytes, file_refused
from core.errors import NcmsError
from core.tabular import TableInvalid
from places.services import places_import


class Command(BaseCommand):
    help = "导入乡镇、村及当年农业人口（CSV 或 XLSX）：任何一行有误则整个文件不导入，并列出所有错误行"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="乡镇村人口文件（.csv 或 .xlsx）")
        parser.add_argument("--year", type=int, required=True, help="农业人口所属年度")

    def handle(self, *args, file, year, **options):
        path, data = file_bytes(file)
        try:
            summary = places_import(data=data, filename=path.name, year=year)
        except TableInvalid as exc:
            raise file_refused(self.stderr, exc) from exc
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"导入完成：{year}年度 {path.name}，共{summary.rows}行；"
            f"新建乡镇{summary.townships_created}个，更新乡镇{summary.townships_updated}个；"
            f"新建村{summary.villages_created}个，更新村{summary.villages_updated}个；"
            f"新增农业人口{summary.populations_created}条，更新农业人口{summary.populations_updated}条；"
            f"未变化{summary.unchanged_rows}行"
        )
