from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from accounts.scoping import scope_by_township
from core.models import MoneyField
from enrollment.rules import BANK_ACCOUNT_DIGITS_ONLY, PHONE_DIGITS_ONLY

# what the admin may store (the clerk's forms and the roster import also drop spaces and hyphens)
PHONE_DIGITS = RegexValidator(r"^[0-9]*$", PHONE_DIGITS_ONLY, code="digits_only")
BANK_ACCOUNT_DIGITS = RegexValidator(r"^[0-9]*$", BANK_ACCOUNT_DIGITS_ONLY, code="digits_only")


class RosterHistory(HistoricalRecords):
    """History of the roster's tables, lean to write: a county's roster import writes a history
    row beside every household, member and enrollment it creates. Its user column has neither a
    foreign-key trigger nor an index (history is read per household; users are deactivated, never
    deleted); pass no_db_index for the copied columns it is not read by."""

    def __init__(self, **options):
        super().__init__(user_db_constraint=False, **options)

    def _get_history_user_fields(self):
        fields = super()._get_history_user_fields()
        fields["history_user"].db_index = False
        return fields


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    # 子/女 as relations to the head (son, daughter); 女 alone is also the sex "female"
    SON = "son", pgettext_lazy("relation", "子")
    DAUGHTER = "daughter", pgettext_lazy("relation", "女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    OTHER = "other", _("其他")


class Category(models.TextChoices):
    """Member category; the subsidised groups have their contribution paid by civil affairs."""

    ORDINARY = "ordinary", _("普通")
    WUBAO = "wubao", _("五保")
    DIBAO = "dibao", _("低保")
    POOR = "poor", _("贫困")


class Payer(models.TextChoices):
    SELF = "self", _("个人缴纳")
    CIVIL_AFFAIRS = "civil_affairs", _("民政代缴")


class MemberStatus(models.TextChoices):
    """Whether a member is still on the roll: one who died or moved out of the county stays on
    the household's register (their claims and history are kept), with the date and reason."""

    ACTIVE = "active", _("在册")
    DIED = "died", _("死亡")
    MOVED_OUT = "moved_out", _("迁出本县")


class HouseholdQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "village__township")


class Household(models.Model):
    """户: the unit of enrollment. Holds one co-op card (合作医疗证) and the payout bank account."""

    number = models.CharField(_("户号"), max_length=30, unique=True)
    village = models.ForeignKey(
        "places.Village", verbose_name=_("村"), on_delete=models.PROTECT, related_name="households",
        db_index=False,  # served by the (village, number) index below
    )
    head = models.ForeignKey(
        "Member", verbose_name=_("户主"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        db_index=False,  # never searched by; only a (rare) member deletion scans for it
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, validators=[PHONE_DIGITS])
    bank_name = models.CharField(_("开户银行"), max_length=60, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True, validators=[BANK_ACCOUNT_DIGITS])
    card_number = models.CharField(_("合作医疗证号"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)

    # history is read per household (by id): no index on the other columns
    history = RosterHistory(excluded_fields=["created_at"],
                            no_db_index=["number", "card_number", "village", "head"])
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("家庭户")
        verbose_name_plural = _("家庭户")
        indexes = [models.Index(fields=["village", "number"])]

    def __str__(self) -> str:
        return self.number


class MemberQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "household__village__township")


class Member(models.Model):
    """参合人员. The resident ID number is unique in the county (a person is on one household)."""

    household = models.ForeignKey(
        Household, verbose_name=_("家庭户"), on_delete=models.PROTECT, related_name="members"
    )
    name = models.CharField(_("姓名"), max_length=30)
    id_number = models.CharField(_("身份证号"), max_length=18, unique=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    relation = models.CharField(_("与户主关系"), max_length=12, choices=Relation.choices)
    category = models.CharField(
        _("人员类别"), max_length=10, choices=Category.choices, default=Category.ORDINARY
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, validators=[PHONE_DIGITS])
    # defaults in the database too: the bulk writers (roster import, demo, benches) that leave the
    # columns out write members on the roll
    status = models.CharField(_("人员状态"), max_length=10, choices=MemberStatus.choices,
                              default=MemberStatus.ACTIVE, db_default=MemberStatus.ACTIVE)
    status_date = models.DateField(_("状态日期"), null=True, blank=True,
                                   help_text=_("死亡或迁出本县的日期"))
    status_reason = models.CharField(_("状态原因"), max_length=200, blank=True, default="", db_default="")

    # history is read per household (household_id): no index on its id or ID number
    history = RosterHistory(no_db_index=["id", "id_number"])
    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["household__number", "id"]
        verbose_name = _("参合人员")
        verbose_name_plural = _("参合人员")
        # no index on the name: the household search looks for a part of it (a scan either way),
        # and every index makes the county's roster import slower

    def __str__(self) -> str:
        return self.name

    @property
    def on_roll(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    def left_before(self, year: int) -> bool:
        """Whether the member died or moved out of the county before scheme year `year` began."""
        return (self.status != MemberStatus.ACTIVE and self.status_date is not None
                and self.status_date.year < year)


class MemberMoveQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "to_household__village__township")


class MemberMove(models.Model):
    """A member moved to another household of the county (迁户), maybe in another village: from
    where, to where, on which day, why, who recorded it and when. The member's enrollments and
    claims go with them; the next year's roster lists them in the new household."""

    member = models.ForeignKey(Member, verbose_name=_("参合人员"), on_delete=models.PROTECT, related_name="moves")
    from_household = models.ForeignKey(Household, verbose_name=_("迁出户"), on_delete=models.PROTECT,
                                       related_name="moves_out")
    to_household = models.ForeignKey(Household, verbose_name=_("迁入户"), on_delete=models.PROTECT,
                                     related_name="moves_in")
    moved_on = models.DateField(_("迁移日期"))
    reason = models.CharField(_("迁移原因"), max_length=200)
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT,
                                 related_name="+", db_index=False)
    moved_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = MemberMoveQuerySet.as_manager()

    class Meta:
        ordering = ["-moved_on", "-pk"]
        verbose_name = _("成员迁移")
        verbose_name_plural = _("成员迁移")

    def __str__(self) -> str:
        return f"{self.member} {self.from_household} → {self.to_household}"


class EnrollmentQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "member__household__village__township")


class Enrollment(models.Model):
    """A member's participation in a scheme year: counts once the contribution is recorded."""

    member = models.ForeignKey(
        Member, verbose_name=_("参合人员"), on_delete=models.PROTECT, related_name="enrollments",
        db_index=False,  # served by the unique (member, year) constraint's index
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    contribution = MoneyField(_("缴费金额"))
    receipt_no = models.CharField(_("收据号"), max_length=40)
    paid_date = models.DateField(_("缴费日期"))
    payer = models.CharField(_("缴费方式"), max_length=15, choices=Payer.choices, default=Payer.SELF)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        db_index=False,  # never searched by; only a (rare) user deletion scans for it
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    # history is read per member (member_id): no index on its id or who recorded it
    history = RosterHistory(excluded_fields=["recorded_at"], no_db_index=["id", "recorded_by"])
    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "member_id"]
        verbose_name = _("参合缴费")
        verbose_name_plural = _("参合缴费")
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="one_enrollment_per_member_year"),
            models.CheckConstraint(name="contribution_not_negative", condition=Q(contribution__gte=0)),
            # a receipt number is used once per scheme year (a voided contribution frees its own)
            models.UniqueConstraint(fields=["year", "receipt_no"], condition=~Q(receipt_no=""),
                                    name="one_receipt_per_year"),
        ]
        indexes = [models.Index(fields=["year", "paid_date"])]

    def __str__(self) -> str:
        return f"{self.member} {self.year}"


class ContributionVoidQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "member__household__village__township")


class ContributionVoid(models.Model):
    """A contribution voided by the fund officer (缴费作废): what was recorded, who voided it, when
    and why, and the ledger entry that took it back out of the individual income.

    The enrollment itself is deleted in the same transaction (its history rows keep every version,
    the deletion stamped with the fund officer and the reason), so the member counts as not
    enrolled for the year everywhere enrollment is read, and may be enrolled again."""

    enrollment_id = models.PositiveBigIntegerField(_("原缴费记录号"))
    member = models.ForeignKey(
        Member, verbose_name=_("参合人员"), on_delete=models.PROTECT, related_name="contribution_voids",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    contribution = MoneyField(_("缴费金额"))
    receipt_no = models.CharField(_("收据号"), max_length=40)
    paid_date = models.DateField(_("缴费日期"))
    payer = models.CharField(_("缴费方式"), max_length=15, choices=Payer.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", db_index=False,
    )
    recorded_at = models.DateTimeField(_("登记时间"))
    reason = models.CharField(_("作废原因"), max_length=200)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("作废人"), on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    voided_at = models.DateTimeField(_("作废时间"), auto_now_add=True)
    voided_on = models.DateField(_("冲回日期"), help_text=_("冲回分录的记账日期（县里的日期）"))
    reversal = models.OneToOneField(
        "ledger.LedgerTransaction", verbose_name=_("冲回凭证"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="contribution_void",
    )

    objects = ContributionVoidQuerySet.as_manager()

    class Meta:
        ordering = ["-voided_at"]
        verbose_name = _("作废缴费")
        verbose_name_plural = _("作废缴费")
        constraints = [
            models.UniqueConstraint(fields=["enrollment_id"], name="one_void_per_enrollment"),
        ]
        indexes = [models.Index(fields=["year", "voided_on"], name="contribution_void_year_day")]

    def __str__(self) -> str:
        return f"{self.member} {self.year} {self.receipt_no}"


class ImportJobQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "township")


class ImportJob(models.Model):
    """A roster file uploaded in the browser: validated, previewed, then imported (maybe by a task)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("等待校验")
        VALIDATING = "validating", _("正在校验")
        INVALID = "invalid", _("校验未通过")
        READY = "ready", _("待确认")
        QUEUED = "queued", _("已排队")
        IMPORTING = "importing", _("正在导入")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    year = models.PositiveSmallIntegerField(_("年度"))
    file = models.FileField(_("文件"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "places.Township", verbose_name=_("乡镇"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("经办员上传时只能导入本乡镇的村"),
    )
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    summary = models.JSONField(_("结果"), default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("花名册导入")
        verbose_name_plural = _("花名册导入")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class ExportJobQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "township")


class ExportJob(models.Model):
    """A large XLSX export (the roster or the contributions of a year) written by a Celery task:
    who asked for it and when, its scope, its progress and, once done, the stored file.

    A township clerk's job carries the clerk's township: the file holds that township's rows only,
    and only users of that township (and the county roles) see the job and download its file.
    The task may run a job again: a done job is left alone, a job whose run died starts over."""

    class Kind(models.TextChoices):
        ROSTER = "roster", _("花名册")
        ENROLLMENTS = "enrollments", _("缴费名单")

    class Status(models.TextChoices):
        QUEUED = "queued", _("已排队")
        RUNNING = "running", _("正在导出")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("导出内容"), max_length=12, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    township = models.ForeignKey(
        "places.Township", verbose_name=_("乡镇"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("经办员导出时只含本乡镇；空：全县"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导出人"), on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已写行数"), default=0)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    runs = models.PositiveSmallIntegerField(_("运行次数"), default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="exportjob_by_user")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.year} ({self.get_status_display()})"

    @property
    def download_name(self) -> str:
        """The file's name for the browser: what the direct export calls it, with the township."""
        base = "roster" if self.kind == self.Kind.ROSTER else "enrollments"
        township = f"-{self.township.code}" if self.township_id else ""
        return f"{base}-{self.year}{township}.xlsx"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)
