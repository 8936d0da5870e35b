"""The checks across a roster's rows, and against what the database already holds (no query:
`existing` was loaded before validation)."""
from __future__ import annotations

from core.tabular import RowError
from enrollment.models import Relation
from enrollment.roster.rows import Existing, HouseholdLine, KnownVillage, Row


def repeated_ids(repeated: dict[str, list[int]], header: dict[str, str]) -> list[RowError]:
    """The same person twice in the file: every row of them is listed."""
    errors = []
    for id_number, at in repeated.items():
        listed = "、".join(str(r) for r in at)
        for r in at:
            errors.append(RowError(r, header["id_number"], id_number, f"身份证号在文件中重复出现（第{listed}行）"))
    return errors


def repeated_receipts(repeated: dict[str, list[int]], header: dict[str, str]) -> list[RowError]:
    """The same receipt number on two contributions of the file: every row of it is listed."""
    errors = []
    for receipt_no, at in repeated.items():
        listed = "、".join(str(r) for r in at)
        for r in at:
            errors.append(RowError(r, header["receipt_no"], receipt_no,
                                   f"收据号在文件中重复出现（第{listed}行），一个收据号每年只能用一次"))
    return errors


def households(lines_by_household: dict[str, list[HouseholdLine]], existing: Existing,
               villages: dict[str, KnownVillage], header: dict[str, str]) -> list[RowError]:
    """One household: one village, one head, listed as a member row with relation 户主; a
    household already registered stays in its village."""
    errors: list[RowError] = []
    for household_no, lines in lines_by_household.items():
        in_db = existing.households.get(household_no)
        errors += _rows_agree(lines, header)
        errors += _one_head(lines, in_db, header)
        first_village = lines[0].village_code
        if in_db is not None and first_village:
            known = villages.get(first_village)
            if (known.id if known is not None else None) != in_db.village_id:
                errors += [RowError(line.row, header["village_code"], line.village_code,
                                    "该户号已登记在其他村，户号在全县唯一，不能改到别的村") for line in lines]
    return errors


def _rows_agree(lines: list[HouseholdLine], header: dict[str, str]) -> list[RowError]:
    """Every row of a household gives the village and head of its first row."""
    errors = []
    first = lines[0]
    for line in lines[1:]:
        if line.village_code != first.village_code:
            errors.append(RowError(line.row, header["village_code"], line.village_code,
                                   f"同一户的村代码必须一致（本户第{first.row}行为{first.village_code}）"))
        if line.head_id_number != first.head_id_number:
            errors.append(RowError(line.row, header["head_id_number"], line.head_id_number,
                                   f"同一户的户主身份证号必须一致（本户第{first.row}行为{first.head_id_number}）"))
    return errors


def _one_head(lines: list[HouseholdLine], in_db, header: dict[str, str]) -> list[RowError]:
    """One head row, whose ID is the head's ID; an existing household may add members without
    listing its (unchanged) head again."""
    heads = [line for line in lines if line.relation == Relation.HEAD]
    first = lines[0]
    if len(heads) > 1:
        listed = "、".join(str(line.row) for line in heads)
        return [RowError(line.row, header["relation"], "户主" if line.relation else "",
                         f"一户只能有一名户主（本户第{listed}行都填了户主）") for line in heads]
    if len(heads) == 1:
        head = heads[0]
        if head.id_number is not None and head.id_number != head.head_id_number:
            return [RowError(head.row, header["head_id_number"], head.head_id_number,
                             "户主身份证号与本户“户主”行的身份证号不一致")]
        return []
    if (all(line.relation is not None for line in lines)
            and (in_db is None or in_db.head_id_number != first.head_id_number)):
        return [RowError(first.row, header["head_id_number"], first.head_id_number,
                         "本户没有户主行：户主本人须作为本户的一行列出，与户主关系填“户主”，"
                         "身份证号与户主身份证号一致")]
    return []


def against_database(good: list[Row], lines_by_household: dict[str, list[HouseholdLine]],
                     existing: Existing, header: dict[str, str], *, year: int) -> list[RowError]:
    """One household per person; an enrollment recorded is not changed by an import; a new
    household's card number (HZ + its number) is not another household's."""
    errors = []
    for item in good:
        member = existing.members.get(item.id_number)
        if member is None:
            continue
        if member.household_number != item.household_no:
            errors.append(RowError(item.row, header["id_number"], item.id_number,
                                   f"一人只能在一个家庭户参合：此人已登记在户号{member.household_number}"))
            continue
        if item.contribution is not None:
            recorded = existing.enrollments.get(member.id)
            if recorded is not None and recorded != (item.contribution, item.receipt_no, item.paid_date):
                errors.append(RowError(
                    item.row, header["contribution"], str(item.contribution),
                    f"此人{year}年度已登记缴费（金额{recorded.contribution}，收据号{recorded.receipt_no}，"
                    f"缴费日期{recorded.paid_date.isoformat()}）；一人每年只能参合一次，已登记的缴费不能通过导入修改"))
    for household_no, lines in lines_by_household.items():
        if household_no not in existing.households:
            holder = existing.used_cards.get("HZ" + household_no)
            if holder is not None:
                errors.append(RowError(lines[0].row, header["household_no"], household_no,
                                       f"合作医疗证号HZ{household_no}已被户号{holder}使用"))
    return errors
