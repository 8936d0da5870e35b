"""`python manage.py simulate_policy FILE --year Y`: the claims of scheme year Y (neither rejected
nor returned) valued under the draft policy FILE, JSON on stdout; nothing written
(docs/contract.md, "Policy simulation").

A draft `load_policy` would refuse is refused the same way, every problem on stderr, before any
claim is read; a year without claims to value is refused with a message. Both exit non-zero.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from core.commands import file_bytes
from core.errors import NcmsError
from fund.simulation import simulate_policy
from policy.rules import PolicyInvalid


class Command(BaseCommand):
    help = "补偿方案测算：按草拟方案（政策文件格式）重算某年度的住院补偿，输出 JSON，不写数据库"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="草拟的政策文件（.json，格式同 load_policy）")
        parser.add_argument("--year", type=int, required=True, help="测算的补偿年度（出院日期所在年度）")

    def handle(self, *args, file, year, **options):
        _path, data = file_bytes(file)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"文件不是 UTF-8 编码的文本：{file}") from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"不是有效的 JSON：第{exc.lineno}行第{exc.colno}列，{exc.msg}（未测算）") from exc
        try:
            result = simulate_policy(data=document, year=year)
        except PolicyInvalid as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(exc.summary.replace("未载入", "未测算")) from exc
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(result, ensure_ascii=False))
