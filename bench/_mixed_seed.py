"""The mixed load's county: seeded once per database, reset before each run, read back as the
`World` the virtual users act in (bench/mixed_load.py)."""

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PASSWORD = "Bench-mixed-2026!"
TOWNSHIPS = [("420102101", "城关镇"), ("420102102", "新店镇"), ("420102103", "石桥乡")]
VILLAGE_NAMES = ["东湖村", "西岭村", "南坪村", "北山村", "柳树村", "杨家湾村", "石门村", "桃园村",
                 "青龙村", "白沙村", "马鞍村", "双河村"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "建华", "秀英", "桂兰", "志强", "海燕", "国平", "玉梅", "德明", "春花", "红军", "小红",
         "文斌", "丽娟", "长林", "翠英", "永刚", "淑珍", "金山", "凤英"]
DIAGNOSES = [("J18.9", "肺炎"), ("I10", "高血压"), ("K80.2", "胆囊结石"), ("E11.9", "2型糖尿病"),
             ("S72.0", "股骨颈骨折"), ("I63.9", "脑梗死")]
POOLS = 8  # member i belongs to pool i % 8: 0 paid last month (notices), 1 backlog, 2-4 clerks, 5-7 API
API_PREFIX = "MX-F001-"


def today() -> date:
    from django.utils import timezone

    return timezone.localdate()


# --- seed ---------------------------------------------------------------------------------------


def seed_once(members: int, api_clients: int) -> None:
    """Places, members (households of three), facilities, the policy, the users. Kept between runs."""
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, User
    from enrollment.models import Enrollment, Household, Member
    from enrollment.rules import FEMALE, MALE, make_resident_id
    from facilities.models import Facility
    from fund.tasks import last_month
    from places.models import Township, Village
    from policy.models import PolicyVersion
    from policy.services import policy_load

    day = today()
    with transaction.atomic():
        for year in sorted({day.year, last_month(day)[0]}):
            if not PolicyVersion.objects.filter(year=year).exists():
                document = json.loads((ROOT / "policy" / "fixtures" / "policy-2026.json").read_text("utf-8"))
                document["year"] = year
                policy_load(data=document)
        villages = []
        for t, (code, name) in enumerate(TOWNSHIPS):
            township, _ = Township.objects.get_or_create(code=code, defaults={"name": name})
            for v in range(4):
                village, _ = Village.objects.get_or_create(
                    code=f"{code}2{v:02d}", defaults={"name": VILLAGE_NAMES[t * 4 + v], "township": township})
                villages.append(village)
        first = Township.objects.get(code=TOWNSHIPS[0][0])
        agreement = {"agreement_start": date(day.year - 1, 1, 1), "agreement_end": date(day.year + 2, 12, 31)}
        f001, _ = Facility.objects.get_or_create(code="F001", defaults={
            "name": "县人民医院", "level": "county", "township": first, **agreement})
        Facility.objects.get_or_create(code="F002", defaults={
            "name": "城关镇卫生院", "level": "township", "township": first, **agreement})

        have = Member.objects.count()
        if have < members:
            numbers = {f"M{n // 3:07d}" for n in range(have, members)}
            existing = {h.number: h for h in Household.objects.filter(number__in=numbers)}
            Household.objects.bulk_create([
                Household(number=number, card_number=f"MK{number[1:]}", village=villages[int(number[1:]) % 12],
                          address=f"{VILLAGE_NAMES[int(number[1:]) % 12]}{int(number[1:]) % 90 + 1}组")
                for number in sorted(numbers - existing.keys())])
            households = {h.number: h for h in Household.objects.filter(number__in=numbers)}
            people = []
            for n in range(have, members):
                sex = MALE if n % 2 else FEMALE
                born = date(1940, 1, 1) + timedelta(days=n // 50)
                relation = ["head", "spouse", "son" if sex == MALE else "daughter"][n % 3]
                people.append(Member(household=households[f"M{n // 3:07d}"],
                                     name=SURNAMES[(n // 3) % 20] + GIVEN[n % 20],
                                     id_number=make_resident_id("420102", born, n % 50, sex), sex=sex,
                                     birth_date=born, relation=relation, category="ordinary"))
            people = Member.objects.bulk_create(people, batch_size=5000)
            heads = []
            for person in people:
                if person.relation == "head":
                    person.household.head = person
                    heads.append(person.household)
            Household.objects.bulk_update(heads, ["head"], batch_size=2000)
            years = sorted({day.year, last_month(day)[0]})
            Enrollment.objects.bulk_create([
                Enrollment(member=person, year=year, contribution=Decimal("380.00"),
                           receipt_no=f"MR{year}{person.pk:08d}", paid_date=date(year, 1, 10))
                for person in people for year in years], batch_size=5000)
            print(f"seeded {members - have} enrolled members")

        def user(username, role, **fields):
            found, created = User.objects.get_or_create(username=username, defaults={"role": role, **fields})
            if created:
                found.set_password(PASSWORD)
                found.save(update_fields=["password"])
            return found

        for code, name in TOWNSHIPS:
            township = Township.objects.get(code=code)
            for n in (1, 2):
                user(f"mixed-clerk-{code}-{n}", Role.TOWNSHIP_CLERK, township=township, full_name=f"{name}经办员{n}")
        user("mixed-reviewer", Role.REVIEWER, full_name="审核员")
        user("mixed-approver", Role.APPROVER, full_name="审批员")
        user("mixed-county", Role.FUND_OFFICER, full_name="基金管理员")
        for n in range(1, api_clients + 1):
            clerk = user(f"mixed-facility-{n}", Role.FACILITY_CLERK, facility=f001, full_name=f"结算员{n}")
            Token.objects.get_or_create(user=clerk)


def reset_run(backlog: int) -> dict:
    """Empty claims and notices; post last month's paid claims; enter the reviewers' backlog."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from claims import services
    from claims.eligibility import parse_facts
    from claims.models import Channel, Claim, ClaimEvent, ClaimStatus, CostLine, MemberYearCap
    from enrollment.models import Member
    from facilities.models import Facility
    from fund.tasks import last_month
    from policy.models import PolicyVersion
    from publicity.models import Notice, NoticeLine
    from publicity.services import notices_publish

    tables = [NoticeLine._meta.db_table, Notice._meta.db_table, Claim.history.model._meta.db_table,
              Claim._meta.db_table, CostLine._meta.db_table, ClaimEvent._meta.db_table,
              MemberYearCap._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    day = today()
    year, month = last_month(day)
    policy = PolicyVersion.objects.get(year=year)
    f001 = Facility.objects.get(code="F001")
    members = list(Member.objects.select_related("household__village__township").order_by("pk"))
    paid = [m for i, m in enumerate(members) if i % POOLS == 0]
    tz = timezone.get_current_timezone()
    claims = []
    for n, member in enumerate(paid):
        admission = date(year, month, 1) + timedelta(days=n % 20)
        total = Decimal(3000 + 37 * n).quantize(Decimal("0.01")) + Decimal("0.45")
        excluded = (total * Decimal("0.1")).quantize(Decimal("0.01"))
        reimbursable = total - excluded
        compensation = (reimbursable * Decimal("0.6")).quantize(Decimal("0.01"))
        claims.append(Claim(
            member=member, township_id=member.household.village.township_id, facility=f001,
            year=admission.year, channel=Channel.FACILITY, invoice_no=f"MP-{year}{month:02d}-{n:05d}",
            admission_date=admission, discharge_date=admission + timedelta(days=3 + n % 5),
            diagnosis_code="J18.9", total_cost=total, non_reimbursable_cost=excluded,
            reimbursable_cost=reimbursable, compensation=compensation, patient_pays=total - compensation,
            rule="bench", breakdown={}, policy=policy, policy_revision=policy.revision,
            status=ClaimStatus.PAID, paid_at=datetime(year, month, 1 + n % 28, 10, 0, tzinfo=tz)))
    Claim.objects.bulk_create(claims)
    notices = notices_publish(year=year, month=month)

    # the reviewers' backlog: township-office claims (real services), a third left submitted
    reviewer = User.objects.get(username="mixed-reviewer")
    clerks = {code: User.objects.get(username=f"mixed-clerk-{code}-1") for code, _ in TOWNSHIPS}
    waiting = [m for i, m in enumerate(members) if i % POOLS == 1][:backlog]
    admission = day - timedelta(days=40)
    for n, member in enumerate(waiting):
        township = member.household.village.township.code
        facts = parse_facts({
            "id_number": member.id_number, "facility": "F001", "invoice_no": f"MB-{n:05d}",
            "admission_date": admission.isoformat(), "discharge_date": (admission + timedelta(days=5)).isoformat(),
            "total_cost": "4200.00", "non_reimbursable_cost": "300.00", "referred": True, "diagnosis": "I10",
            "delivery": None})
        claim = services.claim_submit(user=clerks[township], facts=facts, channel=Channel.TOWNSHIP, cost_lines=[
            {"category": "drugs", "amount": "2400.00", "in_catalog": True},
            {"category": "beds", "amount": "1500.00", "in_catalog": True},
            {"category": "materials", "amount": "300.00", "in_catalog": False}])
        if n % 3:
            services.claim_review(user=reviewer, claim=claim)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"notices": len(notices), "paid": len(claims), "backlog": len(waiting),
            "reviewed": sum(1 for n in range(len(waiting)) if n % 3)}


@dataclass
class World:
    """What the virtual users need to know (read once, before the load)."""
    port: int
    villages: list[tuple[str, str]]                 # (village code, township code)
    lookup_targets: list[tuple[str, str]]           # (id number, name) with a paid claim
    search_targets: dict[str, list[tuple[str, str, int]]]  # township -> (id number, name, household pk)
    clerk_pool: dict[str, list[tuple[int, str]]]    # township -> (member pk, id number)
    api_pool: list[str]                             # id numbers
    facilities: list[int]                           # facility pks for the entry form
    tokens: list[str]
    clerks: dict[str, list[str]]                    # township -> usernames
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_clerk: dict[str, int] = field(default_factory=dict)
    next_api: int = 0

    def clerk_member(self, township: str) -> tuple[int, str, int]:
        """A member of the township's clerk pool and a stay window no other claim of the run uses."""
        with self.lock:
            k = self.next_clerk.get(township, 0)
            self.next_clerk[township] = k + 1
        pool = self.clerk_pool[township]
        return (*pool[k % len(pool)], k // len(pool))

    def api_member(self) -> tuple[int, str, int]:
        with self.lock:
            k = self.next_api
            self.next_api += 1
        return k, self.api_pool[k % len(self.api_pool)], k // len(self.api_pool)


def read_world(port: int, api_clients: int) -> World:
    from rest_framework.authtoken.models import Token

    from enrollment.models import Member
    from facilities.models import Facility
    from places.models import Village

    rows = list(Member.objects.order_by("pk").values_list(
        "pk", "id_number", "name", "household_id", "household__village__township__code"))
    search, clerk_pool, api_pool, lookup = {}, {}, [], []
    for i, (pk, id_number, name, household, township) in enumerate(rows):
        search.setdefault(township, []).append((id_number, name, household))
        if i % POOLS == 0:
            lookup.append((id_number, name))
        elif i % POOLS in (2, 3, 4):
            clerk_pool.setdefault(township, []).append((pk, id_number))
        elif i % POOLS in (5, 6, 7):
            api_pool.append(id_number)
    tokens = [Token.objects.get(user__username=f"mixed-facility-{n}").key for n in range(1, api_clients + 1)]
    return World(
        port=port, villages=list(Village.objects.order_by("code").values_list("code", "township__code")),
        lookup_targets=lookup, search_targets=search, clerk_pool=clerk_pool, api_pool=api_pool,
        facilities=list(Facility.objects.order_by("code").values_list("pk", flat=True)), tokens=tokens,
        clerks={code: [f"mixed-clerk-{code}-1", f"mixed-clerk-{code}-2"] for code, _ in TOWNSHIPS})


