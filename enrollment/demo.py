"""The demo county's places, facilities and people: the enrollment part of `seed_demo` (demo/county.py).

The county is built in two stages. Builders (pure Python, no ORM) fill a `DemoCounty` made of plain
dataclasses from one `random.Random(config.seed)`, so the same config always gives the same county,
value for value. Writers (enrollment/demo_writing.py) then write it inside one transaction with `bulk_create`, with one "created"
history row per household, member, enrollment and facility (django-simple-history's
`bulk_history_create`, change reason 演示数据), so the household page shows where the data came
from. Other apps' demo parts keep what they build in their own `DemoCounty` field or in
`county.extras`.

The people: households of 2–6 members with common surnames (weighted as in China, villages named
after a clan lean to that surname), given names of 1–2 characters that fit the generation, children
sharing the head's surname, birth dates that fit the relation, valid resident IDs (GB 11643, region =
county code) unique in the county, about 3 % in subsidised groups (五保/低保/贫困, paid by civil
affairs), and per village a participation rate (enrolled members / agricultural population) drawn
around the 95 % target, with 青山乡 and one village of 城关镇 kept below it.
"""
from __future__ import annotations

import functools
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from enrollment.models import Category, MemberStatus, Payer, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id
from facilities.models import FacilityStatus, Level
from policy.rules import parse_policy

HISTORY_REASON = "演示数据"
# The demo's policy, which claims.demo loads for the demo year: every demo contribution is its
# individual amount (the rule the services and the roster import enforce), and the receipt numbers
# are unique in the year (`_number_receipts`), as the database requires.
POLICY_FIXTURE = Path(__file__).resolve().parents[1] / "policy" / "fixtures" / "policy-2026.json"
SUBSIDISED_SHARE = Decimal("0.03")

# --- configuration and the built county -------------------------------------------------------


def demo_year(today: date) -> int:
    """The scheme year the demo shows by default: the year of the day 90 days ago. Its claims are
    discharged by today, so early in a year (a January demo would have almost none) it shows the
    whole of the previous year, and from April the current one."""
    return (today - timedelta(days=90)).year


@dataclass(frozen=True)
class DemoConfig:
    members: int = 20000
    year: int = field(default_factory=lambda: demo_year(timezone.localdate()))
    seed: int = 2026
    claims: int | None = None  # how many claims the claims builder plans (None: its default)
    county_code: str = field(default_factory=lambda: settings.COUNTY_CODE)
    county_name: str = field(default_factory=lambda: settings.COUNTY_NAME)


@dataclass
class TownshipSpec:
    code: str
    name: str


@dataclass
class VillageSpec:
    code: str
    name: str
    township_code: str
    target_rate: float  # participation the village is built to reach
    population: int = 0  # agricultural population of the year, set by the enrollment builder


@dataclass
class EnrollmentSpec:
    contribution: Decimal
    paid_date: date
    payer: str
    receipt_no: str = ""


@dataclass
class MemberSpec:
    name: str
    id_number: str
    sex: str
    birth_date: date
    relation: str
    category: str = Category.ORDINARY
    phone: str = ""
    enrollment: EnrollmentSpec | None = None
    status: str = MemberStatus.ACTIVE
    status_date: date | None = None
    status_reason: str = ""


@dataclass
class HouseholdSpec:
    number: str
    village_code: str
    address: str
    phone: str
    bank_name: str
    bank_account: str
    members: list[MemberSpec]  # members[0] is the head

    @property
    def card_number(self) -> str:
        return f"HZ{self.number}"


@dataclass
class FacilitySpec:
    code: str
    name: str
    level: str
    township_code: str | None
    agreement_start: date
    agreement_end: date
    status: str = FacilityStatus.ACTIVE
    suspended_from: date | None = None
    suspension_reason: str = ""
    bank_name: str = ""
    bank_account: str = ""


@dataclass
class UserSpec:
    username: str
    role: str
    full_name: str
    township_code: str | None = None
    facility_code: str | None = None
    is_staff: bool = False
    is_superuser: bool = False


@dataclass
class DemoCounty:
    config: DemoConfig
    townships: list[TownshipSpec] = field(default_factory=list)
    villages: list[VillageSpec] = field(default_factory=list)
    households: list[HouseholdSpec] = field(default_factory=list)
    facilities: list[FacilitySpec] = field(default_factory=list)
    users: list[UserSpec] = field(default_factory=list)
    extras: dict = field(default_factory=dict)  # what later builders add (policy, claims, ...)

    def members(self) -> Iterator[MemberSpec]:
        for household in self.households:
            yield from household.members


# --- places -----------------------------------------------------------------------------------
# (township code suffix, name, villages). Village codes follow the national style: the township's
# 9 digits + 2xx for village committees. 城关镇/东湖村 match the test fixtures' codes.
PLACES = [
    ("100", "城关镇", ["东湖村", "柳树湾村", "王家岗村", "新河村", "桃园村", "高桥村", "红星村"]),
    ("200", "河口乡", ["西山村", "李家湾村", "双河村", "荷花村", "油坊村", "沙坪村"]),
    ("101", "石桥镇", ["石门村", "张家湾村", "枫树坪村", "白果树村", "长岭村", "竹林村", "三岔村"]),
    ("201", "青山乡", ["杨家坪村", "马鞍山村", "黄泥塘村", "松林村", "梅子垭村", "金竹村"]),
]
LOW_TOWNSHIP = "青山乡"  # built below the 95 % target, township-wide
LOW_VILLAGE = "新河村"  # one village of an otherwise good township below the target


def build_places(county: DemoCounty, rng: random.Random) -> None:
    for suffix, township_name, village_names in PLACES:
        township_code = f"{county.config.county_code}{suffix}"
        county.townships.append(TownshipSpec(code=township_code, name=township_name))
        for index, village_name in enumerate(village_names, start=1):
            if township_name == LOW_TOWNSHIP:
                rate = rng.uniform(0.925, 0.952)
            elif village_name == LOW_VILLAGE:
                rate = rng.uniform(0.930, 0.945)
            else:
                rate = rng.uniform(0.955, 0.99)
            county.villages.append(VillageSpec(
                code=f"{township_code}{200 + index:03d}", name=village_name,
                township_code=township_code, target_rate=rate,
            ))


# --- people -----------------------------------------------------------------------------------
# Surname frequencies (per mille, rounded) of the most common Chinese surnames.
SURNAMES = {
    "王": 71, "李": 70, "张": 67, "刘": 54, "陈": 45, "杨": 31, "赵": 23, "黄": 22, "周": 21,
    "吴": 20, "徐": 16, "孙": 15, "胡": 13, "朱": 13, "高": 12, "林": 12, "何": 12, "郭": 11,
    "马": 10, "罗": 9, "梁": 8, "宋": 8, "郑": 7, "谢": 7, "韩": 6, "唐": 6, "冯": 6, "于": 6,
    "董": 5, "程": 5, "曹": 5, "袁": 5, "邓": 5, "许": 4, "傅": 4, "沈": 4, "曾": 4, "彭": 4,
    "吕": 4, "余": 4, "熊": 3, "田": 3, "方": 3, "蔡": 3, "雷": 3, "向": 2, "肖": 3, "龚": 2,
}
# Given names by generation: (born before 1965, 1965-1989, from 1990), each male / female, as
# whole names and as characters to compose from.
GIVEN_NAMES = {
    "old": {
        MALE: ["建国", "国强", "德明", "志刚", "永福", "长林", "金山", "玉成", "卫东", "春生", "树林",
               "德胜", "福生", "广才", "有才", "先进", "光明", "保国", "世昌", "忠"],
        FEMALE: ["桂兰", "秀英", "玉兰", "凤英", "淑珍", "秀兰", "桂英", "翠花", "春梅", "金凤",
                 "兰芳", "素芬", "桂芝", "秀珍", "玉梅", "菊花", "冬梅", "秀芳", "英", "兰"],
    },
    "middle": {
        MALE: ["伟", "强", "军", "勇", "磊", "涛", "斌", "波", "明", "刚", "海波", "建军", "志强",
               "俊", "杰", "鹏", "辉", "超", "建华", "小军", "红兵", "新民", "立新", "国华"],
        FEMALE: ["丽", "芳", "敏", "静", "艳", "娟", "霞", "燕", "玲", "红梅", "丽娟", "小红", "婷",
                 "琴", "慧", "春燕", "海燕", "丽华", "晓红", "秀梅", "美玲", "小芳"],
    },
    "young": {
        MALE: ["浩然", "宇轩", "子豪", "俊杰", "博文", "一鸣", "浩宇", "晨阳", "子轩", "皓轩",
               "宇航", "家豪", "思远", "睿", "鑫", "明轩", "天佑", "嘉懿", "梓睿", "文博"],
        FEMALE: ["欣怡", "梓涵", "诗涵", "雨桐", "子萱", "一诺", "佳怡", "思琪", "雨欣", "可馨",
                 "紫涵", "梦瑶", "欣悦", "婉婷", "雅琪", "若曦", "语嫣", "诗琪", "佳琪", "悦"],
    },
}
GIVEN_CHARS = {
    MALE: "建国志明永文海春德金玉华平军林强伟东峰荣贵成福宏涛刚斌俊杰鹏辉超勇波磊军亮浩宇轩",
    FEMALE: "秀英兰芳桂凤玉珍丽霞梅娟琴燕萍红艳静敏婷慧莉琳雪云丹怡涵欣雨佳思",
}
HOUSEHOLD_SIZES = ([2, 3, 4, 5, 6], [20, 47, 75, 91, 100])  # cumulative: 20 %, 27 %, 28 %, 16 %, 9 %
PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                  "152", "155", "157", "158", "159", "180", "182", "183", "186", "187", "188", "189"]
BANKS = [("农村商业银行", "6230", 60), ("中国邮政储蓄银行", "6221", 25), ("中国农业银行", "6228", 15)]


def _generation(birth_year: int) -> str:
    if birth_year < 1965:
        return "old"
    if birth_year < 1990:
        return "middle"
    return "young"


class _People:
    """Random names, birth dates, IDs and phones; keeps resident IDs unique in the county."""

    def __init__(self, rng: random.Random, *, region: str, reference: date):
        self.rng = rng
        self.region = region
        self.reference = reference  # ages are counted on this day; every birth lies before it
        self.surnames = list(SURNAMES)
        self.surname_weights = list(itertools.accumulate(SURNAMES.values()))
        self.used_ids: dict[tuple[date, str], set[int]] = {}

    def surname(self, clan: str | None = None) -> str:
        if clan and self.rng.random() < 0.35:
            return clan
        return self.rng.choices(self.surnames, cum_weights=self.surname_weights)[0]

    def given_name(self, sex: str, birth: date) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return rng.choice(GIVEN_NAMES[_generation(birth.year)][sex])
        chars = GIVEN_CHARS[sex]
        length = 1 if rng.random() < 0.25 else 2
        return "".join(rng.choice(chars) for _ in range(length))

    def birth_date(self, age: int) -> date:
        latest = self.reference.toordinal() - 1 - round(age * 365.25)
        return date.fromordinal(latest - self.rng.randrange(365))

    def person(self, *, surname: str, sex: str, age: int, relation: str) -> MemberSpec:
        birth = self.birth_date(age)
        return MemberSpec(
            name=surname + self.given_name(sex, birth), id_number=self.resident_id(birth, sex),
            sex=sex, birth_date=birth, relation=relation,
        )

    def resident_id(self, birth: date, sex: str) -> str:
        """A valid ID (GB 11643) never given before: 100 sequence numbers per birth date and sex."""
        while True:
            used = self.used_ids.setdefault((birth, sex), set())
            if len(used) < 100:
                break
            birth -= timedelta(days=1)
        sequence = self.rng.randrange(100)
        while sequence in used:
            sequence = (sequence + 1) % 100
        used.add(sequence)
        return make_resident_id(self.region, birth, sequence, sex)

    def phone(self) -> str:
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _family(people: _People, size: int, clan: str | None) -> list[MemberSpec]:
    """A household of `size` members whose relations, ages and surnames fit together."""
    rng = people.rng
    surname = people.surname(clan)
    head_sex = MALE if rng.random() < 0.88 else FEMALE
    other_sex = FEMALE if head_sex == MALE else MALE
    head_age = round(rng.triangular(24, 84, 47))
    head = people.person(surname=surname, sex=head_sex, age=head_age, relation=Relation.HEAD)
    family = [head]
    youngest_parent_age = head_age
    if rng.random() < 0.92:
        spouse_age = max(20, head_age + (rng.randint(-6, 3) if head_sex == MALE else rng.randint(-3, 6)))
        family.append(people.person(surname=people.surname(), sex=other_sex, age=spouse_age,
                                    relation=Relation.SPOUSE))
        youngest_parent_age = min(head_age, spouse_age)
    parents, first_parent_sex = 0, None
    while len(family) < size:
        kinds, weights = [], []
        if youngest_parent_age >= 21:
            kinds.append("child")
            weights.append(6)
        if parents < 2 and head_age + 20 <= 92:
            kinds.append("parent")
            weights.append(3 if head_age < 55 else 1)
        if head_age >= 48:
            kinds.append("grandchild")
            weights.append(3)
        if not kinds:
            kinds, weights = ["other"], [1]
        kind = rng.choices(kinds, weights)[0]
        if kind == "child":
            sex = rng.choice([MALE, FEMALE])
            # born when the younger parent was 20 to 42
            age = rng.randint(max(0, youngest_parent_age - 42), youngest_parent_age - 20)
            relation = Relation.SON if sex == MALE else Relation.DAUGHTER
            family.append(people.person(surname=surname, sex=sex, age=age, relation=relation))
        elif kind == "parent":
            # the father carries the head's surname, the mother her own
            sex = rng.choice([MALE, FEMALE]) if parents == 0 else (
                FEMALE if first_parent_sex == MALE else MALE)
            first_parent_sex = sex
            age = min(98, head_age + rng.randint(20, 34))
            parent_surname = surname if sex == MALE else people.surname()
            family.append(people.person(surname=parent_surname, sex=sex, age=age, relation=Relation.PARENT))
            parents += 1
        elif kind == "grandchild":
            sex = rng.choice([MALE, FEMALE])
            age = rng.randint(0, min(head_age - 44, 20))
            family.append(people.person(surname=surname, sex=sex, age=age, relation=Relation.GRANDCHILD))
        else:
            sex = rng.choice([MALE, FEMALE])
            family.append(people.person(surname=surname, sex=sex, age=rng.randint(16, 60),
                                        relation=Relation.OTHER))
    for member in family:
        if 18 <= _age(member.birth_date, people.reference) <= 65 and rng.random() < 0.45:
            member.phone = people.phone()
    if not head.phone:
        head.phone = people.phone()
    return family


def _quotas(total: int, weights: list[float]) -> list[int]:
    """Split `total` members over villages by weight (largest remainder); no village gets 1."""
    whole = sum(weights)
    shares = [total * weight / whole for weight in weights]
    quotas = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - quotas[i], reverse=True)
    for i in by_remainder[: total - sum(quotas)]:
        quotas[i] += 1
    largest = max(range(len(quotas)), key=lambda i: quotas[i]) if quotas else 0
    for i, quota in enumerate(quotas):
        if quota == 1 and i != largest:
            quotas[i] = 0
            quotas[largest] += 1
    return quotas


def _sizes(rng: random.Random, quota: int) -> list[int]:
    """Household sizes of 2–6 adding up to exactly `quota` (a quota of 1 makes one household of 1)."""
    sizes: list[int] = []
    left = quota
    while left > 0:
        size = min(rng.choices(HOUSEHOLD_SIZES[0], cum_weights=HOUSEHOLD_SIZES[1])[0], left)
        if left - size == 1:
            size = size + 1 if size < 6 else size - 1
        sizes.append(size)
        left -= size
    return sizes


def build_households(county: DemoCounty, rng: random.Random) -> None:
    config = county.config
    reference = min(date(config.year, 1, 1), timezone.localdate())
    people = _People(rng, region=config.county_code, reference=reference)
    township_names = {township.code: township.name for township in county.townships}
    weights = [rng.uniform(0.6, 1.6) for _ in county.villages]
    for village, quota in zip(county.villages, _quotas(config.members, weights)):
        clan = village.name[0] if village.name[1:2] == "家" else rng.choice(list(SURNAMES)[:20])
        for serial, size in enumerate(_sizes(rng, quota), start=1):
            members = _family(people, size, clan)
            bank_name, prefix, _ = rng.choices(BANKS, [bank[2] for bank in BANKS])[0]
            county.households.append(HouseholdSpec(
                number=f"{village.code}{serial:04d}", village_code=village.code,
                address=f"{township_names[village.township_code]}{village.name}{rng.randint(1, 9)}组{serial}号",
                phone=members[0].phone, bank_name=bank_name,
                bank_account=prefix + f"{rng.randrange(10**15):015d}", members=members,
            ))


def build_categories(county: DemoCounty, rng: random.Random) -> None:
    """About 3 % of members in subsidised groups, chosen by household: 五保 for elderly two-person
    households without children, 低保 and 贫困 for whole households."""
    budget = int(county.config.members * SUBSIDISED_SHARE)
    reference = min(date(county.config.year, 1, 1), timezone.localdate())
    elderly = [h for h in county.households
               if len(h.members) == 2 and _age(h.members[0].birth_date, reference) >= 62
               and all(m.relation in (Relation.HEAD, Relation.SPOUSE) for m in h.members)]
    elderly_ids = {id(h) for h in elderly}
    others = [h for h in county.households if id(h) not in elderly_ids]
    chosen = 0
    for household in rng.sample(elderly, len(elderly)):
        if chosen >= budget // 4:
            break
        for member in household.members:
            member.category = Category.WUBAO
        chosen += len(household.members)
    for household in rng.sample(others, len(others)):
        if chosen + len(household.members) > budget:
            continue
        if chosen >= budget - 1:
            break
        category = rng.choices([Category.DIBAO, Category.POOR], [2, 3])[0]
        for member in household.members:
            member.category = category
        chosen += len(household.members)


def _paid_date(rng: random.Random, year: int) -> date:
    """Contributions are collected from January to March, most of them early."""
    return date(year, 1, 1) + timedelta(days=int(rng.triangular(0, 89.999, 10)))


def build_enrollments(county: DemoCounty, rng: random.Random) -> None:
    """Enroll each village's members up to its target rate, then size its agricultural population
    so that enrolled / population is that rate. Subsidised members are always enrolled (civil
    affairs pays); the rest who did not pay are whole households first, then single members."""
    year = county.config.year
    by_village: dict[str, list[HouseholdSpec]] = {}
    for household in county.households:
        by_village.setdefault(household.village_code, []).append(household)
    for village in county.villages:
        households = by_village.get(village.code, [])
        members = sum(len(h.members) for h in households)
        reached = min(1.0, village.target_rate + rng.uniform(0.0, 0.012))
        to_skip = members - min(members, round(reached * members))
        skipped: set[int] = set()  # id() of the member specs left unenrolled
        candidates = [h for h in households if all(m.category == Category.ORDINARY for m in h.members)]
        for household in rng.sample(candidates, len(candidates)):
            if to_skip <= 0:
                break
            if len(household.members) <= to_skip:
                skipped.update(id(m) for m in household.members)
                to_skip -= len(household.members)
            else:
                for member in household.members[1:to_skip + 1]:
                    skipped.add(id(member))
                to_skip -= min(to_skip, len(household.members) - 1)
        enrolled = 0
        for household in households:
            paid = _paid_date(rng, year)
            for member in household.members:
                if id(member) in skipped:
                    continue
                if member.category == Category.ORDINARY:
                    member.enrollment = EnrollmentSpec(demo_contribution(), paid, Payer.SELF)
                else:
                    member.enrollment = EnrollmentSpec(demo_contribution(), date(year, 1, 20), Payer.CIVIL_AFFAIRS)
                enrolled += 1
        village.population = max(members, round(enrolled / village.target_rate)) if members else 0
    _life_events(county)
    _number_receipts(county)


def _life_events(county: DemoCounty) -> None:
    """A few members' lives, without drawing from the random generator (the rest of the county
    stays as it was): two members who did not pay die and move out of the county early in the
    year, and an enrolled grandchild becomes a baby born on 20 December, paid for 23 days later
    (covered from birth). The move to another household is written by `_demo_move`."""
    year = county.config.year
    unpaid = [m for h in county.households for m in h.members[1:] if m.enrollment is None]
    for member, status, on, reason in zip(unpaid, (MemberStatus.DIED, MemberStatus.MOVED_OUT),
                                          (date(year, 2, 10), date(year, 3, 5)), ("病故", "户口迁往外县")):
        member.status, member.status_date, member.status_reason = status, on, reason
    baby = next((m for h in county.households for m in h.members
                 if m.relation == Relation.GRANDCHILD and m.enrollment is not None), None)
    if baby is None:
        return
    used = {m.id_number for m in county.members()}
    born = date(year - 1, 12, 20)
    sequence = 0
    while make_resident_id(county.config.county_code, born, sequence, baby.sex) in used:
        sequence += 1
    baby.birth_date, baby.id_number = born, make_resident_id(county.config.county_code, born, sequence, baby.sex)
    baby.enrollment.paid_date = born + timedelta(days=23)


@functools.cache
def demo_contribution() -> Decimal:
    """The individual contribution of the demo's policy (`contribution.individual`)."""
    return parse_policy(json.loads(POLICY_FIXTURE.read_text(encoding="utf-8"))).contribution.individual


def _number_receipts(county: DemoCounty) -> None:
    """Receipts numbered per township in the order they were paid: SJ (own payment) or MZ (civil
    affairs) + year + township's 3 digits + serial."""
    year = county.config.year
    rows = []
    for household in county.households:
        for member in household.members:
            if member.enrollment is not None:
                rows.append((household.village_code[:9], member.enrollment.payer,
                             member.enrollment.paid_date, household.number, member.id_number, member))
    serials: dict[tuple[str, str], int] = {}
    for township_code, payer, _, _, _, member in sorted(rows, key=lambda row: row[:5]):
        key = (township_code, payer)
        serials[key] = serials.get(key, 0) + 1
        prefix = "SJ" if payer == Payer.SELF else "MZ"
        member.enrollment.receipt_no = f"{prefix}{year}{township_code[6:]}{serials[key]:06d}"


# --- facilities and users ---------------------------------------------------------------------


def build_facilities(county: DemoCounty, rng: random.Random) -> None:
    """One health centre per township (青山乡's suspended), two county hospitals, one municipal
    and one provincial hospital, all with agreements covering the year."""
    year = county.config.year
    start, end = date(year, 1, 1), date(year, 12, 31)
    for index, township in enumerate(county.townships, start=1):
        suspended = township.name == LOW_TOWNSHIP
        county.facilities.append(FacilitySpec(
            code=f"F{index:03d}", name=f"{township.name}卫生院", level=Level.TOWNSHIP,
            township_code=township.code, agreement_start=start, agreement_end=end,
            status=FacilityStatus.SUSPENDED if suspended else FacilityStatus.ACTIVE,
            suspended_from=date(year, 3, 1) if suspended else None,
            suspension_reason="稽查发现挂床住院、分解住院，暂停定点资格限期整改" if suspended else "",
        ))
    seat = county.townships[0].code
    name = county.config.county_name
    county.facilities += [
        FacilitySpec("F101", f"{name}人民医院", Level.COUNTY, seat, date(year - 1, 1, 1), date(year + 1, 12, 31)),
        FacilitySpec("F102", f"{name}中医医院", Level.COUNTY, seat, date(year - 1, 1, 1), date(year + 1, 12, 31)),
        FacilitySpec("F201", "市中心医院", Level.MUNICIPAL, None, date(year - 1, 7, 1), date(year + 1, 6, 30)),
        FacilitySpec("F301", "省人民医院", Level.PROVINCIAL, None, date(year - 1, 1, 1), date(year + 2, 12, 31)),
    ]
    # where each facility's settlement statements are paid (no random draw: the rest of the county
    # stays as it was for a given seed)
    for number, facility in enumerate(county.facilities, start=1):
        facility.bank_name = "农村商业银行" if facility.level == Level.TOWNSHIP else "中国农业银行"
        facility.bank_account = f"6230581{number:012d}"
