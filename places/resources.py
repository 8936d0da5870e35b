"""django-import-export resources of the places registers.

Places import and export with Chinese headers, matched by code; a village names its township by
code and a population its village by code, so a file exported here imports again unchanged.
"""
from import_export import fields
from import_export.widgets import ForeignKeyWidget

from core.tabular import TextCellsResource

from .models import Township, Village, VillagePopulation


class TownshipAdminResource(TextCellsResource):
    code = fields.Field(column_name="乡镇代码", attribute="code")
    name = fields.Field(column_name="乡镇名称", attribute="name")

    class Meta:
        model = Township
        fields = ("code", "name")
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False


class VillageAdminResource(TextCellsResource):
    township = fields.Field(column_name="乡镇代码", attribute="township",
                            widget=ForeignKeyWidget(Township, field="code"))
    code = fields.Field(column_name="村代码", attribute="code")
    name = fields.Field(column_name="村名称", attribute="name")

    class Meta:
        model = Village
        fields = ("township", "code", "name")
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

    def get_queryset(self):
        return super().get_queryset().select_related("township")


class VillagePopulationAdminResource(TextCellsResource):
    village = fields.Field(column_name="村代码", attribute="village",
                           widget=ForeignKeyWidget(Village, field="code"))
    year = fields.Field(column_name="年度", attribute="year")
    population = fields.Field(column_name="农业人口", attribute="population")

    class Meta:
        model = VillagePopulation
        fields = ("village", "year", "population")
        import_id_fields = ("village", "year")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

    def get_queryset(self):
        return super().get_queryset().select_related("village")
