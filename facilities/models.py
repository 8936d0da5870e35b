from datetime import date

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.scoping import scope_by_facility


class Level(models.TextChoices):
    TOWNSHIP = "township", _("乡镇卫生院")
    COUNTY = "county", _("县级医院")
    MUNICIPAL = "municipal", _("县外市级医院")
    PROVINCIAL = "provincial", _("省级医院")


class FacilityStatus(models.TextChoices):
    ACTIVE = "active", _("正常")
    SUSPENDED = "suspended", _("暂停")


class FacilityQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_facility(self, user, "pk")


class Facility(models.Model):
    """A designated facility (定点医疗机构) with its agreement period and status."""

    code = models.CharField(_("机构代码"), max_length=20, unique=True)
    name = models.CharField(_("机构名称"), max_length=100)
    level = models.CharField(_("级别"), max_length=12, choices=Level.choices)
    township = models.ForeignKey(
        "enrollment.Township", verbose_name=_("所在乡镇"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="facilities",
    )
    agreement_start = models.DateField(_("协议开始日期"))
    agreement_end = models.DateField(_("协议结束日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=FacilityStatus.choices, default=FacilityStatus.ACTIVE
    )
    suspended_from = models.DateField(_("暂停日期"), null=True, blank=True)
    suspension_reason = models.CharField(_("暂停原因"), max_length=200, blank=True)
    # ended suspensions, oldest first: [{"from": "YYYY-MM-DD", "until": "YYYY-MM-DD", "reason": …}];
    # a stay admitted from `from` up to the day before `until` stays refused after reinstatement
    past_suspensions = models.JSONField(_("已结束的暂停期"), default=list, blank=True)

    history = HistoricalRecords()
    objects = FacilityQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("定点医疗机构")
        verbose_name_plural = _("定点医疗机构")
        constraints = [
            models.CheckConstraint(
                name="agreement_period_ordered", condition=Q(agreement_end__gte=F("agreement_start"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def covers(self, day: date) -> bool:
        """True when the agreement period includes the day."""
        return self.agreement_start <= day <= self.agreement_end


class InspectionQuerySet(models.QuerySet):
    def for_user(self, user):
        """County roles every facility's inspections, a facility clerk only their own facility's."""
        return scope_by_facility(self, user, "facility")


class Inspection(models.Model):
    """An inspection of a facility (监督检查) with its findings and penalty.

    A penalty may be deducted from the facility's next settlements: `deduct_from_settlements`
    marks it so, and `deducted_amount` is what the fund has already withheld; the rest
    (penalty − deducted) stays outstanding against the facility until the fund applies it.
    """

    facility = models.ForeignKey(Facility, verbose_name=_("定点医疗机构"), on_delete=models.PROTECT,
                                 related_name="inspections")
    date = models.DateField(_("检查日期"))
    inspectors = models.CharField(_("检查人员"), max_length=200)
    findings = models.TextField(_("检查发现"))
    penalty_amount = models.DecimalField(_("处罚金额"), max_digits=18, decimal_places=2, default=0)
    deduct_from_settlements = models.BooleanField(_("从后续结算款中扣减"), default=False)
    deducted_amount = models.DecimalField(_("已扣减金额"), max_digits=18, decimal_places=2, default=0)
    recorded_by = models.ForeignKey("accounts.User", verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = InspectionQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("监督检查")
        verbose_name_plural = _("监督检查")
        constraints = [
            models.CheckConstraint(name="inspection_penalty_not_negative", condition=Q(penalty_amount__gte=0)),
            models.CheckConstraint(
                name="inspection_deducted_within_penalty",
                condition=Q(deducted_amount__gte=0) & Q(deducted_amount__lte=F("penalty_amount")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code} {self.date.isoformat()}"

    @property
    def outstanding_deduction(self):
        """What is still to be withheld from the facility's settlements (0 when not deducted)."""
        if not self.deduct_from_settlements:
            return self.penalty_amount * 0
        return self.penalty_amount - self.deducted_amount


class InspectionDocumentQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_facility(self, user, "inspection__facility")


class InspectionDocument(models.Model):
    """A document of an inspection (report, penalty decision, photo): PDF, JPEG or PNG by its first
    bytes (ncms.uploads.scan_content_type), at most settings.INSPECTION_DOCUMENT_MAX_BYTES."""

    inspection = models.ForeignKey(Inspection, verbose_name=_("监督检查"), on_delete=models.PROTECT,
                                   related_name="documents")
    file = models.FileField(_("文件"), upload_to="inspections/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey("accounts.User", verbose_name=_("上传人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    history = HistoricalRecords()
    objects = InspectionDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["inspection", "id"]
        verbose_name = _("检查材料")
        verbose_name_plural = _("检查材料")

    def __str__(self) -> str:
        return self.original_name or self.file.name


# --- claim flags (疑点, issue 5 oversight; computed by facilities.flags) -------------------------


class ClaimFlagQuerySet(models.QuerySet):
    def for_user(self, user):
        from claims.models import Claim

        return self.filter(claim__in=Claim.objects.for_user(user))


class ClaimFlag(models.Model):
    """A flag a claim carries (see facilities.rules for every kind), stored by the nightly job
    `facilities.tasks.claim_flags_refresh`; one row per claim and kind."""

    claim = models.ForeignKey("claims.Claim", verbose_name=_("住院补偿"), on_delete=models.CASCADE,
                              related_name="flags")
    kind = models.CharField(_("疑点类型"), max_length=30)
    detail = models.CharField(_("说明"), max_length=300)
    computed_at = models.DateTimeField(_("计算时间"))

    objects = ClaimFlagQuerySet.as_manager()

    class Meta:
        ordering = ["claim", "kind"]
        verbose_name = _("疑点")
        verbose_name_plural = _("疑点")
        constraints = [models.UniqueConstraint(fields=["claim", "kind"], name="one_flag_per_claim_kind")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind}"

    @property
    def kind_words(self) -> str:
        from .rules import KIND_WORDS

        return _(KIND_WORDS.get(self.kind, self.kind))
