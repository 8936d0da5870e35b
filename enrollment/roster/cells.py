"""Reading single cells: codes, dates, ID numbers, villages and amounts (no database)."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from core.money import parse_money
from core.tabular import NumericCell
from enrollment.models import Sex
from enrollment.roster.rows import KnownVillage
from enrollment.rules import id_check_character
from places.rules import is_village_code

_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_MISSING = object()


def plain(value: str) -> str:
    """Text of a code-like cell; an XLSX number such as 420102100201.0 loses its `.0`."""
    if isinstance(value, NumericCell) and value.endswith(".0"):
        return str(value[:-2])
    return str(value)


def parse_date(text: str) -> date | None:
    """ISO dates and what clerks type (2026/1/5, 2026.1.5, 2026年1月5日, 20260105); None if not a date."""
    text = text.strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    elif " " in text:
        text = text.split(" ", 1)[0]
    match = _DATE.match(text) or _DATE_COMPACT.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


class ResidentId(NamedTuple):
    number: str
    birth_date: date
    sex: str


def quick_id_parser(today: date) -> Callable[[str], ResidentId | None]:
    """The common case of parse_resident_id, fast: a valid upper-case ID, or None.

    None means "not obviously valid": the caller then asks parse_resident_id (the one rule, which
    also words the refusal). Birth dates repeat across a county, so they are parsed once.
    """
    births: dict[str, date | None] = {}
    shape = _ID_SHAPE.match

    def quick(text: str) -> ResidentId | None:
        if len(text) != 18 or shape(text) is None:
            return None
        if id_check_character(text[:17]) != text[17]:
            return None
        key = text[6:14]
        birth = births.get(key, _MISSING)
        if birth is _MISSING:
            birth = births[key] = _birth_date(key, today)
        if birth is None:
            return None
        return ResidentId(text, birth, Sex.MALE if int(text[16]) % 2 else Sex.FEMALE)

    return quick


def _birth_date(digits: str, today: date) -> date | None:
    """The birth date of an ID's eight date digits, None when no such day or not plausible."""
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    if birth > today or birth.year < 1880:
        return None
    return birth


def check_village(text: str, villages: dict[str, KnownVillage], township_id) -> tuple[int | None, str]:
    """(village id, "") for a usable village code, else (None, the reason)."""
    if not text:
        return None, "村代码不能为空"
    if not is_village_code(text):
        return None, "村代码应为12位数字"
    known = villages.get(text)
    if known is None:
        return None, "村代码不存在：请核对，或先导入乡镇和村"
    if township_id is not None and known.township_id != township_id:
        return None, "该村不属于您的乡镇，不能导入"
    return known.id, ""


def check_money(text: str) -> tuple[Decimal | None, str]:
    """(amount, "") for a usable contribution, else (None, the reason)."""
    try:
        amount = parse_money(text)
    except ValueError as exc:
        return None, f"缴费金额不正确：{exc}"
    if amount < 0:
        return None, "缴费金额不能为负数"
    return amount, ""
