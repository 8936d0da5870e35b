"""A scheme year's policy file, validated whole (docs/contract.md, "Policy file"): pure, no ORM.

`parse_policy` checks every field of the file and turns it into a `Policy` (levels with their
deductible and bands, the unreferred reduction, the subsidised groups, delivery amounts, single
diseases, contribution, annual cap, claim deadline, and when cover starts); every problem is listed at once in
`PolicyInvalid.errors`, each named by its place in the file, so a county officer fixes the file in
one go. Valuing a claim by the parsed policy is `claims.rules`; loading a file into the database
is `claims.policy_store`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from core.errors import NcmsError
from core.money import FEN, ZERO

# The facility levels and member categories as facilities.models.Level / enrollment.models.Category
# spell them (kept here as plain strings so the rules stay free of the ORM; a test ties them).
LEVELS = ("township", "county", "municipal", "provincial")
CATEGORIES = ("ordinary", "wubao", "dibao", "poor")
DELIVERY_TYPES = ("normal", "caesarean")
SUBSIDY_SOURCES = ("central", "provincial", "county")

ONE = Decimal("1")
RATIO_MAX_PLACES = 4
# No amount of a policy comes near this (a year's cap is some hundred thousand yuan); it keeps a
# mistyped 1e400 from reaching the arithmetic.
AMOUNT_MAX = Decimal("99999999.99")
YEAR_MIN, YEAR_MAX = 2000, 2100
NAME_MAX = 200
WAITING_DAYS_MAX = 365
# A baby whose contribution is paid within this many days of their birth is covered from birth.
NEWBORN_DAYS = 90


@dataclass(frozen=True)
class Band:
    """A compensation band of a level: covers reimbursable cost up to `up_to` (None: no end)."""

    up_to: Decimal | None
    ratio: Decimal


@dataclass(frozen=True)
class LevelRule:
    deductible: Decimal
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class UnreferredReduction:
    """Ratio points taken off every band at these levels when the member came without referral."""

    levels: frozenset[str] = frozenset()
    ratio_points: Decimal = ZERO


@dataclass(frozen=True)
class GroupRule:
    """What a subsidised group (五保/低保/贫困) gets: no deductible, and/or extra ratio points."""

    waive_deductible: bool
    ratio_points: Decimal


@dataclass(frozen=True)
class SingleDisease:
    """A fixed payment (单病种定额) for a diagnosis (ICD-10 code prefix) treated at one level."""

    code: str
    level: str
    name: str
    payment: Decimal


@dataclass(frozen=True)
class Contribution:
    individual: Decimal
    subsidy: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        """What is raised per member: the individual contribution and every level's subsidy."""
        return self.individual + sum(self.subsidy.values(), ZERO)


@dataclass(frozen=True)
class Coverage:
    """When cover starts (the policy's optional `coverage`): a member who pays the year's
    contribution after `collection_end` waits `waiting_days` from the day they paid."""

    collection_end: date
    waiting_days: int

    def cover_starts(self, *, paid_date: date, birth_date: date | None) -> date | None:
        """The first day a stay may be admitted to be covered; None: the whole scheme year.

        Paid on or before `collection_end`: the whole year. Paid later: from `paid_date` plus
        `waiting_days`, except a baby paid for within `NEWBORN_DAYS` of birth (the day of birth
        counting as day 0), who is covered from birth.
        """
        if paid_date <= self.collection_end:
            return None
        if birth_date is not None and 0 <= (paid_date - birth_date).days <= NEWBORN_DAYS:
            return birth_date
        return paid_date + timedelta(days=self.waiting_days)


@dataclass(frozen=True)
class Policy:
    """A scheme year's policy, as validated by `parse_policy`."""

    year: int
    name: str
    contribution: Contribution
    risk_reserve_rate: Decimal
    annual_cap: Decimal
    claim_deadline_days: int
    levels: dict[str, LevelRule]
    unreferred_reduction: UnreferredReduction
    groups: dict[str, GroupRule]
    delivery: dict[str, Decimal]
    single_disease: tuple[SingleDisease, ...]
    coverage: Coverage | None = None  # None: an enrolled member is covered for the whole year

    def cover_starts(self, *, paid_date: date, birth_date: date | None) -> date | None:
        """The first day of cover of a member who paid on `paid_date`; None: the whole year."""
        if self.coverage is None:
            return None
        return self.coverage.cover_starts(paid_date=paid_date, birth_date=birth_date)

    def single_disease_for(self, diagnosis: str | None, level: str) -> SingleDisease | None:
        """The single-disease entry whose code starts the diagnosis and whose level matches.

        Codes compare case-insensitively, ignoring surrounding blanks; when several codes match
        (K35 and K35.8), the longest, most specific one wins.
        """
        code = (diagnosis or "").strip().upper()
        if not code:
            return None
        matches = [sd for sd in self.single_disease if sd.level == level and code.startswith(sd.code)]
        return max(matches, key=lambda sd: len(sd.code)) if matches else None


class PolicyInvalid(NcmsError):
    """A policy file with problems; `errors` lists every one of them, `summary` says how many."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        self.summary = f"政策文件有误，未载入（共{len(self.errors)}处错误）"
        super().__init__(self.summary + "：\n" + "\n".join(self.errors), code="policy_invalid")


class _Problems:
    """Collects the problems of a policy file, each named by its place in the file."""

    def __init__(self):
        self.errors: list[str] = []

    def add(self, path: str, reason: str, value=None, *, show_value: bool = True) -> None:
        if show_value:
            shown = "null" if value is None else value
            self.errors.append(f"{path}「{shown}」：{reason}")
        else:
            self.errors.append(f"{path}：{reason}")

    def missing(self, path: str) -> None:
        self.add(path, "缺少此项", show_value=False)

    def mapping(self, data: dict, key: str, path: str) -> dict | None:
        if key not in data:
            self.missing(path)
            return None
        value = data[key]
        if not isinstance(value, dict):
            self.add(path, "应为一个对象 {...}", _shown(value))
            return None
        return value

    def money(self, data: dict, key: str, path: str) -> Decimal | None:
        """A money amount ≥ 0 with at most two places, written as a string like "100.00"."""
        if key not in data:
            self.missing(path)
            return None
        value = _number(self, data[key], path)
        if value is None:
            return None
        if value < 0:
            self.add(path, "金额不能为负数", data[key])
            return None
        if value > AMOUNT_MAX:
            self.add(path, f"金额过大（最多 {AMOUNT_MAX}）", _shown(data[key]))
            return None
        if value != value.quantize(FEN):
            self.add(path, "金额最多两位小数", data[key])
            return None
        return value.quantize(FEN) + ZERO  # -0 is 0.00

    def ratio(self, data: dict, key: str, path: str) -> Decimal | None:
        """A ratio in [0, 1] with at most four places, written as a string like "0.75"."""
        if key not in data:
            self.missing(path)
            return None
        value = _number(self, data[key], path)
        if value is None:
            return None
        if value.as_tuple().exponent < -RATIO_MAX_PLACES:
            self.add(path, f"比例最多{RATIO_MAX_PLACES}位小数", data[key])
            return None
        if not ZERO <= value <= ONE:
            self.add(path, "比例须在 0 到 1 之间", data[key])
            return None
        return value


def _shown(value) -> str:
    if value is None:
        return "null"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(problems: _Problems, raw, path: str) -> Decimal | None:
    if isinstance(raw, bool) or isinstance(raw, float):
        # JSON numbers with a fraction arrive as binary floats: 0.1 is not 0.1. The contract
        # writes every amount and ratio as a quoted decimal string.
        problems.add(path, '请写成带引号的十进制字符串，如 "0.75" 或 "100.00"', raw)
        return None
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            problems.add(path, "不是有效的数字", raw)
            return None
    else:
        problems.add(path, '请写成带引号的十进制字符串，如 "0.75" 或 "100.00"', _shown(raw))
        return None
    if not value.is_finite():
        problems.add(path, "不是有效的数字", raw)
        return None
    return value


def _whole_number(problems: _Problems, data: dict, key: str, minimum: int, maximum: int,
                  path: str | None = None) -> int | None:
    path = path or key
    if key not in data:
        problems.missing(path)
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(path, "应为整数", _shown(value))
        return None
    if not minimum <= value <= maximum:
        problems.add(path, f"应在 {minimum} 到 {maximum} 之间", value)
        return None
    return value


def parse_policy(data: dict) -> Policy:
    """Validate a policy file (the contract's "Policy file") whole and return the `Policy`.

    Raises `PolicyInvalid` listing every problem (path in the file, value, what is wrong), so a
    county officer fixes the file in one go; nothing is loaded from a file with any problem.
    Amounts are quoted decimal strings with at most two places, ≥ 0; ratios quoted strings in
    [0, 1]; all four levels are present, each with bands whose `up_to` rise strictly and whose
    last (and only the last) `up_to` is null. Group and level names must be ones the scheme
    knows, so a misspelt "wubo" is refused rather than silently giving nobody anything.
    `unreferred_reduction`, `groups` and `single_disease` may be left out (nothing applies), and
    so may `coverage` (cover for the whole year); when given, it has both `collection_end` (a
    YYYY-MM-DD date) and `waiting_days` (a whole number from 0 to 365).
    """
    problems = _Problems()
    if not isinstance(data, dict):
        raise PolicyInvalid([f"政策文件应为一个 JSON 对象 {{...}}，而不是「{_shown(data)}」"])

    year = _whole_number(problems, data, "year", YEAR_MIN, YEAR_MAX)
    name = data.get("name")
    if "name" not in data:
        problems.missing("name")
    elif not isinstance(name, str) or not name.strip():
        problems.add("name", "应为非空的文字", _shown(name))
    elif len(name.strip()) > NAME_MAX:
        problems.add("name", f"最多{NAME_MAX}个字", _shown(name))
    contribution = _parse_contribution(problems, data)
    risk_reserve_rate = problems.ratio(data, "risk_reserve_rate", "risk_reserve_rate")
    annual_cap = problems.money(data, "annual_cap", "annual_cap")
    claim_deadline_days = _whole_number(problems, data, "claim_deadline_days", 1, 3660)
    levels = _parse_levels(problems, data)
    unreferred = _parse_unreferred(problems, data)
    groups = _parse_groups(problems, data)
    delivery = _parse_delivery(problems, data)
    single_disease = _parse_single_disease(problems, data)
    coverage = _parse_coverage(problems, data)

    if problems.errors:
        raise PolicyInvalid(problems.errors)
    return Policy(
        year=year, name=name.strip(), contribution=contribution,
        risk_reserve_rate=risk_reserve_rate, annual_cap=annual_cap,
        claim_deadline_days=claim_deadline_days, levels=levels, unreferred_reduction=unreferred,
        groups=groups, delivery=delivery, single_disease=single_disease, coverage=coverage,
    )


def _parse_contribution(problems: _Problems, data: dict) -> Contribution | None:
    raw = problems.mapping(data, "contribution", "contribution")
    if raw is None:
        return None
    individual = problems.money(raw, "individual", "contribution.individual")
    subsidy_raw = problems.mapping(raw, "subsidy", "contribution.subsidy")
    subsidy: dict[str, Decimal] = {}
    if subsidy_raw is not None:
        for key in subsidy_raw:
            if key not in SUBSIDY_SOURCES:
                problems.add(f"contribution.subsidy.{key}", "未知的补助来源，应为 central、provincial 或 county",
                             show_value=False)
        for source in SUBSIDY_SOURCES:
            amount = problems.money(subsidy_raw, source, f"contribution.subsidy.{source}")
            if amount is not None:
                subsidy[source] = amount
    if individual is None or len(subsidy) != len(SUBSIDY_SOURCES):
        return None
    return Contribution(individual=individual, subsidy=subsidy)


def _parse_levels(problems: _Problems, data: dict) -> dict[str, LevelRule] | None:
    raw = problems.mapping(data, "levels", "levels")
    if raw is None:
        return None
    for key in raw:
        if key not in LEVELS:
            problems.add(f"levels.{key}", "未知的医院级别，应为 township、county、municipal 或 provincial",
                         show_value=False)
    levels: dict[str, LevelRule] = {}
    for level in LEVELS:
        path = f"levels.{level}"
        rule = problems.mapping(raw, level, path)
        if rule is None:
            continue
        deductible = problems.money(rule, "deductible", f"{path}.deductible")
        bands = _parse_bands(problems, rule, f"{path}.bands")
        if deductible is not None and bands is not None:
            levels[level] = LevelRule(deductible=deductible, bands=bands)
    return levels if len(levels) == len(LEVELS) else None


def _parse_bands(problems: _Problems, rule: dict, path: str) -> tuple[Band, ...] | None:
    if "bands" not in rule:
        problems.missing(path)
        return None
    raw = rule["bands"]
    if not isinstance(raw, list) or not raw:
        problems.add(path, "应为至少含一段的列表 [...]", _shown(raw))
        return None
    bands: list[Band] = []
    valid = True
    previous: Decimal | None = ZERO
    for index, item in enumerate(raw, start=1):
        band_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            problems.add(band_path, '应为 {"up_to": ..., "ratio": ...}', _shown(item))
            valid = False
            continue
        last = index == len(raw)
        up_to = None
        if "up_to" not in item:
            problems.missing(f"{band_path}.up_to")
            valid = False
        elif item["up_to"] is None:
            if not last:
                problems.add(f"{band_path}.up_to", "只有最后一段的上限可以为 null（不封顶）", None)
                valid = False
        else:
            up_to = problems.money(item, "up_to", f"{band_path}.up_to")
            if up_to is None:
                valid = False
            elif last:
                problems.add(f"{band_path}.up_to", "最后一段的上限应为 null（不封顶）", item["up_to"])
                valid = False
            elif previous is not None and up_to <= previous:
                problems.add(f"{band_path}.up_to", f"各段上限应逐段递增（上一段为 {previous}）", item["up_to"])
                valid = False
        ratio = problems.ratio(item, "ratio", f"{band_path}.ratio")
        if ratio is None:
            valid = False
        previous = up_to if up_to is not None else previous
        bands.append(Band(up_to=up_to, ratio=ratio))
    return tuple(bands) if valid else None


def _parse_unreferred(problems: _Problems, data: dict) -> UnreferredReduction | None:
    if "unreferred_reduction" not in data:
        return UnreferredReduction()
    raw = problems.mapping(data, "unreferred_reduction", "unreferred_reduction")
    if raw is None:
        return None
    levels = raw.get("levels")
    valid = True
    if "levels" not in raw:
        problems.missing("unreferred_reduction.levels")
        valid = False
    elif not isinstance(levels, list):
        problems.add("unreferred_reduction.levels", "应为医院级别的列表 [...]", _shown(levels))
        valid = False
    else:
        for index, level in enumerate(levels, start=1):
            if level not in LEVELS:
                problems.add(f"unreferred_reduction.levels[{index}]",
                             "未知的医院级别，应为 township、county、municipal 或 provincial", _shown(level))
                valid = False
    points = problems.ratio(raw, "ratio_points", "unreferred_reduction.ratio_points")
    if not valid or points is None:
        return None
    return UnreferredReduction(levels=frozenset(levels), ratio_points=points)


def _parse_groups(problems: _Problems, data: dict) -> dict[str, GroupRule] | None:
    if "groups" not in data:
        return {}
    raw = problems.mapping(data, "groups", "groups")
    if raw is None:
        return None
    groups: dict[str, GroupRule] = {}
    valid = True
    for category, rule in raw.items():
        path = f"groups.{category}"
        if category not in CATEGORIES:
            problems.add(path, "未知的人员类别，应为 wubao、dibao、poor 或 ordinary", show_value=False)
            valid = False
            continue
        if not isinstance(rule, dict):
            problems.add(path, '应为 {"waive_deductible": ..., "ratio_points": ...}', _shown(rule))
            valid = False
            continue
        waive = rule.get("waive_deductible", False)
        if not isinstance(waive, bool):
            problems.add(f"{path}.waive_deductible", "应为 true 或 false", _shown(waive))
            valid = False
        points = problems.ratio(rule, "ratio_points", f"{path}.ratio_points")
        if points is None or not isinstance(waive, bool):
            valid = False
            continue
        groups[category] = GroupRule(waive_deductible=waive, ratio_points=points)
    return groups if valid else None


def _parse_delivery(problems: _Problems, data: dict) -> dict[str, Decimal] | None:
    raw = problems.mapping(data, "delivery", "delivery")
    if raw is None:
        return None
    for key in raw:
        if key not in DELIVERY_TYPES:
            problems.add(f"delivery.{key}", "未知的分娩方式，应为 normal 或 caesarean", show_value=False)
    delivery = {kind: problems.money(raw, kind, f"delivery.{kind}") for kind in DELIVERY_TYPES}
    if any(amount is None for amount in delivery.values()) or set(raw) - set(DELIVERY_TYPES):
        return None
    return delivery


def _parse_single_disease(problems: _Problems, data: dict) -> tuple[SingleDisease, ...] | None:
    if "single_disease" not in data:
        return ()
    raw = data["single_disease"]
    if not isinstance(raw, list):
        problems.add("single_disease", "应为列表 [...]", _shown(raw))
        return None
    entries: list[SingleDisease] = []
    seen: set[tuple[str, str]] = set()
    valid = True
    for index, item in enumerate(raw, start=1):
        path = f"single_disease[{index}]"
        if not isinstance(item, dict):
            problems.add(path, '应为 {"code": ..., "level": ..., "name": ..., "payment": ...}', _shown(item))
            valid = False
            continue
        code = item.get("code")
        if "code" not in item:
            problems.missing(f"{path}.code")
            code = None
        elif not isinstance(code, str) or not code.strip():
            problems.add(f"{path}.code", "应为 ICD-10 编码（如 K35）", _shown(code))
            code = None
        else:
            code = code.strip().upper()
        level = item.get("level")
        if "level" not in item:
            problems.missing(f"{path}.level")
            level = None
        elif level not in LEVELS:
            problems.add(f"{path}.level", "未知的医院级别，应为 township、county、municipal 或 provincial",
                         _shown(level))
            level = None
        name = item.get("name", "")
        if not isinstance(name, str):
            problems.add(f"{path}.name", "应为文字", _shown(name))
            name = None
        payment = problems.money(item, "payment", f"{path}.payment")
        if None in (code, level, name, payment):
            valid = False
            continue
        if (code, level) in seen:
            problems.add(f"{path}.code", f"与前面的病种重复（同一级别 {level}）", code)
            valid = False
            continue
        seen.add((code, level))
        entries.append(SingleDisease(code=code, level=level, name=name.strip(), payment=payment))
    return tuple(entries) if valid else None


def _parse_coverage(problems: _Problems, data: dict) -> Coverage | None:
    if "coverage" not in data:
        return None
    raw = problems.mapping(data, "coverage", "coverage")
    if raw is None:
        return None
    for key in raw:
        if key not in ("collection_end", "waiting_days"):
            problems.add(f"coverage.{key}", "未知的项，应为 collection_end 或 waiting_days", show_value=False)
    collection_end = None
    if "collection_end" not in raw:
        problems.missing("coverage.collection_end")
    else:
        value = raw["collection_end"]
        if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
            problems.add("coverage.collection_end", "应为 YYYY-MM-DD 格式的日期", _shown(value))
        else:
            try:
                collection_end = date.fromisoformat(value)
            except ValueError:
                problems.add("coverage.collection_end", "不是有效的日期", value)
    waiting_days = _whole_number(problems, raw, "waiting_days", 0, WAITING_DAYS_MAX, "coverage.waiting_days")
    if collection_end is None or waiting_days is None:
        return None
    return Coverage(collection_end=collection_end, waiting_days=waiting_days)
