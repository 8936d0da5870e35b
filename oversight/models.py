"""Oversight of designated facilities' charges: inspections with their findings, penalties and
documents, and the flags the nightly job finds on claims (docs/rules.md, "Designated facilities and oversight").
The tables keep the names they were created with in the facility registry's app.
"""
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.scoping import scope_by_facility_location
from claims.models import Claim
from core.models import MoneyField, StoredDocument

from .rules import KIND_WORDS, THIS_FACILITY, detail_parse


class InspectionQuerySet(models.QuerySet):
    def for_user(self, user):
        """County roles every facility's inspections, a facility clerk only their own facility's,
        a township clerk those of the facilities located in their township."""
        return scope_by_facility_location(self, user, "facility", "facility__township")


class Inspection(models.Model):
    """An inspection of a facility (监督检查) with its findings and penalty.

    A penalty may be deducted from the facility's next settlements: `deduct_from_settlements`
    marks it so, and `deducted_amount` is what the fund has already withheld; the rest
    (penalty − deducted) stays outstanding against the facility until the fund applies it.
    """

    facility = models.ForeignKey("facilities.Facility", verbose_name=_("定点医疗机构"), on_delete=models.PROTECT,
                                 related_name="inspections")
    date = models.DateField(_("检查日期"))
    inspectors = models.CharField(_("检查人员"), max_length=200)
    findings = models.TextField(_("检查发现"))
    penalty_amount = MoneyField(_("处罚金额"), default=0)
    deduct_from_settlements = models.BooleanField(_("从后续结算款中扣减"), default=False)
    deducted_amount = MoneyField(_("已扣减金额"), default=0)
    recorded_by = models.ForeignKey("accounts.User", verbose_name=_("记录人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    history = HistoricalRecords(table_name="facilities_historicalinspection")
    objects = InspectionQuerySet.as_manager()

    class Meta:
        db_table = "facilities_inspection"
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
        return scope_by_facility_location(self, user, "inspection__facility", "inspection__facility__township")


class InspectionDocument(StoredDocument):
    """A document of an inspection (report, penalty decision, photo): PDF, JPEG or PNG by its first
    bytes (`core.uploads.document_content_type`), at most settings.INSPECTION_DOCUMENT_MAX_BYTES."""

    inspection = models.ForeignKey(Inspection, verbose_name=_("监督检查"), on_delete=models.PROTECT,
                                   related_name="documents")
    file = models.FileField(_("文件"), upload_to="inspections/%Y/%m/")

    history = HistoricalRecords(table_name="facilities_historicalinspectiondocument")
    objects = InspectionDocumentQuerySet.as_manager()

    class Meta:
        db_table = "facilities_inspectiondocument"
        ordering = ["inspection", "id"]
        verbose_name = _("检查材料")
        verbose_name_plural = _("检查材料")


# --- claim flags (疑点, computed by oversight.flags) ---------------------------------------------


class ClaimFlagQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(claim__in=Claim.objects.for_user(user))


class ClaimFlag(models.Model):
    """A flag a claim carries (see oversight.rules for every kind), stored by the nightly job
    `oversight.tasks.claim_flags_refresh`; one row per claim and kind."""

    claim = models.ForeignKey("claims.Claim", verbose_name=_("住院补偿"), on_delete=models.CASCADE,
                              related_name="flags")
    kind = models.CharField(_("疑点类型"), max_length=30)
    detail = models.CharField(_("说明"), max_length=300)
    computed_at = models.DateTimeField(_("计算时间"))

    objects = ClaimFlagQuerySet.as_manager()

    class Meta:
        db_table = "facilities_claimflag"
        ordering = ["claim", "kind"]
        verbose_name = _("疑点")
        verbose_name_plural = _("疑点")
        constraints = [models.UniqueConstraint(fields=["claim", "kind"], name="one_flag_per_claim_kind")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind}"

    @property
    def kind_words(self) -> str:
        return _(KIND_WORDS.get(self.kind, self.kind))

    @property
    def detail_words(self) -> str:
        """The detail in the reader's language: stored in Chinese, refilled from its template."""
        parsed = detail_parse(self.detail)
        if parsed is None:
            return self.detail
        template, values = parsed
        if values.get("where") == THIS_FACILITY:
            values["where"] = gettext(THIS_FACILITY)
        return gettext(template) % values
