"""The fund's own records: the monthly fund reports as stored (each a new immutable version) and
the cashier's payout batches with their idempotency keys. The ledger itself is `ledger.models`."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnlyModel, MoneyField


class FundReport(AppendOnlyModel):
    """A stored monthly fund report (基金运行月报): the contract's JSON as computed at `created_at`.

    Never changes: regenerating stores version n+1 (`fund.report.fund_report_store`); the beat job
    on the 1st stores version 1 of last month when there is none.
    """

    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"))
    version = models.PositiveIntegerField(_("版本"))
    data = models.JSONField(_("报告内容"))
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("生成人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    rewrite_refusal = "已保存的月报不能修改；请重新生成新版本"
    delete_refusal = "已保存的月报不能删除"
    refusal_code = "report_frozen"

    class Meta:
        ordering = ["-year", "-month", "-version"]
        verbose_name = _("基金运行月报")
        verbose_name_plural = _("基金运行月报")
        constraints = [
            models.UniqueConstraint(fields=["year", "month", "version"], name="one_fund_report_per_version"),
            models.CheckConstraint(name="fund_report_month_valid", condition=Q(month__gte=1, month__lte=12)),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d} v{self.version}"


# --- payout batches: the idempotency key of a payout request ------------------------------------
class PayoutBatch(models.Model):
    """One payout request (兑付) as the cashier sent it, under the key its form was rendered with.

    The key makes a retry safe: when the database connection is lost after the payout committed
    but before the cashier saw the answer, sending the same form again finds its batch and answers
    with what was paid, instead of paying again or refusing as "already paid"; when it was lost
    before the commit, nothing of the batch exists and the retry pays it once.
    (`fund.services.payout_batch_pay`.) Written once with its payouts, in their transaction.
    """

    key = models.CharField(_("请求编号"), max_length=64, unique=True)
    claims = models.ManyToManyField("claims.Claim", verbose_name=_("补偿申请"), related_name="payout_batches")
    total = MoneyField(_("合计金额"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("兑付人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("兑付时间"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("兑付批次")
        verbose_name_plural = _("兑付批次")
        constraints = [models.CheckConstraint(name="payout_batch_total_not_negative", condition=Q(total__gte=0))]

    def __str__(self) -> str:
        return f"{self.key} {self.total}"
