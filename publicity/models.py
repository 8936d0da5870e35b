"""Compensation notices (补偿公示) and the villagers' objections (异议) and reports (举报).

A `Notice` is one village's posting of one month's paid claims; its `NoticeLine`s snapshot what
the public may see, already masked (publicity.rules): the masked name, village, facility, dates
and the three amounts. The claim is kept for staff only and is never rendered publicly. Once
posted, a notice and its lines never change: the model layer refuses to save an existing row or
delete one (like fund.models' ledger); a paid claim of the month found after posting goes onto
an addendum (补充公示) that points to the original notice (`addendum_to`, `number` ≥ 1).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.roles import user_can
from accounts.scoping import is_county_wide, scope_by_township
from claims.models import Claim
from core.models import AppendOnlyModel, AppendOnlyQuerySet, MoneyField

POSTED = "公示一经发布不能修改或删除；更正请发布补充公示"


class _Posted(AppendOnlyModel):
    """A posted notice or its line: never rewritten or deleted; a correction is an addendum."""

    rewrite_refusal = POSTED
    delete_refusal = POSTED
    refusal_code = "notice_posted"

    class Meta:
        abstract = True


class NoticeQuerySet(AppendOnlyQuerySet):
    def originals(self):
        return self.filter(addendum_to__isnull=True)


class Notice(_Posted):
    village = models.ForeignKey("places.Village", verbose_name=_("村"), on_delete=models.PROTECT,
                                related_name="notices")
    year = models.PositiveSmallIntegerField(_("年"))
    month = models.PositiveSmallIntegerField(_("月"))
    number = models.PositiveSmallIntegerField(_("补充公示序号"), default=0,
                                              help_text=_("0 为原公示，1 起为补充公示"))
    addendum_to = models.ForeignKey("self", verbose_name=_("补充的公示"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="addenda")
    posted_at = models.DateTimeField(_("公示时间"))
    objection_until = models.DateField(_("异议期截止"))
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "-month", "village__code", "number"]
        verbose_name = _("补偿公示")
        verbose_name_plural = _("补偿公示")
        constraints = [
            models.UniqueConstraint(fields=["village", "year", "month", "number"],
                                    name="one_notice_per_village_month_number"),
            models.UniqueConstraint(fields=["village", "year", "month"], condition=Q(addendum_to__isnull=True),
                                    name="one_original_notice_per_village_month"),
            models.CheckConstraint(name="notice_month_valid", condition=Q(month__gte=1, month__lte=12)),
            models.CheckConstraint(name="notice_addendum_numbered",
                                   condition=Q(addendum_to__isnull=True, number=0)
                                   | Q(addendum_to__isnull=False, number__gte=1)),
        ]

    def __str__(self) -> str:
        suffix = f"（补充公示{self.number}）" if self.number else ""
        return f"{self.village} {self.year}年{self.month}月补偿公示{suffix}"

    @property
    def is_addendum(self) -> bool:
        return self.addendum_to_id is not None

    def in_objection_period(self, today) -> bool:
        return today <= self.objection_until


class NoticeLineQuerySet(AppendOnlyQuerySet):
    pass


class NoticeLine(_Posted):
    """One compensated stay as posted: masked, snapshotted, never changed."""

    notice = models.ForeignKey(Notice, verbose_name=_("公示"), on_delete=models.PROTECT, related_name="lines")
    order = models.PositiveIntegerField(_("序号"))
    masked_name = models.CharField(_("姓名"), max_length=30)
    village_name = models.CharField(_("村"), max_length=50)
    facility_name = models.CharField(_("医疗机构"), max_length=100)
    admission_date = models.DateField(_("入院日期"))
    discharge_date = models.DateField(_("出院日期"))
    total_cost = MoneyField(_("住院总费用"))
    reimbursable_cost = MoneyField(_("可报费用"))
    compensation = MoneyField(_("补偿金额"))
    # staff only: never rendered on a public page
    claim = models.OneToOneField("claims.Claim", verbose_name=_("住院补偿"), on_delete=models.PROTECT,
                                 related_name="notice_line")

    objects = NoticeLineQuerySet.as_manager()

    class Meta:
        ordering = ["notice", "order"]
        verbose_name = _("公示明细")
        verbose_name_plural = _("公示明细")
        constraints = [models.UniqueConstraint(fields=["notice", "order"], name="one_line_per_notice_order")]

    def __str__(self) -> str:
        return f"{self.notice} #{self.order} {self.masked_name}"


# --- objections and reports -------------------------------------------------------------------


class CaseStatus(models.TextChoices):
    RECEIVED = "received", _("已受理")
    INVESTIGATING = "investigating", _("调查中")
    RESOLVED = "resolved", _("已办结")


class ObjectionQuerySet(models.QuerySet):
    def for_user(self, user):
        """County roles every objection; a township clerk those to its villages' notices."""
        if not user_can(user, "publicity.view"):
            return self.none()
        return scope_by_township(self, user, "line__notice__village__township")


class ReportQuerySet(models.QuerySet):
    def for_user(self, user):
        """County roles every report; a township clerk those about a facility located in the
        township or naming (by invoice number) a claim of the township."""
        if not user_can(user, "publicity.view"):
            return self.none()
        if is_county_wide(user):
            return self
        invoices = Claim.objects.for_user(user).exclude(invoice_no="").values("invoice_no")
        return self.filter(Q(facility__township_id=user.township_id) | Q(invoice_no__in=invoices))


class _Case(models.Model):
    text = models.TextField(_("内容"))
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    tracking_code = models.CharField(_("查询码"), max_length=16, unique=True)
    status = models.CharField(_("办理状态"), max_length=14, choices=CaseStatus.choices,
                              default=CaseStatus.RECEIVED)
    resolution = models.TextField(_("办理结果"), blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("办结人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # the township office's answer (乡镇答复) after looking into it; the county resolves the case
    answer = models.TextField(_("乡镇答复"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("答复人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class Objection(_Case):
    """An objection (异议) to one posted line of a notice."""

    line = models.ForeignKey(NoticeLine, verbose_name=_("公示明细"), on_delete=models.PROTECT,
                             related_name="objections")

    objects = ObjectionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(_Case.Meta):
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        constraints = [models.CheckConstraint(name="objection_status_valid",
                                              condition=Q(status__in=CaseStatus.values))]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.tracking_code}"


class Report(_Case):
    """A report (举报) about a designated facility or a claim (by invoice number, free text)."""

    facility = models.ForeignKey("facilities.Facility", verbose_name=_("被举报医疗机构"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    invoice_no = models.CharField(_("发票号"), max_length=60, blank=True)

    objects = ReportQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(_Case.Meta):
        verbose_name = _("举报")
        verbose_name_plural = _("举报")
        constraints = [models.CheckConstraint(name="report_status_valid",
                                              condition=Q(status__in=CaseStatus.values))]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.tracking_code}"


class NoticeCorrection(_Posted):
    """A correction line (更正) of a posted notice: a recovery (追回) of a claim that an earlier
    notice of the village posted, recorded after that notice went up. It rides on the village's
    next notice, masked like the lines (the masked name is the original line's), with the month of
    the original notice, the compensation posted, the amount recovered and the actual compensation
    after it. One per recovery (a recovery is corrected once); never changed."""

    notice = models.ForeignKey(Notice, verbose_name=_("公示"), on_delete=models.PROTECT, related_name="corrections")
    order = models.PositiveIntegerField(_("序号"))
    masked_name = models.CharField(_("姓名"), max_length=30)
    year = models.PositiveSmallIntegerField(_("原公示年"))
    month = models.PositiveSmallIntegerField(_("原公示月"))
    compensation = MoneyField(_("补偿金额"))
    recovered = MoneyField(_("追回金额"))
    net = MoneyField(_("实际补偿"))
    # staff only: never rendered on a public page
    line = models.ForeignKey(NoticeLine, verbose_name=_("原公示明细"), on_delete=models.PROTECT,
                             related_name="corrections")
    recovery = models.OneToOneField("claims.Recovery", verbose_name=_("追回"), on_delete=models.PROTECT,
                                    related_name="notice_correction")

    class Meta:
        ordering = ["notice", "order"]
        verbose_name = _("公示更正")
        verbose_name_plural = _("公示更正")
        constraints = [models.UniqueConstraint(fields=["notice", "order"], name="one_correction_per_notice_order")]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return (f"更正：{self.masked_name} {self.year}年{self.month}月 补偿 {self.compensation} 元，"
                f"追回 {self.recovered} 元，实际补偿 {self.net} 元")
