"""`python manage.py import_roster FILE --year Y [--dry-run]`: the contract's roster import.

All or nothing: any invalid row refuses the whole file, every error goes to stderr as
`第{row}行 {column}「{value}」：{reason}`, then a summary line counting the repeated kinds of mistake
(`--max-errors N` lists only the first N), and the command exits non-zero having written nothing.
"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.commands import file_bytes, file_refused
from core.errors import NcmsError
from enrollment.roster import RosterInvalid, roster_import


class Command(BaseCommand):
    help = "导入家庭户花名册（CSV 或 XLSX）：任何一行有误则整个文件不导入，并列出所有错误行"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="花名册文件（.csv 或 .xlsx）")
        parser.add_argument("--year", type=int, required=True, help="参合年度")
        parser.add_argument("--dry-run", action="store_true", help="只校验、不写入")
        parser.add_argument("--max-errors", type=int, default=None, metavar="N",
                            help="最多逐行列出N处错误（默认全部列出）；末行的汇总仍按全部错误统计")

    def handle(self, *args, file, year, dry_run, max_errors=None, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件：{file}")
        if not 2000 <= year <= 2100:
            raise CommandError(f"年度不正确：{year}")
        path, data = file_bytes(file)
        try:
            summary = roster_import(data=data, filename=path.name, year=year, dry_run=dry_run)
        except RosterInvalid as exc:
            raise file_refused(self.stderr, exc, limit=max_errors) from exc
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        heading = "校验通过（试运行，未写入任何数据）" if dry_run else "导入完成"
        self.stdout.write(
            f"{heading}：{year}年度花名册 {path.name}，共{summary.rows}行；"
            f"新建家庭户{summary.households_created}户，更新家庭户{summary.households_updated}户；"
            f"新增人员{summary.members_created}人，更新人员{summary.members_updated}人；"
            f"登记缴费{summary.enrollments_created}人；未变化{summary.unchanged_rows}行"
        )
