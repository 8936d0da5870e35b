from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Role
from accounts.scoping import scope_by_facility, scope_by_township
from core.models import AppendOnlyModel, AppendOnlyQuerySet, MoneyField, StoredDocument

# ---------------------------------------------------------------------------------------------
# Claims (住院补偿) and their workflow

class RejectionReasonQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class RejectionReason(models.Model):
    """A reason a claim may be rejected for (不予补偿原因): a list the county maintains."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    text = models.CharField(_("原因"), max_length=100)
    active = models.BooleanField(_("启用"), default=True)

    objects = RejectionReasonQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("拒付原因")
        verbose_name_plural = _("拒付原因")

    def __str__(self) -> str:
        return self.text


class Channel(models.TextChoices):
    FACILITY = "facility", _("定点机构即时结报")
    TOWNSHIP = "township", _("乡镇回乡报销")


class Delivery(models.TextChoices):
    NORMAL = "normal", _("顺产")
    CAESAREAN = "caesarean", _("剖宫产")


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    REVIEWED = "reviewed", _("已审核")
    APPROVED = "approved", _("已审批")
    PAID = "paid", _("已兑付")
    RETURNED = "returned", _("退回修改")
    REJECTED = "rejected", _("不予补偿")


class ClaimQuerySet(models.QuerySet):
    def for_user(self, user):
        """Township clerk: the claims of their township; facility clerk: their facility's claims;
        county roles: all (accounts.scoping).

        A claim belongs to `Claim.township`, the member's township when the claim was made, and
        stays there when the member moves: the pages, the API and the fund report all ask this
        one question the same way."""
        if getattr(user, "role", None) == Role.FACILITY_CLERK and not user.is_superuser:
            return scope_by_facility(self, user, "facility")
        return scope_by_township(self, user, "township")

    def holding_cap(self):
        """Claims that count against the annual cap: every claim that is not rejected."""
        return self.exclude(status=ClaimStatus.REJECTED)

    def with_recovered(self):
        """Each claim with `recovered` (its recoveries' sum, 0.00 when none) and `net_compensation`
        (compensation less recoveries: what the claim holds of the cap and what it finally pays)."""
        from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
        from django.db.models.functions import Coalesce

        money = DecimalField(max_digits=18, decimal_places=2)
        recovered = (Recovery.objects.filter(claim=OuterRef("pk")).order_by().values("claim")
                     .annotate(total=Sum("amount")).values("total"))
        return self.annotate(recovered=Coalesce(Subquery(recovered, output_field=money), Value(0), output_field=money)
                             ).annotate(net_compensation=F("compensation") - F("recovered"))


class ReferralQuerySet(models.QuerySet):
    def for_user(self, user):
        """Township clerk: the referrals of their township's members; facility clerk: those from or
        to their facility; county roles: all (accounts.scoping)."""
        if getattr(user, "role", None) == Role.FACILITY_CLERK and not user.is_superuser:
            return (scope_by_facility(self, user, "from_facility")
                    | scope_by_facility(self, user, "to_facility"))
        return scope_by_township(self, user, "township")

    def standing(self):
        """Referrals not cancelled: the ones a claim may rest on."""
        return self.filter(cancelled_at__isnull=True)


class Referral(models.Model):
    """A referral record (转诊单): a member sent from one facility to another of the same or a
    higher level, issued by the facility sending them or by the township office.

    A referral covers a stay at `to_facility` admitted on or after its date; an emergency referral
    (急诊转诊) may be filed up to `claims.eligibility.EMERGENCY_FILING_DAYS` days after the
    admission (`admission_date`, required for it), never after the discharge. It is never deleted:
    a mistaken one is cancelled (作废) with a reason, who and when, and its history kept.
    """

    number = models.CharField(_("转诊单号"), max_length=30, unique=True)
    member = models.ForeignKey("enrollment.Member", verbose_name=_("参合人员"), on_delete=models.PROTECT,
                               related_name="referrals")
    # the member's township when the referral was issued (its scope), like Claim.township
    township = models.ForeignKey("places.Township", verbose_name=_("乡镇"), on_delete=models.PROTECT,
                                 related_name="referrals")
    from_facility = models.ForeignKey("facilities.Facility", verbose_name=_("转出机构"),
                                      on_delete=models.PROTECT, related_name="referrals_out")
    to_facility = models.ForeignKey("facilities.Facility", verbose_name=_("转入机构"),
                                    on_delete=models.PROTECT, related_name="referrals_in")
    date = models.DateField(_("转诊日期"))
    emergency = models.BooleanField(_("急诊转诊"), default=False)
    admission_date = models.DateField(_("入院日期"), null=True, blank=True,
                                      help_text=_("急诊转诊必填：已入院的日期"))
    reason = models.CharField(_("转诊原因"), max_length=200)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("开具人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("开具时间"))
    cancelled_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("作废人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    cancel_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    history = HistoricalRecords()
    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("转诊单")
        verbose_name_plural = _("转诊单")
        constraints = [
            models.CheckConstraint(name="referral_between_two_facilities",
                                   condition=~Q(from_facility=F("to_facility"))),
            models.CheckConstraint(name="referral_emergency_has_admission",
                                   condition=Q(emergency=False) | Q(admission_date__isnull=False)),
            models.CheckConstraint(name="referral_cancel_has_reason",
                                   condition=Q(cancelled_at__isnull=True) | ~Q(cancel_reason="")),
        ]
        indexes = [models.Index(fields=["member", "to_facility"], name="referral_member_to_facility")]

    def __str__(self) -> str:
        return self.number

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


class Claim(models.Model):
    """An inpatient claim (住院补偿): one admission of one member at one facility.

    The figures (`reimbursable_cost`, `compensation`, `patient_pays`) and the whole `breakdown`
    are stored as valued, with the policy version and revision used, so any page explains them
    and a later policy replacement never changes them. Status moves only through
    `claims.workflow` (table `workflow.TRANSITIONS`); paid is final.
    """

    member = models.ForeignKey("enrollment.Member", verbose_name=_("参合人员"), on_delete=models.PROTECT,
                               related_name="claims")
    facility = models.ForeignKey("facilities.Facility", verbose_name=_("定点医疗机构"),
                                 on_delete=models.PROTECT, related_name="claims")
    # The township the member belonged to (household → village → township) when the claim was
    # made, set once by whoever creates the claim and never moved with the member afterwards, like
    # the figures as valued; the fund report sums claims by it without joining to the member.
    # Indexed by the composite (township, year, status) below, not on its own.
    township = models.ForeignKey("places.Township", verbose_name=_("乡镇"), on_delete=models.PROTECT,
                                 related_name="claims", db_index=False,
                                 help_text=_("提交时参合人员所属乡镇"))
    year = models.PositiveSmallIntegerField(_("年度"), help_text=_("出院日期所在年度"))
    channel = models.CharField(_("报销渠道"), max_length=10, choices=Channel.choices)
    invoice_no = models.CharField(_("发票号"), max_length=60)
    admission_date = models.DateField(_("入院日期"))
    discharge_date = models.DateField(_("出院日期"))
    diagnosis_code = models.CharField(_("诊断编码"), max_length=20, blank=True)
    diagnosis_text = models.CharField(_("诊断"), max_length=200, blank=True)
    total_cost = MoneyField(_("住院总费用"))
    non_reimbursable_cost = MoneyField(_("目录外费用"))
    reimbursable_cost = MoneyField(_("可报费用"))
    compensation = MoneyField(_("补偿金额"))
    patient_pays = MoneyField(_("个人自付"))
    referred = models.BooleanField(_("转诊"), default=False)
    # the referral record the claim rests on (None: none named or found; `referred` then is as given)
    referral = models.ForeignKey(Referral, verbose_name=_("转诊单"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="claims")
    delivery = models.CharField(_("分娩方式"), max_length=10, choices=Delivery.choices, null=True,
                                blank=True)
    rule = models.CharField(_("补偿方式"), max_length=20)
    breakdown = models.JSONField(_("计算明细"))
    policy = models.ForeignKey("policy.PolicyVersion", verbose_name=_("补偿方案"), on_delete=models.PROTECT,
                               related_name="claims")
    policy_revision = models.PositiveIntegerField(_("方案版本号"))
    status = models.CharField(_("状态"), max_length=10, choices=ClaimStatus.choices,
                              default=ClaimStatus.SUBMITTED)
    rejection_reason = models.ForeignKey(RejectionReason, verbose_name=_("拒付原因"), null=True,
                                         blank=True, on_delete=models.PROTECT, related_name="claims")
    note = models.TextField(_("备注"), blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审批人"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("兑付人"), null=True,
                                blank=True, on_delete=models.PROTECT, related_name="+")
    paid_at = models.DateTimeField(_("兑付时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("住院补偿")
        verbose_name_plural = _("住院补偿")
        constraints = [
            models.UniqueConstraint(fields=["facility", "invoice_no"], name="one_claim_per_facility_invoice"),
            models.CheckConstraint(
                name="claim_money_not_negative",
                condition=Q(total_cost__gte=0, non_reimbursable_cost__gte=0, reimbursable_cost__gte=0,
                            compensation__gte=0, patient_pays__gte=0),
            ),
            models.CheckConstraint(name="claim_compensation_within_reimbursable",
                                   condition=Q(compensation__lte=F("reimbursable_cost"))),
            models.CheckConstraint(name="claim_non_reimbursable_within_total",
                                   condition=Q(non_reimbursable_cost__lte=F("total_cost"))),
            models.CheckConstraint(name="claim_discharge_after_admission",
                                   condition=Q(discharge_date__gte=F("admission_date"))),
            models.CheckConstraint(name="claim_status_valid",
                                   condition=Q(status__in=ClaimStatus.values)),
        ]
        indexes = [
            models.Index(fields=["member", "year"]),
            models.Index(fields=["status", "year"]),
            models.Index(fields=["facility", "discharge_date"]),
            # the monthly fund report's aggregate (fund.report.claim_figures) reads only these
            # columns: an index-only scan in township order, never the claims themselves
            models.Index(fields=["township", "year", "status"], name="claim_township_year_status",
                         include=["paid_at", "member", "total_cost", "reimbursable_cost", "compensation"]),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_no} {self.member}"

    @property
    def holds_cap(self) -> bool:
        return self.status != ClaimStatus.REJECTED


class CostCategory(models.TextChoices):
    DRUGS = "drugs", _("药品费")
    TESTS = "tests", _("检查化验费")
    TREATMENT = "treatment", _("治疗费")
    BEDS = "beds", _("床位费")
    MATERIALS = "materials", _("材料费")
    SURGERY = "surgery", _("手术费")
    OTHER = "other", _("其他")


class CostLineQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(claim__in=Claim.objects.for_user(user))


class CostLine(models.Model):
    """A line of the bill by category, in the catalogue (目录内) or not (目录外, the patient's)."""

    claim = models.ForeignKey(Claim, verbose_name=_("住院补偿"), on_delete=models.CASCADE,
                              related_name="cost_lines")
    category = models.CharField(_("费用类别"), max_length=12, choices=CostCategory.choices)
    amount = MoneyField(_("金额"))
    in_catalog = models.BooleanField(_("目录内"), default=True)

    objects = CostLineQuerySet.as_manager()

    class Meta:
        ordering = ["claim", "id"]
        verbose_name = _("费用明细")
        verbose_name_plural = _("费用明细")
        constraints = [
            models.CheckConstraint(name="cost_line_amount_not_negative", condition=Q(amount__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.amount}"


class ClaimDocumentQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(claim__in=Claim.objects.for_user(user))


class ClaimDocument(StoredDocument):
    """A scan attached to a claim (invoice, discharge summary): PDF, JPEG or PNG, checked by its
    first bytes (`core.uploads.document_content_type`), at most settings.CLAIM_DOCUMENT_MAX_BYTES."""

    claim = models.ForeignKey(Claim, verbose_name=_("住院补偿"), on_delete=models.PROTECT,
                              related_name="documents")
    file = models.FileField(_("文件"), upload_to="claims/%Y/%m/")

    objects = ClaimDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["claim", "id"]
        verbose_name = _("报销材料")
        verbose_name_plural = _("报销材料")


class ClaimEventQuerySet(AppendOnlyQuerySet):
    def for_user(self, user):
        return self.filter(claim__in=Claim.objects.for_user(user))


class ClaimEvent(AppendOnlyModel):
    """One step of a claim's life (who, when, from which status to which): append-only."""

    rewrite_refusal = "补偿流程记录只能追加，不能修改"
    delete_refusal = "补偿流程记录只能追加，不能删除"

    claim = models.ForeignKey(Claim, verbose_name=_("住院补偿"), on_delete=models.PROTECT,
                              related_name="events")
    action = models.CharField(_("操作"), max_length=20)
    from_status = models.CharField(_("原状态"), max_length=10, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=10, choices=ClaimStatus.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("说明"), blank=True)

    objects = ClaimEventQuerySet.as_manager()

    class Meta:
        ordering = ["claim", "at", "id"]
        verbose_name = _("补偿流程记录")
        verbose_name_plural = _("补偿流程记录")

    def __str__(self) -> str:
        return f"{self.claim_id} {self.action} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class MemberYearCap(models.Model):
    """The lock row of a member's annual cap (年度封顶线) for a scheme year.

    Every write that changes what a member's claims hold against the cap (submit, settle,
    resubmit, reject) first takes this row with SELECT ... FOR UPDATE, so two settlements of
    the same member serialize on PostgreSQL and the second sees the first's compensation.
    `used` mirrors the sum of compensation of the member's non-rejected claims of the year,
    recomputed under the lock on every change (the claims themselves are the truth).
    """

    member = models.ForeignKey("enrollment.Member", verbose_name=_("参合人员"), on_delete=models.PROTECT,
                               related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    used = MoneyField(_("已用补偿"), default=0)

    class Meta:
        verbose_name = _("年度封顶使用")
        verbose_name_plural = _("年度封顶使用")
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="one_cap_row_per_member_year"),
            models.CheckConstraint(name="cap_used_not_negative", condition=Q(used__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.year}: {self.used}"


# ---------------------------------------------------------------------------------------------
# Recoveries (追回): compensation of a paid claim found paid wrongly (docs/rules.md, "Money flow")


class RecoverySource(models.TextChoices):
    REVIEW = "review", _("审核复查")
    OBJECTION = "objection", _("异议")
    REPORT = "report", _("举报")
    INSPECTION = "inspection", _("监督检查")


class RecoveryQuerySet(AppendOnlyQuerySet):
    def for_user(self, user):
        """A recovery is seen by whoever may see its claim (`ClaimQuerySet.for_user`)."""
        return self.filter(claim__in=Claim.objects.for_user(user))


class Recovery(AppendOnlyModel):
    """X of a paid claim's compensation recorded as paid wrongly: never edited or deleted.

    It releases X of the member's annual cap at once (the cap counts compensation less
    recoveries: `claims.cap`, `claims.lookups.stays`). Who pays it back follows the claim's
    channel: a facility-channel recovery is withheld on the facility's next statement
    (`fund.statements`), a township-channel one stays outstanding until the household's refund
    is recorded (`fund.refunds`). `source` says what found it; `source_id` is the objection,
    report or inspection behind it (none for a reviewer's own finding).
    """

    claim = models.ForeignKey(Claim, verbose_name=_("住院补偿"), on_delete=models.PROTECT, related_name="recoveries")
    amount = MoneyField(_("追回金额"))
    reason = models.CharField(_("追回原因"), max_length=200)
    date = models.DateField(_("追回日期"))
    source = models.CharField(_("来源"), max_length=12, choices=RecoverySource.choices)
    source_id = models.PositiveBigIntegerField(_("来源编号"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = RecoveryQuerySet.as_manager()

    rewrite_refusal = "追回记录只能追加，不能修改"
    delete_refusal = "追回记录不能删除"
    refusal_code = "recovery_frozen"

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("追回")
        verbose_name_plural = _("追回")
        constraints = [
            models.CheckConstraint(name="recovery_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="recovery_source_valid", condition=Q(source__in=RecoverySource.values)),
        ]
        indexes = [models.Index(fields=["claim"]), models.Index(fields=["date"])]

    def __str__(self) -> str:
        return f"{self.claim.invoice_no} −{self.amount}"
