"""The compensation policy of each scheme year, as loaded (docs/contract.md, "Policy file"). Its
table keeps the name it was created with when the policy belonged to claims."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .rules import Policy, parse_policy


class PolicyVersion(models.Model):
    """The compensation policy of a scheme year (补偿方案), as loaded from the contract's JSON file.

    One row per year; loading the year again replaces it (`policy.services.policy_load`) and
    bumps `revision`, while the history table keeps every earlier document with who loaded it and
    when.
    A claim records the policy and revision it was valued with, and keeps its own breakdown, so
    replacing a year's policy never changes a claim already valued.
    """

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    name = models.CharField(_("方案名称"), max_length=200)
    revision = models.PositiveIntegerField(_("版本号"), default=1)
    document = models.JSONField(_("政策文件"), help_text=_("载入时的原始 JSON 文件"))
    loaded_at = models.DateTimeField(_("载入时间"))
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("载入人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )

    history = HistoricalRecords(table_name="claims_historicalpolicyversion")

    class Meta:
        db_table = "claims_policyversion"
        ordering = ["-year"]
        verbose_name = _("补偿方案")
        verbose_name_plural = _("补偿方案")

    def __str__(self) -> str:
        return f"{self.year} {self.name}"

    def policy(self) -> Policy:
        """The parsed policy (`policy.rules.Policy`), parsed once per loaded document."""
        cached = self.__dict__.get("_parsed_policy")
        if cached is not None and cached[0] is self.document:
            return cached[1]
        parsed = parse_policy(self.document)
        self.__dict__["_parsed_policy"] = (self.document, parsed)
        return parsed
