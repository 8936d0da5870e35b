"""fund.rules: ratios, averages and the report's warnings, exactly, with their edges."""
from decimal import Decimal

import pytest

from fund import rules


@pytest.mark.parametrize("num, den, expected", [
    (1, 3, Decimal("0.3333")),
    (2, 3, Decimal("0.6667")),
    (Decimal("0.00005"), 1, Decimal("0.0001")),  # half up at the 5th place
    (Decimal("0.00004999"), 1, Decimal("0.0000")),
    (19, 20, Decimal("0.9500")),
    (5, 4, Decimal("1.2500")),
    (0, 7, Decimal("0.0000")),
])
def test_ratio_rounds_half_up_to_four_places(num, den, expected):
    assert rules.ratio(num, den) == expected
    assert str(rules.ratio(num, den)) == str(expected)


@pytest.mark.parametrize("den", [0, Decimal("0"), Decimal("0.00")])
def test_ratio_of_zero_denominator_is_none(den):
    assert rules.ratio(5, den) is None
    assert rules.ratio(0, den) is None


def test_average_fen_half_up_and_none():
    assert rules.average_fen(Decimal("10.01"), 2) == Decimal("5.01")  # 5.005 -> 5.01
    assert rules.average_fen(Decimal("10.00"), 3) == Decimal("3.33")
    assert rules.average_fen(Decimal("20.00"), 3) == Decimal("6.67")
    assert rules.average_fen(Decimal("0.00"), 0) is None


def test_net_of_reserve_is_exact_and_pacing():
    assert rules.net_of_reserve(Decimal("1000.01"), Decimal("0.10")) == Decimal("900.009")
    assert rules.pacing(1) == Decimal("0.0833")
    assert rules.pacing(6) == Decimal("0.5000")
    assert rules.pacing(12) == Decimal("1.0000")


# M/12 × 1.10: month 3 -> 0.275 exactly; month 1 -> 0.091666...
@pytest.mark.parametrize("rate, month, expected", [
    (Decimal("0.2750"), 3, False),   # equal is not over
    (Decimal("0.2751"), 3, True),
    (Decimal("0.0916"), 1, False),
    (Decimal("0.0917"), 1, True),    # 0.0917 > 0.091666...
    (Decimal("1.1000"), 12, False),
    (Decimal("1.1001"), 12, True),
    (None, 3, False),
])
def test_overspending_threshold(rate, month, expected):
    assert rules.is_overspending(rate, month) is expected


# M/12 × 0.85 for M ≥ 6: month 6 -> 0.425; month 7 -> 0.495833...
@pytest.mark.parametrize("rate, month, expected", [
    (Decimal("0.4250"), 6, False),   # equal is not under
    (Decimal("0.4249"), 6, True),
    (Decimal("0.0000"), 5, False),   # not before June
    (Decimal("0.4958"), 7, True),    # 0.4958 < 0.495833...
    (Decimal("0.4959"), 7, False),
    (None, 9, False),
])
def test_underuse_threshold(rate, month, expected):
    assert rules.is_underuse(rate, month) is expected


@pytest.mark.parametrize("rate, expected", [
    (Decimal("0.9499"), True), (Decimal("0.9500"), False), (Decimal("1.0000"), False), (None, False),
])
def test_low_participation_threshold(rate, expected):
    assert rules.is_low_participation(rate) is expected


def test_warnings_for_lists_county_then_townships():
    found = rules.warnings_for(
        month=6, fund_usage_rate=Decimal("0.6000"),
        townships=[("420102100", "城关镇", Decimal("0.9400")), ("420102200", "河口乡", Decimal("0.9500")),
                   ("420102300", "无人口乡", None)],
    )
    assert [(w.kind, w.township) for w in found] == [("overspending", "county"), ("low_participation", "420102100")]
    assert found[0].as_dict() == {
        "kind": "overspending", "township": "county",
        "message": "全县基金使用率 60.00% 超过 6 月进度 50.00% 的 110%（55.00%），基金有超支风险。",
    }
    assert found[1].message == "城关镇参合率 94.00% 低于 95%。"


def test_warnings_for_underuse():
    found = rules.warnings_for(month=12, fund_usage_rate=Decimal("0.8000"), townships=[])
    assert [w.as_dict() for w in found] == [{
        "kind": "underuse", "township": "county",
        "message": "全县基金使用率 80.00% 低于 12 月进度 100.00% 的 85%（85.00%），基金结余过多。",
    }]
    assert rules.warnings_for(month=12, fund_usage_rate=Decimal("0.9000"), townships=[]) == []
