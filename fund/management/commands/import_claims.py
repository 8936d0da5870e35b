"""`python manage.py import_claims FILE`: historical or batch claims (docs/contract.md, "Commands").

Each line is a quote_claims input line plus `"status"` (submitted, approved or paid) and, for
paid ones, `"paid_date"`. All or nothing (claims/importing.py): any invalid line refuses the
whole file, every error goes to stderr as `第{n}行 {field}「{value}」：{reason}`, a payout that
would take the expenditure account below zero on its date refuses the file too, and the command
exits non-zero having written nothing.
"""

from django.core.management.base import BaseCommand, CommandError

from core.commands import file_bytes, file_refused
from core.errors import NcmsError
from fund.importing import ImportInvalid, claims_import

STATUS_WORDS = {"submitted": "已提交", "approved": "已审批", "paid": "已兑付"}


class Command(BaseCommand):
    help = "导入历史或批量住院补偿申请（JSON lines）：任何一行有误则整个文件不导入，并列出所有错误行"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON lines 文件：每行一件申请（试算输入行加 status、paid_date）")

    def handle(self, *args, file, **options):
        path, data = file_bytes(file)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"文件 {path.name} 不是 UTF-8 编码的文本") from exc
        try:
            summary = claims_import(text=text)
        except ImportInvalid as exc:
            raise file_refused(self.stderr, exc) from exc
        except NcmsError as exc:
            raise CommandError(f"{exc.message}，未导入任何申请") from exc
        counts = "，".join(f"{STATUS_WORDS[status]}{summary.by_status[status]}件"
                          for status in STATUS_WORDS if summary.by_status.get(status))
        self.stdout.write(
            f"导入完成：{path.name} 共{summary.lines}件申请（{counts}）；补偿金额合计 {summary.compensation} 元，"
            f"其中已兑付 {summary.paid} 元（{summary.paid_dates}个兑付日期，已按兑付日期记账）"
        )
