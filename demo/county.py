"""The demo county behind `seed_demo`: realistic, deterministic, built in two stages.

1. Build (pure Python, no ORM): `demo_county_build(config)` runs `BUILDERS` in order over one
   `random.Random(config.seed)`; each builder fills part of a `DemoCounty` (enrollment.demo) made of
   plain dataclasses. The same config always gives the same county, value for value.
2. Write: `demo_county_write(county)` runs `WRITERS` in order inside one transaction.

Each app offers its part as a small demo API (`<app>.demo`: builders that take the county and the
random generator, writers that take the write context); this module, the top layer, puts them in
order. `demo_county_seed(config=...)` does both stages.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Role, User
from claims import demo as claims_demo
from core.errors import NcmsError
from enrollment import demo as enrollment_demo
from enrollment import demo_writing as enrollment_writing
from enrollment.demo import DemoConfig, DemoCounty, UserSpec
from enrollment.demo_writing import WriteContext
from enrollment.models import Enrollment
from fund import demo as fund_demo
from ledger.services import contributions_book_bulk, income_record
from oversight import demo as oversight_demo
from places.models import Township
from policy.models import PolicyVersion
from publicity import demo as publicity_demo

DEMO_PASSWORD = "demo12345"

__all__ = ["BUILDERS", "DEMO_PASSWORD", "DEMO_USERNAMES", "WRITERS", "DemoConfig", "demo_county_build",
           "demo_county_seed", "demo_county_write"]


COUNTY_HOSPITAL = "F101"  # where the demo facility clerk settles


def build_users(county: DemoCounty, rng: random.Random) -> None:
    """The demo logins (password demo12345), one per role; the README lists them."""
    first, second = county.townships[0].code, county.townships[1].code
    county.users += [
        UserSpec("clerk", Role.TOWNSHIP_CLERK, "王芳", township_code=first),
        UserSpec("clerk2", Role.TOWNSHIP_CLERK, "陈静", township_code=second),
        UserSpec("facility", Role.FACILITY_CLERK, "刘洋", facility_code=COUNTY_HOSPITAL),
        UserSpec("reviewer", Role.REVIEWER, "张伟"),
        UserSpec("approver", Role.APPROVER, "赵敏"),
        UserSpec("cashier", Role.CASHIER, "孙丽"),
        UserSpec("fund", Role.FUND_OFFICER, "周强"),
        UserSpec("auditor", Role.AUDITOR, "吴刚"),
        UserSpec("admin", Role.ADMINISTRATOR, "系统管理员", is_staff=True, is_superuser=True),
    ]


DEMO_USERNAMES = ["clerk", "clerk2", "facility", "reviewer", "approver", "cashier", "fund", "auditor", "admin"]

Builder = Callable[[DemoCounty, random.Random], None]
# In order: each builder may use what the ones before it built. Claims come after the people and
# facilities they name; the flag patterns (split stays, padded bills) after the claims they copy.
BUILDERS: list[Builder] = [
    enrollment_demo.build_places, enrollment_demo.build_households, enrollment_demo.build_categories,
    enrollment_demo.build_enrollments, enrollment_demo.build_facilities, build_users,
    claims_demo.build_claims, oversight_demo.build_flag_patterns,
]


def demo_county_build(config: DemoConfig) -> DemoCounty:
    """The whole demo county as plain values; deterministic by config.seed."""
    rng = random.Random(config.seed)
    county = DemoCounty(config=config)
    for builder in BUILDERS:
        builder(county, rng)
    return county


def write_users(ctx: WriteContext) -> None:
    """Creates the demo users that do not exist yet; an existing user of that name is left alone."""
    specs = ctx.county.users
    existing = {u.username: u for u in User.objects.filter(username__in=[s.username for s in specs])}
    password = make_password(DEMO_PASSWORD)  # one hash for the shared demo password
    new = [
        User(username=s.username, password=password, role=s.role, full_name=s.full_name,
             township_id=ctx.townships[s.township_code] if s.township_code else None,
             facility_id=ctx.facilities[s.facility_code] if s.facility_code else None,
             is_staff=s.is_staff, is_superuser=s.is_superuser)
        for s in specs if s.username not in existing
    ]
    for user in User.objects.bulk_create(new):
        existing[user.username] = user
    ctx.users = existing
    ctx.summary["users"] = len(new)


# When each level's subsidy for the enrolled members reaches the special account (January).
SUBSIDY_DAYS = {"central": 10, "provincial": 15, "county": 20}


def write_fund_income(ctx: WriteContext) -> None:
    """The year's fund (after the policy, for the risk reserve): the members' recorded
    contributions booked as individual income, one ledger transaction per paid date, as a roster
    import does; then the policy's subsidies per enrolled member, one income per level, in January."""
    year = ctx.county.config.year
    amounts = dict(Enrollment.objects.filter(year=year).values_list("paid_date")
                   .annotate(total=Sum("contribution")).values_list("paid_date", "total"))
    contributions_book_bulk(user=None, year=year, amounts_by_date=amounts, ref_prefix="demo")
    ctx.summary["contribution_dates"] = len(amounts)
    enrolled = Enrollment.objects.filter(year=year).count()
    version = PolicyVersion.objects.filter(year=year).first()
    if not enrolled or version is None:
        return
    for source, amount in version.policy().contribution.subsidy.items():
        if amount > 0:
            on = min(date(year, 1, SUBSIDY_DAYS.get(source, 25)), timezone.localdate())
            income_record(user=ctx.users["fund"], year=year, date=on, source=source, amount=amount * enrolled,
                          ref=f"演示-{source}-补助-{year}")


Writer = Callable[[WriteContext], None]
# In order: places, facilities and users first (the rest points at them); the policy and claims
# (claims.demo) before the fund's income (the reserve rate comes from the policy); the
# flags after the claims; the payouts, notices and cases of publicity; the policy drafts last,
# tried on every claim written before them.
WRITERS: list[Writer] = [
    enrollment_writing.write_places, enrollment_writing.write_facilities, write_users,
    enrollment_writing.write_households, claims_demo.write_claims, write_fund_income,
    oversight_demo.write_flags, publicity_demo.write_publicity, fund_demo.write_simulation,
]


@transaction.atomic
def demo_county_write(county: DemoCounty) -> dict[str, int]:
    """Write a built county into an empty database, all in one transaction; returns row counts."""
    if Township.objects.exists():
        raise NcmsError(
            "数据库中已有乡镇数据，演示数据只能装入空数据库（可加 --if-empty 跳过，或删除 var/db.sqlite3 后重建）",
            code="not_empty",
        )
    ctx = WriteContext(county=county, now=timezone.now())
    for writer in WRITERS:
        writer(ctx)
    return ctx.summary


def demo_county_seed(*, config: DemoConfig) -> dict[str, int]:
    """Build the demo county of `config` and write it; returns row counts."""
    return demo_county_write(demo_county_build(config))


def participation(county: DemoCounty) -> dict[str, tuple[int, int]]:
    """(enrolled, population) per village code, of the built county."""
    enrolled: dict[str, int] = {}
    for household in county.households:
        count = sum(1 for m in household.members if m.enrollment is not None)
        enrolled[household.village_code] = enrolled.get(household.village_code, 0) + count
    return {v.code: (enrolled.get(v.code, 0), v.population) for v in county.villages}
