"""Admin of the places registers: townships, villages and populations import and export through
django-import-export, with Chinese headers, matched by code."""
from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from .models import Township, Village, VillagePopulation
from .resources import TownshipAdminResource, VillageAdminResource, VillagePopulationAdminResource


@admin.register(Township)
class TownshipAdmin(ImportExportModelAdmin):
    resource_classes = [TownshipAdminResource]
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Village)
class VillageAdmin(ImportExportModelAdmin):
    resource_classes = [VillageAdminResource]
    list_display = ("code", "name", "township")
    list_filter = ("township",)
    list_select_related = ("township",)
    search_fields = ("code", "name")


@admin.register(VillagePopulation)
class VillagePopulationAdmin(ImportExportModelAdmin):
    resource_classes = [VillagePopulationAdminResource]
    list_display = ("village", "year", "population")
    list_filter = ("year", "village__township")
    list_select_related = ("village__township",)
    search_fields = ("village__code", "village__name")
    autocomplete_fields = ("village",)
