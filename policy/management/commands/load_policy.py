"""`python manage.py load_policy FILE`: load or replace a scheme year's policy (contract, Policy file).

An invalid file is refused whole: every problem goes to stderr as `path「value」：reason`, nothing is
written, and the command exits non-zero.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from core.commands import file_bytes
from core.errors import NcmsError
from policy.rules import PolicyInvalid
from policy.services import policy_load


class Command(BaseCommand):
    help = "载入或替换某年度的补偿方案（JSON 政策文件）；文件有任何错误则整个不载入，并列出所有错误"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="政策文件（.json）")

    def handle(self, *args, file, **options):
        _path, data = file_bytes(file)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"文件不是 UTF-8 编码的文本：{file}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"不是有效的 JSON：第{exc.lineno}行第{exc.colno}列，{exc.msg}（未载入）"
            ) from exc
        try:
            version = policy_load(data=data)
        except PolicyInvalid as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(exc.summary) from exc
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已载入 {version.year} 年度补偿方案「{version.name}」（第{version.revision}版）")
