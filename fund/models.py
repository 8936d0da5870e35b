"""The fund's own records: the monthly fund reports as stored (each a new immutable version) and
the cashier's payout batches with their idempotency keys. The ledger itself is `ledger.models`."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

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


# --- facilities' monthly settlement statements (结算单) and households' refunds ------------------
class FacilityStatement(AppendOnlyModel):
    """A facility's monthly settlement statement (结算单) as paid: written once, with the claims it
    paid and the recoveries and penalties it withheld, in the payment's transaction
    (`fund.statements.statement_pay`). An unpaid statement is not stored: it is computed from the
    claims, recoveries and inspections as they stand (`statement_compute`).

    One per facility and month: a second payment of the same statement is refused, and the same
    `ref` again answers with this one (idempotent)."""

    facility = models.ForeignKey("facilities.Facility", verbose_name=_("定点医疗机构"), on_delete=models.PROTECT,
                                 related_name="statements")
    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"))
    ref = models.CharField(_("业务号"), max_length=80, unique=True)
    claims_count = models.PositiveIntegerField(_("补偿人次"))
    compensation = MoneyField(_("补偿金额"))
    penalties = MoneyField(_("扣罚金额"))
    recoveries = MoneyField(_("扣回追回款"))
    net = MoneyField(_("实付金额"))
    paid_on = models.DateField(_("支付日期"))
    bank_name = models.CharField(_("开户银行"), max_length=100, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("支付人"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    paid_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    rewrite_refusal = "已支付的结算单不能修改"
    delete_refusal = "已支付的结算单不能删除"
    refusal_code = "statement_frozen"

    class Meta:
        ordering = ["-year", "-month", "facility__code"]
        verbose_name = _("结算单")
        verbose_name_plural = _("结算单")
        constraints = [
            models.UniqueConstraint(fields=["facility", "year", "month"], name="one_statement_per_facility_month"),
            models.CheckConstraint(name="statement_month_valid", condition=Q(month__gte=1, month__lte=12)),
            models.CheckConstraint(name="statement_money_not_negative",
                                   condition=Q(net__gte=0, penalties__gte=0, recoveries__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code} {self.year}-{self.month:02d}"


class StatementClaim(AppendOnlyModel):
    """A claim a statement paid: a claim is paid by one statement at most (unique)."""

    statement = models.ForeignKey(FacilityStatement, verbose_name=_("结算单"), on_delete=models.PROTECT,
                                  related_name="lines")
    claim = models.OneToOneField("claims.Claim", verbose_name=_("补偿申请"), on_delete=models.PROTECT,
                                 related_name="statement_line")
    compensation = MoneyField(_("补偿金额"))

    class Meta:
        ordering = ["statement", "claim"]
        verbose_name = _("结算单明细")
        verbose_name_plural = _("结算单明细")


class StatementWithholding(AppendOnlyModel):
    """What a statement withheld: part or all of a recovery (追回款) or of an inspection's penalty
    (扣罚). What is left of either waits for the next statement."""

    statement = models.ForeignKey(FacilityStatement, verbose_name=_("结算单"), on_delete=models.PROTECT,
                                  related_name="withholdings")
    recovery = models.ForeignKey("claims.Recovery", verbose_name=_("追回"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="withholdings")
    inspection = models.ForeignKey("oversight.Inspection", verbose_name=_("监督检查"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="withholdings")
    amount = MoneyField(_("扣回金额"))

    class Meta:
        ordering = ["statement", "id"]
        verbose_name = _("结算扣回")
        verbose_name_plural = _("结算扣回")
        constraints = [
            models.CheckConstraint(name="withholding_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="withholding_one_source",
                                   condition=(Q(recovery__isnull=False) & Q(inspection__isnull=True))
                                   | (Q(recovery__isnull=True) & Q(inspection__isnull=False))),
        ]


class RecoveryRefund(AppendOnlyModel):
    """A household's refund of a recovered township-channel claim (退款), booked in the ledger."""

    recovery = models.ForeignKey("claims.Recovery", verbose_name=_("追回"), on_delete=models.PROTECT,
                                 related_name="refunds")
    amount = MoneyField(_("退款金额"))
    date = models.DateField(_("到账日期"))
    ref = models.CharField(_("业务号"), max_length=80, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    rewrite_refusal = "退款记录只能追加，不能修改"
    delete_refusal = "退款记录不能删除"
    refusal_code = "refund_frozen"

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("追回退款")
        verbose_name_plural = _("追回退款")
        constraints = [models.CheckConstraint(name="refund_amount_positive", condition=Q(amount__gt=0))]


# --- policy simulation (补偿方案测算): drafts and their runs -------------------------------------
class PolicyDraft(models.Model):
    """A draft policy (草拟方案) the fund officer values against a scheme year's claims before
    adopting it (`fund.drafts`). `document` is a policy file as `load_policy` reads it, checked
    by the same parser whenever it is saved; `assumptions` the projection's cost growth and
    participation change (percent, text of Decimals). Every change is kept in its history."""

    name = models.CharField(_("草案名称"), max_length=200)
    base_year = models.PositiveSmallIntegerField(_("基准年度"))
    document = models.JSONField(_("草拟的政策文件"))
    assumptions = models.JSONField(_("测算假设"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("补偿方案草案")
        verbose_name_plural = _("补偿方案草案")

    def __str__(self) -> str:
        return f"{self.name}（{self.base_year}）"


class SimulationRun(models.Model):
    """One valuation of a draft against its base year, run by the worker (`fund.drafts`). At most
    one queued or running run per draft: asking again joins it. `result` is `simulate_policy`'s
    JSON plus the page's tables. `document` and `assumptions` are the draft's as the run was
    asked for (the draft may be edited meanwhile): what the result is of."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("测算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    draft = models.ForeignKey(PolicyDraft, verbose_name=_("草案"), on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    result = models.JSONField(_("测算结果"), null=True, blank=True)
    document = models.JSONField(_("测算的政策文件"), null=True, blank=True)
    assumptions = models.JSONField(_("测算假设"), default=dict, blank=True)
    message = models.TextField(_("说明"), blank=True)
    task_id = models.CharField(_("任务编号"), max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("方案测算")
        verbose_name_plural = _("方案测算")
        constraints = [
            models.UniqueConstraint(fields=["draft"], condition=Q(status__in=["queued", "running"]),
                                    name="one_active_simulation_per_draft"),
        ]

    def of_draft_as_it_is(self) -> bool:
        """Whether the run valued the draft as it is now (not an earlier version of it)."""
        if self.document is None:  # runs from before runs kept what they valued
            return True
        return (self.document, self.assumptions) == (self.draft.document, self.draft.assumptions) and (
            not self.result or self.result.get("year") == self.draft.base_year)
