"""The valuation rules (claims.rules), policy parsing (claims.policy) and the date checks
(claims.eligibility), no database.

Worked examples use the contract's example policy (policy/fixtures/policy-2026.json).
"""
import copy
import json
import re
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from claims.eligibility import check_dates, check_deadline, claim_deadline, parse_facts, stays_overlap
from claims.rules import check_amounts, ratio_text, value_claim
from core.errors import NcmsError
from policy.rules import CATEGORIES, LEVELS, PolicyInvalid, parse_policy

FIXTURE = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "policy-2026.json"
DOCUMENT = json.loads(FIXTURE.read_text(encoding="utf-8"))
POLICY = parse_policy(DOCUMENT)


def value(policy=POLICY, *, level="county", category="ordinary", total="0.00", excluded="0.00",
          referred=True, diagnosis="J18.9", delivery=None, used="0.00"):
    return value_claim(
        policy=policy, level=level, category=category, total_cost=Decimal(total),
        non_reimbursable_cost=Decimal(excluded), referred=referred, diagnosis=diagnosis,
        delivery=delivery, used_this_year=Decimal(used),
    )


def policy_with(**changes):
    document = copy.deepcopy(DOCUMENT)
    document.update(changes)
    return parse_policy(document)


# --- parsing the contract's example ----------------------------------------------------------

def test_contract_example_policy_parses_to_exact_values():
    assert POLICY.year == 2026
    assert POLICY.name == "2026 inpatient compensation plan"
    assert POLICY.contribution.individual == Decimal("380.00")
    assert POLICY.contribution.subsidy == {"central": Decimal("420.00"), "provincial": Decimal("150.00"),
                                           "county": Decimal("70.00")}
    assert POLICY.contribution.total == Decimal("1020.00")
    assert POLICY.risk_reserve_rate == Decimal("0.03")
    assert POLICY.annual_cap == Decimal("200000.00")
    assert POLICY.claim_deadline_days == 90
    county = POLICY.levels["county"]
    assert county.deductible == Decimal("400.00")
    assert [(band.up_to, band.ratio) for band in county.bands] == [(Decimal("10000.00"), Decimal("0.75")),
                                                                   (None, Decimal("0.80"))]
    assert POLICY.unreferred_reduction.levels == {"municipal", "provincial"}
    assert POLICY.unreferred_reduction.ratio_points == Decimal("0.10")
    assert POLICY.groups["wubao"].waive_deductible is True
    assert POLICY.groups["dibao"].waive_deductible is False
    assert POLICY.groups["poor"].ratio_points == Decimal("0.05")
    assert POLICY.delivery == {"normal": Decimal("500.00"), "caesarean": Decimal("1200.00")}
    [appendicitis] = POLICY.single_disease
    assert (appendicitis.code, appendicitis.level, appendicitis.payment) == ("K35", "county", Decimal("2400.00"))


def test_levels_and_categories_match_the_models():
    from enrollment.models import Category
    from facilities.models import Level

    assert set(LEVELS) == set(Level.values)
    assert set(CATEGORIES) == set(Category.values)


# --- step 4: the formula ---------------------------------------------------------------------

def test_township_pays_90_percent_after_100_deductible():
    valuation = value(level="township", total="1600.00", excluded="100.00")
    assert valuation.rule == "formula"
    assert valuation.reimbursable == Decimal("1500.00")
    assert valuation.deductible == Decimal("100.00")
    assert valuation.compensation == Decimal("1260.00")  # 0.90 × (1500 − 100)
    assert valuation.patient_pays == Decimal("340.00")
    assert valuation.as_breakdown()["bands"] == [
        {"from": "100.00", "to": "1500.00", "ratio": "0.90", "amount": "1260.00"}]


def test_contract_example_claim_at_a_county_hospital_crosses_the_10000_band_edge():
    # total 12345.60, non-reimbursable 1345.60 → R = 11000.00, D = 400.00:
    # 0.75 × (10000 − 400) + 0.80 × (11000 − 10000) = 7200 + 800 = 8000.00
    valuation = value(level="county", total="12345.60", excluded="1345.60", referred=False)
    assert valuation.compensation == Decimal("8000.00")
    assert valuation.patient_pays == Decimal("4345.60")
    assert valuation.as_breakdown() == {
        "rule": "formula", "reimbursable": "11000.00", "deductible": "400.00",
        "bands": [{"from": "400.00", "to": "10000.00", "ratio": "0.75", "amount": "7200.00"},
                  {"from": "10000.00", "to": "11000.00", "ratio": "0.80", "amount": "800.00"}],
        "before_cap": "8000.00", "cap_remaining": "200000.00",
    }


@pytest.mark.parametrize("reimbursable,compensation,band_count", [
    ("400.00", "0.00", 0),        # all within the deductible
    ("400.01", "0.01", 1),        # 0.75 × 0.01 = 0.0075 → 0.01
    ("10000.00", "7200.00", 1),   # exactly at the edge: the second band covers nothing
    ("10000.01", "7200.01", 2),   # 7200 + 0.80 × 0.01 = 7200.008 → 7200.01
    ("0.00", "0.00", 0),
])
def test_county_band_edges(reimbursable, compensation, band_count):
    valuation = value(level="county", total=reimbursable)
    assert valuation.compensation == Decimal(compensation)
    assert len(valuation.bands) == band_count


def test_deductible_reaching_into_the_second_band_starts_it_at_the_deductible():
    policy = policy_with(levels={**DOCUMENT["levels"], "county": {
        "deductible": "12000.00", "bands": DOCUMENT["levels"]["county"]["bands"]}})
    valuation = value(policy, level="county", total="15000.00")
    assert valuation.as_breakdown()["bands"] == [
        {"from": "12000.00", "to": "15000.00", "ratio": "0.80", "amount": "2400.00"}]
    assert valuation.compensation == Decimal("2400.00")


def test_wubao_has_the_deductible_waived_and_ten_more_points():
    valuation = value(level="county", category="wubao", total="11000.00")
    # 0.85 × 10000 + 0.90 × 1000
    assert valuation.deductible == Decimal("0")
    assert valuation.deductible_waived is True
    assert valuation.compensation == Decimal("9400.00")
    assert valuation.as_breakdown()["bands"] == [
        {"from": "0.00", "to": "10000.00", "ratio": "0.85", "amount": "8500.00"},
        {"from": "10000.00", "to": "11000.00", "ratio": "0.90", "amount": "900.00"}]


def test_dibao_keeps_the_deductible_and_gets_five_more_points():
    valuation = value(level="township", category="dibao", total="1100.00")
    assert valuation.deductible == Decimal("100.00")
    assert valuation.compensation == Decimal("950.00")  # 0.95 × 1000


def test_poor_waives_deductible_and_gets_five_points():
    valuation = value(level="provincial", category="poor", total="10000.00")
    assert valuation.compensation == Decimal("5500.00")  # 0.55 × 10000, referred


def test_unreferred_municipal_stay_loses_ten_points():
    referred = value(level="municipal", total="11000.00", referred=True)
    unreferred = value(level="municipal", total="11000.00", referred=False)
    assert referred.compensation == Decimal("6000.00")   # 0.60 × (11000 − 1000)
    assert unreferred.compensation == Decimal("5000.00")  # 0.50 × 10000
    assert unreferred.reduction_points == Decimal("0.10")
    assert unreferred.as_breakdown()["bands"][0]["ratio"] == "0.50"


def test_unreferred_reduction_does_not_touch_levels_not_listed():
    assert value(level="county", total="5400.00", referred=False).compensation == Decimal("3750.00")


def test_group_points_and_unreferred_reduction_combine():
    # dibao at an unreferred provincial hospital: 0.50 + 0.05 − 0.10 = 0.45
    valuation = value(level="provincial", category="dibao", total="12000.00", referred=False)
    assert valuation.compensation == Decimal("4500.00")


def test_ratio_is_clamped_at_one():
    policy = policy_with(groups={"wubao": {"waive_deductible": True, "ratio_points": "0.20"}})
    valuation = value(policy, level="township", category="wubao", total="1000.00")
    assert valuation.bands[0].ratio == Decimal("1")
    assert valuation.as_breakdown()["bands"][0]["ratio"] == "1.00"
    assert valuation.compensation == Decimal("1000.00")
    assert valuation.patient_pays == Decimal("0.00")


def test_ratio_is_clamped_at_zero():
    policy = policy_with(unreferred_reduction={"levels": ["provincial"], "ratio_points": "0.70"})
    valuation = value(policy, level="provincial", total="5000.00", referred=False)
    assert valuation.bands[0].ratio == Decimal("0")
    assert valuation.compensation == Decimal("0.00")
    assert valuation.patient_pays == Decimal("5000.00")


def test_ordinary_member_with_no_group_rule():
    assert value(level="township", category="ordinary", total="200.00").compensation == Decimal("90.00")


# --- steps 2 and 3: delivery and single disease ----------------------------------------------

def test_normal_delivery_pays_the_fixed_amount():
    valuation = value(level="county", total="3000.00", excluded="200.00", delivery="normal",
                      diagnosis="O80")
    assert valuation.rule == "delivery"
    assert valuation.compensation == Decimal("500.00")
    assert valuation.patient_pays == Decimal("2500.00")
    assert valuation.as_breakdown() == {
        "rule": "delivery", "reimbursable": "2800.00", "deductible": "0.00", "bands": [],
        "before_cap": "500.00", "cap_remaining": "200000.00"}


def test_caesarean_delivery_is_capped_by_the_reimbursable_cost():
    valuation = value(level="township", total="1500.00", excluded="600.00", delivery="caesarean")
    assert valuation.compensation == Decimal("900.00")
    assert valuation.rule_amount == Decimal("1200.00")


def test_delivery_comes_before_single_disease():
    valuation = value(level="county", total="5000.00", diagnosis="K35.8", delivery="caesarean")
    assert valuation.rule == "delivery"
    assert valuation.compensation == Decimal("1200.00")


@pytest.mark.parametrize("diagnosis", ["K35", "K35.8", "k35.2", " K35.9 "])
def test_single_disease_matches_by_prefix_and_level(diagnosis):
    valuation = value(level="county", total="6000.00", excluded="500.00", diagnosis=diagnosis)
    assert valuation.rule == "single_disease"
    assert valuation.single_disease.code == "K35"
    assert valuation.compensation == Decimal("2400.00")
    assert valuation.patient_pays == Decimal("3600.00")
    assert valuation.as_breakdown()["bands"] == []


def test_single_disease_payment_is_capped_by_reimbursable_cost():
    assert value(level="county", total="2000.00", diagnosis="K35.8").compensation == Decimal("2000.00")


def test_single_disease_at_another_level_falls_to_the_formula():
    valuation = value(level="township", total="3100.00", diagnosis="K35.8")
    assert valuation.rule == "formula"
    assert valuation.compensation == Decimal("2700.00")  # 0.90 × (3100 − 100)


def test_diagnosis_not_starting_with_the_code_falls_to_the_formula():
    assert value(level="county", total="1400.00", diagnosis="AK35").rule == "formula"
    assert value(level="county", total="1400.00", diagnosis=None).rule == "formula"


def test_longest_single_disease_code_wins():
    policy = policy_with(single_disease=[
        {"code": "K35", "level": "county", "name": "appendicitis", "payment": "2400.00"},
        {"code": "K35.3", "level": "county", "name": "with peritonitis", "payment": "3600.00"}])
    assert value(policy, total="9000.00", diagnosis="K35.32").compensation == Decimal("3600.00")
    assert value(policy, total="9000.00", diagnosis="K35.8").compensation == Decimal("2400.00")


# --- step 5: rounding and the cap ------------------------------------------------------------

def test_rounding_is_half_up_at_half_a_fen():
    # 0.90 × (1100.05 − 100) = 900.045: half up gives 900.05 (banker's rounding would give 900.04)
    valuation = value(level="township", total="1100.05")
    assert valuation.bands[0].amount == Decimal("900.045")
    assert Decimal("900.045").quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) == Decimal("900.04")
    assert valuation.compensation == Decimal("900.05")
    assert valuation.patient_pays == Decimal("200.00")


def test_compensation_rounds_the_exact_sum_not_the_sum_of_rounded_bands():
    policy = policy_with(levels={**DOCUMENT["levels"], "township": {
        "deductible": "0.00",
        "bands": [{"up_to": "100.01", "ratio": "0.50"}, {"up_to": None, "ratio": "0.50"}]}})
    valuation = value(policy, level="township", total="200.02")
    assert [share.amount for share in valuation.bands] == [Decimal("50.005"), Decimal("50.005")]
    assert valuation.compensation == Decimal("100.01")  # round(100.010), not 50.01 + 50.01
    breakdown = valuation.as_breakdown()
    assert [band["amount"] for band in breakdown["bands"]] == ["50.01", "50.01"]
    assert breakdown["before_cap"] == "100.01"


def test_cap_partly_used_caps_the_claim():
    valuation = value(level="township", total="10100.00", used="195000.00")
    assert valuation.before_cap == Decimal("9000.00")
    assert valuation.cap_remaining == Decimal("5000.00")
    assert valuation.compensation == Decimal("5000.00")
    assert valuation.capped is True
    assert valuation.patient_pays == Decimal("5100.00")
    assert valuation.as_breakdown()["cap_remaining"] == "5000.00"


def test_cap_exhausted_pays_nothing():
    valuation = value(level="county", total="11000.00", used="200000.00")
    assert valuation.cap_remaining == Decimal("0")
    assert valuation.compensation == Decimal("0")
    assert valuation.patient_pays == Decimal("11000.00")


def test_cap_overdrawn_never_goes_below_zero():
    valuation = value(level="county", total="11000.00", used="200100.00")
    assert valuation.cap_remaining == Decimal("0")
    assert valuation.compensation == Decimal("0")


def test_cap_applies_to_single_disease_and_delivery_too():
    assert value(total="6000.00", diagnosis="K35", used="199000.00").compensation == Decimal("1000.00")
    assert value(total="6000.00", delivery="normal", used="199700.00").compensation == Decimal("300.00")


# --- step 1 and refusals ---------------------------------------------------------------------

@pytest.mark.parametrize("total,excluded", [("-1.00", "0.00"), ("100.00", "-0.01"),
                                            ("100.00", "100.01"), ("100.001", "0.00")])
def test_bad_amounts_are_refused(total, excluded):
    with pytest.raises(NcmsError) as refusal:
        value(total=total, excluded=excluded)
    assert refusal.value.code == "bad_amounts"


def test_non_reimbursable_equal_to_total_is_fine():
    valuation = value(total="800.00", excluded="800.00")
    assert valuation.reimbursable == Decimal("0.00")
    assert valuation.compensation == Decimal("0.00")
    assert valuation.patient_pays == Decimal("800.00")


def test_floats_are_refused():
    with pytest.raises(TypeError):
        value_claim(policy=POLICY, level="county", category="ordinary", total_cost=100.0,
                    non_reimbursable_cost=Decimal("0"), referred=True, diagnosis="", delivery=None,
                    used_this_year=Decimal("0"))


def test_unknown_level_and_delivery_are_refused():
    with pytest.raises(NcmsError) as refusal:
        value(level="village", total="100.00")
    assert refusal.value.code == "unknown_level"
    with pytest.raises(NcmsError) as refusal:
        value(total="100.00", delivery="twins")
    assert refusal.value.code == "bad_delivery"


def test_check_amounts_message_names_the_figures():
    with pytest.raises(NcmsError, match="目录外.*1345.60.*超过.*1000.00"):
        check_amounts(total_cost=Decimal("1000.00"), non_reimbursable_cost=Decimal("1345.60"))


def test_check_amounts_refuses_a_total_above_the_ceiling_and_takes_one_at_it():
    ceiling = Decimal("5000000.00")
    check_amounts(total_cost=ceiling, non_reimbursable_cost=Decimal("0.00"), ceiling=ceiling)
    for total, excluded in [("5000000.01", "0.00"), ("9999999999999999.99", "0.00"), ("12345678901234567", "0"),
                            ("1E+30", "0.00"), ("1E+30", "1E+30")]:
        with pytest.raises(NcmsError, match="超过单次住院总费用的上限 5000000.00 元") as refusal:
            check_amounts(total_cost=Decimal(total), non_reimbursable_cost=Decimal(excluded), ceiling=ceiling)
        assert refusal.value.code == "bad_amounts"


@pytest.mark.parametrize("field,value", [
    ("total_cost", "5000000.01"), ("total_cost", "9999999999999999.99"), ("total_cost", "12345678901234567"),
    ("total_cost", 10 ** 30), ("total_cost", "1E+30"), ("non_reimbursable_cost", "1E+30"),
])
def test_parse_facts_refuses_an_implausible_amount_cleanly(field, value):
    data = {"id_number": "420102199001011234", "facility": "F001", "admission_date": "2026-03-01",
            "discharge_date": "2026-03-08", "total_cost": "1100.00", "non_reimbursable_cost": "100.00", field: value}
    with pytest.raises(NcmsError, match=re.escape(f"「{value}」超过单次住院总费用的上限 5000000.00 元")) as refusal:
        parse_facts(data)
    assert refusal.value.code == "bad_amounts"


def test_parse_facts_reads_the_ceiling_from_the_settings(settings):
    data = {"id_number": "420102199001011234", "facility": "F001", "admission_date": "2026-03-01",
            "discharge_date": "2026-03-08", "total_cost": "1100.00"}
    assert parse_facts(data).total_cost == Decimal("1100.00")
    settings.CLAIM_TOTAL_COST_MAX = Decimal("1000.00")
    with pytest.raises(NcmsError, match="上限 1000.00 元") as refusal:
        parse_facts(data)
    assert refusal.value.code == "bad_amounts"


# --- eligibility helpers ---------------------------------------------------------------------

@pytest.mark.parametrize("a,b,overlap", [
    (("2026-03-01", "2026-03-08"), ("2026-03-08", "2026-03-10"), False),  # same-day hand-over
    (("2026-03-08", "2026-03-10"), ("2026-03-01", "2026-03-08"), False),
    (("2026-03-01", "2026-03-08"), ("2026-03-07", "2026-03-10"), True),
    (("2026-03-01", "2026-03-08"), ("2026-03-02", "2026-03-05"), True),   # inside
    (("2026-03-01", "2026-03-08"), ("2026-03-01", "2026-03-08"), True),   # the same stay
    (("2026-03-01", "2026-03-08"), ("2026-03-09", "2026-03-10"), False),
    (("2026-03-01", "2026-03-08"), ("2026-02-20", "2026-03-01"), False),
])
def test_stays_overlap(a, b, overlap):
    dates = [date.fromisoformat(day) for day in (*a, *b)]
    assert stays_overlap(*dates) is overlap
    assert stays_overlap(dates[2], dates[3], dates[0], dates[1]) is overlap


def test_check_dates():
    check_dates(admission=date(2026, 3, 1), discharge=date(2026, 3, 1), year=2026)
    check_dates(admission=date(2025, 12, 28), discharge=date(2026, 1, 3), year=2026)
    for kwargs, reason in [
        ({"admission": date(2026, 3, 8), "discharge": date(2026, 3, 1)}, "早于入院日期"),
        ({"admission": date(2025, 12, 20), "discharge": date(2025, 12, 30), "year": 2026}, "不在 2026 年度"),
        ({"admission": date(2026, 3, 1), "discharge": date(2026, 3, 9), "today": date(2026, 3, 8)}, "晚于今天"),
    ]:
        with pytest.raises(NcmsError, match=reason) as refusal:
            check_dates(**kwargs)
        assert refusal.value.code == "bad_dates"


def test_deadline_counts_days_after_discharge_inclusive():
    discharge = date(2026, 3, 8)
    assert claim_deadline(discharge=discharge, deadline_days=90) == date(2026, 6, 6)
    check_deadline(discharge=discharge, submitted_on=date(2026, 6, 6), deadline_days=90)
    with pytest.raises(NcmsError, match="2026-06-06") as refusal:
        check_deadline(discharge=discharge, submitted_on=date(2026, 6, 7), deadline_days=90)
    assert refusal.value.code == "past_deadline"


def test_ratio_text():
    assert [ratio_text(Decimal(x)) for x in ("1", "0.9", "0.75", "0.755", "0")] == [
        "1.00", "0.90", "0.75", "0.755", "0.00"]


# --- parse_policy refusals -------------------------------------------------------------------

def problems_of(document) -> list[str]:
    with pytest.raises(PolicyInvalid) as refusal:
        parse_policy(document)
    assert refusal.value.code == "policy_invalid"
    return refusal.value.errors


def broken(mutate):
    document = copy.deepcopy(DOCUMENT)
    mutate(document)
    return document


def test_every_problem_is_listed_at_once():
    def mutate(doc):
        doc["year"] = "2026"
        doc["annual_cap"] = "200000.001"
        doc["risk_reserve_rate"] = "1.5"
        doc["levels"]["county"]["bands"][0]["ratio"] = 0.75
        del doc["levels"]["provincial"]
        doc["groups"]["wubo"] = {"waive_deductible": True, "ratio_points": "0.10"}
    errors = problems_of(broken(mutate))
    assert errors == [
        "year「2026」：应为整数",
        "risk_reserve_rate「1.5」：比例须在 0 到 1 之间",
        "annual_cap「200000.001」：金额最多两位小数",
        'levels.county.bands[1].ratio「0.75」：请写成带引号的十进制字符串，如 "0.75" 或 "100.00"',
        "levels.provincial：缺少此项",
        "groups.wubo：未知的人员类别，应为 wubao、dibao、poor 或 ordinary",
    ]
    summary = PolicyInvalid(errors).summary
    assert summary == "政策文件有误，未载入（共6处错误）"


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d.pop("name"), "name：缺少此项"),
    (lambda d: d.update(name="  "), "name「  」：应为非空的文字"),
    (lambda d: d.update(year=1999), "year「1999」：应在 2000 到 2100 之间"),
    (lambda d: d.update(claim_deadline_days=0), "claim_deadline_days「0」：应在 1 到 3660 之间"),
    (lambda d: d.update(claim_deadline_days=True), "claim_deadline_days「True」：应为整数"),
    (lambda d: d["contribution"].update(individual="-1.00"), "contribution.individual「-1.00」：金额不能为负数"),
    (lambda d: d["contribution"]["subsidy"].pop("county"), "contribution.subsidy.county：缺少此项"),
    (lambda d: d.update(annual_cap="lots"), "annual_cap「lots」：不是有效的数字"),
    (lambda d: d.update(annual_cap=None), 'annual_cap「null」：请写成带引号的十进制字符串，如 "0.75" 或 "100.00"'),
    (lambda d: d["levels"]["county"]["bands"].reverse(),
     ["levels.county.bands[1].up_to「null」：只有最后一段的上限可以为 null（不封顶）",
      "levels.county.bands[2].up_to「10000.00」：最后一段的上限应为 null（不封顶）"]),
    (lambda d: d["levels"]["township"]["bands"][0].update(up_to="5000.00"),
     "levels.township.bands[1].up_to「5000.00」：最后一段的上限应为 null（不封顶）"),
    (lambda d: d["levels"]["township"].update(bands=[]), "levels.township.bands「[]」：应为至少含一段的列表 [...]"),
    (lambda d: d["levels"]["county"]["bands"].insert(1, {"up_to": "9000.00", "ratio": "0.78"}),
     "levels.county.bands[2].up_to「9000.00」：各段上限应逐段递增（上一段为 10000.00）"),
    (lambda d: d["levels"].update(village={"deductible": "0.00", "bands": []}),
     "levels.village：未知的医院级别，应为 township、county、municipal 或 provincial"),
    (lambda d: d["levels"]["municipal"]["bands"][0].update(ratio="-0.10"),
     "levels.municipal.bands[1].ratio「-0.10」：比例须在 0 到 1 之间"),
    (lambda d: d["levels"]["municipal"]["bands"][0].update(ratio="0.123456"),
     "levels.municipal.bands[1].ratio「0.123456」：比例最多4位小数"),
    (lambda d: d["unreferred_reduction"].update(levels=["county", "city"]),
     "unreferred_reduction.levels[2]「city」：未知的医院级别，应为 township、county、municipal 或 provincial"),
    (lambda d: d["groups"]["dibao"].update(waive_deductible="no"),
     "groups.dibao.waive_deductible「no」：应为 true 或 false"),
    (lambda d: d["delivery"].pop("caesarean"), "delivery.caesarean：缺少此项"),
    (lambda d: d["single_disease"].append(dict(d["single_disease"][0])),
     "single_disease[2].code「K35」：与前面的病种重复（同一级别 county）"),
    (lambda d: d["single_disease"][0].update(level="clinic"),
     "single_disease[1].level「clinic」：未知的医院级别，应为 township、county、municipal 或 provincial"),
])
def test_each_kind_of_problem_is_named(mutate, expected):
    assert problems_of(broken(mutate)) == (expected if isinstance(expected, list) else [expected])


def test_non_object_document_is_refused():
    assert problems_of([1, 2]) == ["政策文件应为一个 JSON 对象 {...}，而不是「[1, 2]」"]


def test_optional_sections_may_be_left_out():
    document = broken(lambda d: [d.pop(key) for key in ("unreferred_reduction", "groups", "single_disease")])
    policy = parse_policy(document)
    assert policy.groups == {} and policy.single_disease == ()
    assert value(policy, level="municipal", category="wubao", total="2000.00",
                 referred=False, diagnosis="K35").compensation == Decimal("600.00")


# --- properties ------------------------------------------------------------------------------

def fen(min_value="0.00", max_value="500000.00"):
    return st.decimals(min_value=Decimal(min_value), max_value=Decimal(max_value), places=2,
                       allow_nan=False, allow_infinity=False)


ratios = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=2)


@st.composite
def policies(draw):
    """Random valid policies: rising band edges, any ratios, groups, reductions and diseases."""
    document = copy.deepcopy(DOCUMENT)
    document["annual_cap"] = str(draw(fen("0.00", "300000.00")))
    levels = {}
    for level in LEVELS:
        edges = sorted(draw(st.sets(fen("0.01", "100000.00"), max_size=3)))
        bands = [{"up_to": str(edge), "ratio": str(draw(ratios))} for edge in edges]
        bands.append({"up_to": None, "ratio": str(draw(ratios))})
        levels[level] = {"deductible": str(draw(fen("0.00", "5000.00"))), "bands": bands}
    document["levels"] = levels
    document["unreferred_reduction"] = {
        "levels": draw(st.lists(st.sampled_from(LEVELS), unique=True)), "ratio_points": str(draw(ratios))}
    document["groups"] = {
        category: {"waive_deductible": draw(st.booleans()), "ratio_points": str(draw(ratios))}
        for category in ("wubao", "dibao", "poor")}
    document["delivery"] = {"normal": str(draw(fen("0.00", "5000.00"))),
                            "caesarean": str(draw(fen("0.00", "5000.00")))}
    document["single_disease"] = [{"code": "K35", "level": draw(st.sampled_from(LEVELS)), "name": "x",
                                   "payment": str(draw(fen("0.00", "9000.00")))}]
    return parse_policy(document)


claim_facts = st.fixed_dictionaries({
    "level": st.sampled_from(LEVELS),
    "category": st.sampled_from(CATEGORIES),
    "referred": st.booleans(),
    "diagnosis": st.sampled_from(["K35.8", "J18.9", None]),
    "delivery": st.sampled_from([None, None, "normal", "caesarean"]),
})


@settings(max_examples=300, deadline=None)
@given(policy=policies(), facts=claim_facts, total=fen(), share=st.fractions(0, 1), used=fen("0.00", "300000.00"))
def test_compensation_stays_within_reimbursable_and_cap_and_adds_up(policy, facts, total, share, used):
    excluded = (total * Decimal(share.numerator) / Decimal(share.denominator)).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    valuation = value_claim(policy=policy, total_cost=total, non_reimbursable_cost=excluded,
                            used_this_year=used, **facts)
    assert valuation.compensation >= 0
    assert valuation.compensation <= valuation.reimbursable
    assert valuation.compensation <= valuation.cap_remaining
    assert valuation.cap_remaining == max(Decimal("0"), policy.annual_cap - used)
    assert valuation.compensation == valuation.compensation.quantize(Decimal("0.01"))
    assert valuation.patient_pays + valuation.compensation == total
    assert valuation.patient_pays >= 0
    for share_ in valuation.bands:
        assert Decimal("0") <= share_.ratio <= Decimal("1")
        assert valuation.deductible <= share_.start < share_.end <= valuation.reimbursable


@settings(max_examples=300, deadline=None)
@given(policy=policies(), facts=claim_facts, total=fen(), more=fen("0.01", "50000.00"),
       excluded=fen("0.00", "5000.00"), used=fen("0.00", "300000.00"))
def test_compensation_never_decreases_when_total_cost_rises(policy, facts, total, more, excluded, used):
    assume(excluded <= total)
    kwargs = dict(policy=policy, non_reimbursable_cost=excluded, used_this_year=used, **facts)
    lower = value_claim(total_cost=total, **kwargs)
    higher = value_claim(total_cost=total + more, **kwargs)
    assert higher.rule == lower.rule
    assert higher.compensation >= lower.compensation
    assert higher.before_cap >= lower.before_cap


@settings(max_examples=200, deadline=None)
@given(total=fen("0.00", "100000.00"), level=st.sampled_from(LEVELS), category=st.sampled_from(CATEGORIES),
       referred=st.booleans())
def test_formula_equals_the_contract_expression_on_the_example_policy(total, level, category, referred):
    """An independent restatement of step 4 on the example policy."""
    rule = POLICY.levels[level]
    group = POLICY.groups.get(category)
    deductible = Decimal("0") if group and group.waive_deductible else rule.deductible
    adjust = (group.ratio_points if group else Decimal("0")) - (
        Decimal("0.10") if level in ("municipal", "provincial") and not referred else Decimal("0"))
    exact, start = Decimal("0"), Decimal("0")
    for band in rule.bands:
        top = total if band.up_to is None else min(total, band.up_to)
        ratio = min(Decimal("1"), max(Decimal("0"), band.ratio + adjust))
        exact += ratio * max(Decimal("0"), top - max(deductible, start))
        start = band.up_to if band.up_to is not None else start
    valuation = value(level=level, category=category, total=str(total), referred=referred,
                      diagnosis="J18.9")
    assert valuation.compensation == exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
