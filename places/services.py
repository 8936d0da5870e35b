"""Places import (乡镇、村及农业人口): the contract's "Places file", all or nothing.

One row per village: `township_code, township_name, village_code, village_name, population`.
The population is the village's agricultural population (农业人口) of the scheme year, the
denominator of the participation rate. Importing again updates names and populations and adds new
places; it never duplicates a township, a village or a village's population of a year.

Every row is validated first in plain Python; any invalid row refuses the whole file and every
invalid row is listed. Otherwise everything is written in one transaction.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction

from core.errors import NcmsError
from core.tabular import RowError, Table, TableInvalid, code_cell, map_headers, read_table, whole_number

from .models import Township, Village, VillagePopulation
from .rules import is_township_code, is_village_code, village_in_township

MIN_YEAR, MAX_YEAR = 2000, 2100
NAME_MAX = 50


# field, accepted headers (English first, as the contract names them), required
PLACE_COLUMNS: list[tuple[str, tuple[str, ...], bool]] = [
    ("township_code", ("township_code", "乡镇代码"), True),
    ("township_name", ("township_name", "乡镇名称"), True),
    ("village_code", ("village_code", "村代码"), True),
    ("village_name", ("village_name", "村名称"), True),
    ("population", ("population", "农业人口"), True),
]


@dataclass(frozen=True)
class PlaceRow:
    row: int
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    population: int


@dataclass
class PlacesSummary:
    year: int
    rows: int = 0
    townships_created: int = 0
    townships_updated: int = 0
    villages_created: int = 0
    villages_updated: int = 0
    populations_created: int = 0
    populations_updated: int = 0
    unchanged_rows: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _validate(table: Table) -> tuple[list[PlaceRow], list[RowError]]:
    index, header, errors = map_headers(table, PLACE_COLUMNS)
    if errors:
        return [], errors
    if not table.rows:
        return [], [RowError(0, "", "", "文件中没有数据行")]

    rows: list[PlaceRow] = []
    township_names: dict[str, tuple[str, int]] = {}  # code -> (name, first row)
    village_rows: dict[str, int] = {}  # code -> first row
    for offset, cells in enumerate(table.rows):
        number = offset + 2
        if not any(cell.strip() for cell in cells):
            continue  # a blank line in the middle of the file
        raw = {field: cells[i] if i < len(cells) else "" for field, i in index.items()}
        row_errors: list[RowError] = []

        def refuse(field: str, reason: str, value: str | None = None) -> None:
            row_errors.append(RowError(number, header[field], raw[field] if value is None else value, reason))

        township_code = code_cell(raw["township_code"])
        if not is_township_code(township_code):
            refuse("township_code", "乡镇代码必须是9位数字")
        township_name = raw["township_name"].strip()
        if not township_name:
            refuse("township_name", "乡镇名称不能为空")
        elif len(township_name) > NAME_MAX:
            refuse("township_name", f"乡镇名称不能超过{NAME_MAX}个字")
        village_code = code_cell(raw["village_code"])
        if not is_village_code(village_code):
            refuse("village_code", "村代码必须是12位数字")
        elif is_township_code(township_code) and not village_in_township(village_code, township_code):
            refuse("village_code", f"村代码的前9位必须是所属乡镇代码{township_code}")
        elif village_code in village_rows:
            refuse("village_code", f"村代码与第{village_rows[village_code]}行重复")
        village_name = raw["village_name"].strip()
        if not village_name:
            refuse("village_name", "村名称不能为空")
        elif len(village_name) > NAME_MAX:
            refuse("village_name", f"村名称不能超过{NAME_MAX}个字")
        population = 0
        try:
            population = whole_number(raw["population"])
        except ValueError as exc:
            refuse("population", f"农业人口{exc}")
        else:
            if population > 2_147_483_647:
                refuse("population", "农业人口数值过大")
        if township_code and township_name and township_code in township_names:
            known_name, first = township_names[township_code]
            if known_name != township_name:
                refuse("township_name", f"同一乡镇代码在第{first}行的名称是「{known_name}」，名称不一致")

        if row_errors:
            errors.extend(row_errors)
            continue
        township_names.setdefault(township_code, (township_name, number))
        village_rows[village_code] = number
        rows.append(PlaceRow(number, township_code, township_name, village_code, village_name, population))
    if not rows and not errors:
        errors.append(RowError(0, "", "", "文件中没有数据行"))
    return rows, errors


@transaction.atomic
def places_import(*, data: bytes, filename: str, year: int) -> PlacesSummary:
    """Import townships, villages and the year's agricultural population from a places file.

    Refuses the whole file (TableInvalid, nothing written) when any row is invalid; a file that
    cannot be read at all raises TableError. Existing places are matched by code and updated.
    """
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise NcmsError(f"年度不正确：{year}", code="bad_year")
    table = read_table(data, filename)
    rows, errors = _validate(table)
    if errors:
        raise TableInvalid(errors, what="乡镇村人口文件")

    summary = PlacesSummary(year=year, rows=len(rows))
    changed_rows: set[int] = set()

    # townships, by code
    wanted_townships: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row in rows:
        wanted_townships.setdefault(row.township_code, row.township_name)
        first_row.setdefault(row.township_code, row.row)
    townships = {t.code: t for t in Township.objects.select_for_update().filter(code__in=wanted_townships)}
    to_update = []
    for code, name in wanted_townships.items():
        township = townships.get(code)
        if township is None:
            townships[code] = Township.objects.create(code=code, name=name)
            summary.townships_created += 1
            changed_rows.add(first_row[code])
        elif township.name != name:
            township.name = name
            to_update.append(township)
            changed_rows.add(first_row[code])
    Township.objects.bulk_update(to_update, ["name"])
    summary.townships_updated = len(to_update)

    # villages, by code
    villages = {
        v.code: v
        for v in Village.objects.select_for_update().filter(code__in=[r.village_code for r in rows])
    }
    new_villages, changed_villages = [], []
    for row in rows:
        township = townships[row.township_code]
        village = villages.get(row.village_code)
        if village is None:
            village = Village(code=row.village_code, name=row.village_name, township=township)
            new_villages.append(village)
            changed_rows.add(row.row)
        elif village.name != row.village_name or village.township_id != township.pk:
            village.name = row.village_name
            village.township = township
            changed_villages.append(village)
            changed_rows.add(row.row)
    for village in new_villages:
        village.save()  # one by one: the pk is needed below on every backend
        villages[village.code] = village
    Village.objects.bulk_update(changed_villages, ["name", "township"])
    summary.villages_created = len(new_villages)
    summary.villages_updated = len(changed_villages)

    # populations of the year, one per village
    existing = {
        p.village_id: p
        for p in VillagePopulation.objects.select_for_update().filter(
            year=year, village__in=[villages[r.village_code].pk for r in rows]
        )
    }
    new_populations, changed_populations = [], []
    for row in rows:
        village = villages[row.village_code]
        population = existing.get(village.pk)
        if population is None:
            new_populations.append(VillagePopulation(village=village, year=year, population=row.population))
            changed_rows.add(row.row)
        elif population.population != row.population:
            population.population = row.population
            changed_populations.append(population)
            changed_rows.add(row.row)
    VillagePopulation.objects.bulk_create(new_populations)
    VillagePopulation.objects.bulk_update(changed_populations, ["population"])
    summary.populations_created = len(new_populations)
    summary.populations_updated = len(changed_populations)
    summary.unchanged_rows = len(rows) - len(changed_rows)
    return summary
