"""`python manage.py quote_claims --year Y`: JSON lines of claims on stdin, one JSON line of result
per line on stdout, in order; writes nothing to the database (docs/contract.md, "quote_claims lines").

Lines are successive claims of year Y (a member's cap consumed across lines on top of the
database; stays and invoices checked across lines too). A refused line gives
`{"ref", "ok": false, "error", "message"}`; a line that is not JSON at all gives the additional
code `bad_input`; blank lines are skipped. Exits 0 when every line was answered.
"""
import io
import sys

from django.core.management.base import BaseCommand
from django.db import transaction

from claims.quoting import BatchQuoter


class _NothingWritten(Exception):
    pass


class Command(BaseCommand):
    help = "按合同格式逐行试算住院补偿（JSON lines 输入输出），不写数据库"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="补偿年度（出院日期所在年度）")

    def handle(self, *args, year, **options):
        stream = options.get("stdin") or sys.stdin
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8-sig")
        write = self.stdout.write
        try:
            # Reads only; rolling the transaction back makes "nothing written" hold by construction.
            with transaction.atomic():
                quoter = BatchQuoter(year)
                for text in quoter.quote_lines(stream):
                    write(text)
                raise _NothingWritten
        except _NothingWritten:
            pass
