"""Places: the county's townships (乡镇) and villages (村), and each village's agricultural
population (农业人口) per year, the denominator of the participation rate (docs/rules.md, "Places and codes").

Codes follow the administrative division style: 9 digits for a township, 12 for a village whose
first 9 are its township's. The tables keep the names they were created with.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.scoping import scope_by_township


class TownshipQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "pk")


class Township(models.Model):
    code = models.CharField(_("乡镇代码"), max_length=9, unique=True)
    name = models.CharField(_("乡镇名称"), max_length=50)

    objects = TownshipQuerySet.as_manager()

    class Meta:
        db_table = "enrollment_township"
        ordering = ["code"]
        verbose_name = _("乡镇")
        verbose_name_plural = _("乡镇")

    def __str__(self) -> str:
        return self.name


class VillageQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_by_township(self, user, "township")


class Village(models.Model):
    code = models.CharField(_("村代码"), max_length=12, unique=True)
    name = models.CharField(_("村名称"), max_length=50)
    township = models.ForeignKey(
        Township, verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="villages"
    )

    objects = VillageQuerySet.as_manager()

    class Meta:
        db_table = "enrollment_village"
        ordering = ["code"]
        verbose_name = _("村")
        verbose_name_plural = _("村")

    def __str__(self) -> str:
        return f"{self.township.name}{self.name}"


class VillagePopulation(models.Model):
    """A village's agricultural population (农业人口) of a year: the participation denominator."""

    village = models.ForeignKey(
        Village, verbose_name=_("村"), on_delete=models.CASCADE, related_name="populations"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    population = models.PositiveIntegerField(_("农业人口"))

    class Meta:
        db_table = "enrollment_villagepopulation"
        ordering = ["village__code", "year"]
        verbose_name = _("农业人口")
        verbose_name_plural = _("农业人口")
        constraints = [
            models.UniqueConstraint(fields=["village", "year"], name="one_population_per_village_year"),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.year}: {self.population}"
