"""`python manage.py recover_claim --facility CODE --invoice I --amount X --date D --reason TEXT`
(contract): records that X of a paid claim's compensation was paid wrongly, releasing X of the
member's annual cap at once. A facility-channel recovery is withheld on the facility's next
statement; a township-channel one stays outstanding until the household's refund is recorded.
Refused for a claim that is not paid, or when X exceeds its compensation less earlier recoveries."""
from datetime import date as Date

from django.core.management.base import BaseCommand, CommandError

from claims.models import Claim
from claims.services import claim_recover
from core.errors import NcmsError


class Command(BaseCommand):
    help = "登记追回：已兑付补偿中多付的金额（释放该参合人员的年度封顶额度）"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--facility", required=True, help="机构代码")
        parser.add_argument("--invoice", required=True, help="发票号")
        parser.add_argument("--amount", required=True, help="追回金额（元，两位小数）")
        parser.add_argument("--date", required=True, help="追回日期 YYYY-MM-DD")
        parser.add_argument("--reason", required=True, help="追回原因")

    def handle(self, *args, facility, invoice, amount, date, reason, **options):
        try:
            on = Date.fromisoformat(date)
        except ValueError:
            raise CommandError(f"--date「{date}」不是有效的日期，应为 YYYY-MM-DD") from None
        claim = Claim.objects.filter(facility__code=facility.strip(), invoice_no=invoice.strip()).first()
        if claim is None:
            raise CommandError(f"找不到定点医疗机构「{facility}」发票号「{invoice}」的补偿申请")
        try:
            recovery = claim_recover(user=None, claim=claim, amount=amount, reason=reason, on=on,
                                     check_user=False)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        where = ("从该机构下期结算单中扣回" if claim.channel == "facility" else "待参合家庭退款")
        self.stdout.write(f"已登记追回 {recovery.amount} 元（{claim.facility.code} {claim.invoice_no}，{where}）")
