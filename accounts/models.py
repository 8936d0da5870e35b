from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    TOWNSHIP_CLERK = "township_clerk", _("乡镇经办员")
    FACILITY_CLERK = "facility_clerk", _("定点机构结算员")
    REVIEWER = "reviewer", _("审核员")
    APPROVER = "approver", _("审批员")
    CASHIER = "cashier", _("出纳")
    FUND_OFFICER = "fund_officer", _("基金管理员")
    AUDITOR = "auditor", _("审计员")
    ADMINISTRATOR = "administrator", _("系统管理员")


class NcmsUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMINISTRATOR)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A staff user with exactly one role; township and facility roles are tied to their place."""

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    township = models.ForeignKey(
        "places.Township", verbose_name=_("乡镇"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="users",
    )
    facility = models.ForeignKey(
        "facilities.Facility", verbose_name=_("定点医疗机构"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="users",
    )
    full_name = models.CharField(_("姓名"), max_length=30, blank=True)
    # Set when an administrator creates the account (accounts.admin): the password the administrator
    # chose must be replaced by the user's own before any other page (accounts.middleware).
    must_change_password = models.BooleanField(_("须修改密码"), default=False)

    objects = NcmsUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                name="township_clerk_has_township",
                condition=~Q(role=Role.TOWNSHIP_CLERK) | Q(township__isnull=False),
            ),
            models.CheckConstraint(
                name="facility_clerk_has_facility",
                condition=~Q(role=Role.FACILITY_CLERK) | Q(facility__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username
