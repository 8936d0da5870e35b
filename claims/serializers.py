"""Shapes of the facility REST API (/api/v1/, claims.api): input checked here, then handed to
`claims.services` as `ClaimFacts`; output as the contract writes it (decimal strings, ISO dates).

Money fields are `DecimalField(max_digits=18, decimal_places=2)`: a JSON string "123.45" or a
number with at most two decimals is accepted (123.456 or 0.1+0.2 are refused), and every amount
goes out as a decimal string.
"""
from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from core.money import ZERO

from .eligibility import ClaimFacts
from .models import Channel, ClaimStatus, CostCategory, Delivery

MONEY = {"max_digits": 18, "decimal_places": 2, "coerce_to_string": True}

# Which contract refusal code a field's validation error becomes (anything else: bad_input).
FIELD_CODES = {
    "admission_date": "bad_dates",
    "discharge_date": "bad_dates",
    "total_cost": "bad_amounts",
    "non_reimbursable_cost": "bad_amounts",
    "cost_lines": "bad_amounts",
}


def money_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(min_value=Decimal("0"), **MONEY, **kwargs)


class QuoteInputSerializer(serializers.Serializer):
    """The contract's quote_claims input line. `facility` defaults to the caller's facility."""

    ref = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200,
                                help_text="any string, echoed back")
    id_number = serializers.CharField(max_length=18, help_text="参合人员身份证号 (18 characters)")
    facility = serializers.CharField(required=False, max_length=20,
                                     help_text="facility code; defaults to (and must be) your own")
    invoice_no = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=60)
    admission_date = serializers.DateField(input_formats=["%Y-%m-%d"])
    discharge_date = serializers.DateField(input_formats=["%Y-%m-%d"])
    total_cost = money_field()
    non_reimbursable_cost = money_field(required=False, default=ZERO)
    referred = serializers.BooleanField(required=False, default=False)
    referral_no = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=30,
                                        help_text="转诊单号: a referral record covering the stay (the claim then "
                                                  "counts as referred); refused as bad_referral when it does not")
    diagnosis = serializers.CharField(required=False, allow_blank=True, default="", max_length=20,
                                      help_text="ICD-10 code, e.g. K35.8")
    diagnosis_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    delivery = serializers.ChoiceField(choices=Delivery.choices, required=False, allow_null=True,
                                       default=None)

    def to_facts(self, *, facility_code: str) -> ClaimFacts:
        data = self.validated_data
        return ClaimFacts(
            id_number=data["id_number"].strip().upper(),
            facility=facility_code,
            admission_date=data["admission_date"],
            discharge_date=data["discharge_date"],
            total_cost=data["total_cost"],
            non_reimbursable_cost=data["non_reimbursable_cost"],
            referred=data["referred"],
            diagnosis=(data.get("diagnosis") or "").strip().upper(),
            diagnosis_text=(data.get("diagnosis_text") or "").strip(),
            delivery=data.get("delivery"),
            invoice_no=(data.get("invoice_no") or "").strip() or None,
            referral_no=(data.get("referral_no") or "").strip() or None,
        )


class CostLineSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CostCategory.choices)
    amount = money_field()
    in_catalog = serializers.BooleanField(required=False, default=True)


class SettleInputSerializer(QuoteInputSerializer):
    """A settlement: the quote's facts with the invoice number required, and the bill's lines by
    category (optional; when given they must add up to the total and the non-reimbursable cost)."""

    invoice_no = serializers.CharField(max_length=60, help_text="the facility's invoice number; "
                                       "settling again with the same one returns the same claim")
    cost_lines = CostLineSerializer(many=True, required=False)

    def cost_lines_for_service(self) -> list[dict]:
        return [{"category": line["category"], "amount": str(line["amount"]),
                 "in_catalog": line["in_catalog"]}
                for line in self.validated_data.get("cost_lines", [])]


class BandSerializer(serializers.Serializer):
    # "from" is a Python keyword: declared below via get_fields
    to = serializers.CharField()
    ratio = serializers.CharField()
    amount = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        fields = {"from": serializers.CharField(), **fields}
        return fields


class BreakdownSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=["formula", "single_disease", "delivery"])
    reimbursable = serializers.CharField()
    deductible = serializers.CharField()
    bands = BandSerializer(many=True)
    before_cap = serializers.CharField()
    cap_remaining = serializers.CharField()


class QuoteOutputSerializer(serializers.Serializer):
    """The contract's quote_claims output line (documentation only; the view returns
    `Quote.as_contract`)."""

    ref = serializers.CharField(allow_null=True)
    ok = serializers.BooleanField()
    compensation = serializers.CharField()
    patient_pays = serializers.CharField()
    breakdown = BreakdownSerializer()


class RefusalSerializer(serializers.Serializer):
    """A refusal: `error` is one of the contract's codes (not_enrolled, facility_not_designated,
    facility_suspended, bad_dates, bad_amounts, overlapping_stay, duplicate_invoice,
    unknown_member, unknown_facility, no_policy, not_yet_covered, member_deceased) or bad_input for a request that is not a claim."""

    error = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False)


class ClaimSerializer(serializers.Serializer):
    """A claim as the facility or the county reads it; `breakdown` is the stored one (the
    contract's object with some explanatory additions). A plain serializer with declared fields:
    a ModelSerializer would rebuild its fields from the model on every response."""

    id = serializers.IntegerField()
    invoice_no = serializers.CharField()
    facility = serializers.CharField(source="facility.code")
    id_number = serializers.CharField(source="member.id_number")
    member_name = serializers.CharField(source="member.name")
    year = serializers.IntegerField(help_text="scheme year (of the discharge)")
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=ClaimStatus.choices)
    admission_date = serializers.DateField()
    discharge_date = serializers.DateField()
    diagnosis_code = serializers.CharField()
    diagnosis_text = serializers.CharField()
    referred = serializers.BooleanField()
    referral_no = serializers.CharField(source="referral.number", allow_null=True, default=None,
                                        help_text="转诊单号: the referral record the claim rests on, if any")
    delivery = serializers.ChoiceField(choices=Delivery.choices, allow_null=True)
    total_cost = serializers.DecimalField(**MONEY)
    non_reimbursable_cost = serializers.DecimalField(**MONEY)
    reimbursable_cost = serializers.DecimalField(**MONEY)
    compensation = serializers.DecimalField(**MONEY)
    patient_pays = serializers.DecimalField(**MONEY)
    rule = serializers.ChoiceField(choices=["formula", "single_disease", "delivery"])
    breakdown = serializers.JSONField()
    policy_year = serializers.IntegerField(source="policy.year")
    policy_revision = serializers.IntegerField()
    cost_lines = CostLineSerializer(many=True, source="cost_lines.all")
    created_at = serializers.DateTimeField()


class ClaimPageSerializer(serializers.Serializer):
    """One page of GET /api/v1/claims/ (claims.api.ClaimsPagination, page-number pagination):
    the count of every claim matching, the links to the pages around, and this page's claims."""

    count = serializers.IntegerField(help_text="claims matching, on every page")
    next = serializers.URLField(allow_null=True, help_text="the next page, or null on the last")
    previous = serializers.URLField(allow_null=True, help_text="the previous page, or null on the first")
    results = ClaimSerializer(many=True)


class NotFoundSerializer(serializers.Serializer):
    """DRF's answer to an unknown object or page: a claim that does not exist or is not in your
    scope (another facility's), or a page past the last."""

    detail = serializers.CharField()


class MemberEligibilitySerializer(serializers.Serializer):
    id_number = serializers.CharField()
    name = serializers.CharField()
    sex = serializers.CharField()
    birth_date = serializers.DateField()
    category = serializers.CharField(help_text="ordinary, wubao, dibao or poor")
    category_display = serializers.CharField()
    township = serializers.CharField(help_text="township code")
    enrolled_years = serializers.ListField(child=serializers.IntegerField(),
                                           help_text="scheme years with a recorded contribution")
    enrolled = serializers.BooleanField(help_text="enrolled for the year asked (?year=, default this year)")
    year = serializers.IntegerField()
