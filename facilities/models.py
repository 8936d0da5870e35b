from datetime import date

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.scoping import scope_by_facility_location


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
        """County roles every facility, a facility clerk their own, a township clerk those
        located in their township (accounts.scoping)."""
        return scope_by_facility_location(self, user, "pk", "township")


class Facility(models.Model):
    """A designated facility (定点医疗机构) with its agreement period and status."""

    code = models.CharField(_("机构代码"), max_length=20, unique=True)
    name = models.CharField(_("机构名称"), max_length=100)
    level = models.CharField(_("级别"), max_length=12, choices=Level.choices)
    township = models.ForeignKey(
        "places.Township", verbose_name=_("所在乡镇"), null=True, blank=True,
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
    # where the county pays the facility's monthly settlement statements (结算单)
    bank_name = models.CharField(_("开户银行"), max_length=60, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True)

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
