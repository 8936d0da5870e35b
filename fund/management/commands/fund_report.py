"""python manage.py fund_report --year Y --month M [--format json|xlsx|pdf] [--output FILE]

The monthly fund report (contract: "Monthly fund report"); JSON to stdout by default. XLSX and
PDF need --output or go to stdout as bytes.
"""
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from core.errors import NcmsError


class Command(BaseCommand):
    help = "基金运行月报：按乡镇和全县输出 JSON、XLSX 或 PDF"
    # a data command: Django's system checks (models, URLs, templates: about a second) are the
    # web site's concern, not a reason to delay every import or report
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--month", type=int, required=True)
        parser.add_argument("--format", choices=["json", "xlsx", "pdf"], default="json")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args, year, month, format, output, **options):
        from fund import report_output
        from fund.report import monthly_report_figures, to_contract_json

        try:
            figures = monthly_report_figures(year=year, month=month)
        except NcmsError as exc:
            raise CommandError(exc.message) from None
        if format == "json":
            text = json.dumps(to_contract_json(figures), ensure_ascii=False, indent=2) + "\n"
            if not output:
                self.stdout.write(text, ending="")
                return
            data = text.encode("utf-8")
        elif format == "xlsx":
            data = report_output.report_xlsx(figures)
        else:
            data = report_output.report_pdf(figures)
        if output:
            with open(output, "wb") as handle:
                handle.write(data)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
