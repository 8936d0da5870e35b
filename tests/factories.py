"""factory_boy factories shared by all tests."""
from datetime import date
from decimal import Decimal

import factory

from accounts.models import Role, User
from enrollment.models import Category, Enrollment, Household, Member, Payer, Relation
from enrollment.rules import FEMALE, MALE, make_resident_id
from facilities.models import Facility, FacilityStatus, Level
from places.models import Township, Village, VillagePopulation


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township
        django_get_or_create = ("code",)

    # codes 420102300–420102999 (the fixtures use 100 and 200); wraps so the 9 digits always hold
    code = factory.Sequence(lambda n: f"420102{300 + n % 700:03d}")
    name = factory.Sequence(lambda n: f"第{n}乡")


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village
        django_get_or_create = ("code",)

    township = factory.SubFactory(TownshipFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.township.code}{200 + n % 800:03d}")
    name = factory.Sequence(lambda n: f"第{n}村")


class VillagePopulationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VillagePopulation

    village = factory.SubFactory(VillageFactory)
    year = 2026
    population = 100


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    village = factory.SubFactory(VillageFactory)
    number = factory.Sequence(lambda n: f"H{n:08d}")
    card_number = factory.LazyAttribute(lambda o: f"HZ{o.number}")
    address = factory.LazyAttribute(lambda o: f"{o.village.name}1组")
    phone = "13800000000"
    bank_name = "农村信用社"
    bank_account = factory.Sequence(lambda n: f"6228{n:015d}")


def _id_for(n: int, sex: str) -> str:
    born = date(1950 + n % 60, 1 + n % 12, 1 + n % 28)
    return make_resident_id("420102", born, n, sex)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"张{'三四五六七八九'[n % 7]}{'明华国英'[n % 4]}")
    sex = factory.Sequence(lambda n: MALE if n % 2 else FEMALE)
    # sequence numbers spread over several birth dates so IDs never collide
    id_number = factory.LazyAttributeSequence(lambda o, n: _id_for(n * 7 + 3, o.sex))
    birth_date = factory.LazyAttribute(lambda o: date(int(o.id_number[6:10]), int(o.id_number[10:12]), int(o.id_number[12:14])))
    relation = Relation.HEAD
    category = Category.ORDINARY


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    member = factory.SubFactory(MemberFactory)
    year = 2026
    contribution = Decimal("380.00")
    receipt_no = factory.Sequence(lambda n: f"R2026{n:07d}")
    paid_date = date(2026, 1, 15)
    payer = Payer.SELF


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"F{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}卫生院")
    level = Level.TOWNSHIP
    township = factory.SubFactory(TownshipFactory)
    agreement_start = date(2026, 1, 1)
    agreement_end = date(2026, 12, 31)
    status = FacilityStatus.ACTIVE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.REVIEWER
    password = factory.django.Password("pass-1234-word")


# --- claims (appended by the claims storage work) ------------------------------------------------
def _policy_document_2026():
    import json
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parents[1] / "policy" / "fixtures" / "policy-2026.json")
                      .read_text(encoding="utf-8"))


def _now():
    from django.utils import timezone

    return timezone.now()


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    """The contract's example policy for 2026 (one row per year)."""

    class Meta:
        model = "policy.PolicyVersion"
        django_get_or_create = ("year",)

    year = 2026
    name = "2026 inpatient compensation plan"
    revision = 1
    document = factory.LazyFunction(_policy_document_2026)
    loaded_at = factory.LazyFunction(_now)


class ClaimFactory(factory.django.DjangoModelFactory):
    """A claim row as stored (figures given, not valued): for selectors, reports and pages. To
    test valuation, eligibility or the workflow, go through claims.services instead."""

    class Meta:
        model = "claims.Claim"

    member = factory.SubFactory(MemberFactory)
    facility = factory.SubFactory(FacilityFactory)
    # the member's township when the claim is made, as claims.services sets it
    township = factory.LazyAttribute(lambda claim: claim.member.household.village.township)
    year = 2026
    # a claim brought to the township office, paid to the household by the cashier's batches;
    # facility-channel claims (paid on the facility's statement) say so
    channel = "township"
    invoice_no = factory.Sequence(lambda n: f"INV-2026-{n:06d}")
    admission_date = date(2026, 3, 1)
    discharge_date = date(2026, 3, 8)
    diagnosis_code = "J18.9"
    diagnosis_text = "肺炎"
    total_cost = Decimal("1100.00")
    non_reimbursable_cost = Decimal("100.00")
    reimbursable_cost = Decimal("1000.00")
    compensation = Decimal("810.00")
    patient_pays = Decimal("290.00")
    rule = "formula"
    breakdown = factory.LazyFunction(lambda: {
        "rule": "formula", "reimbursable": "1000.00", "deductible": "100.00",
        "bands": [{"from": "100.00", "to": "1000.00", "ratio": "0.90", "amount": "810.00"}],
        "before_cap": "810.00", "cap_remaining": "200000.00"})
    policy = factory.SubFactory(PolicyVersionFactory)
    policy_revision = 1
    status = "submitted"


class InspectionFactory(factory.django.DjangoModelFactory):
    """An inspection of a facility (监督检查), with no penalty unless given."""

    class Meta:
        model = "oversight.Inspection"

    facility = factory.SubFactory(FacilityFactory)
    date = date(2026, 3, 20)
    inspectors = "县合管办 张三、李四"
    findings = "抽查病历 20 份，发现 2 份挂床住院"
    penalty_amount = Decimal("0.00")
    deduct_from_settlements = False
