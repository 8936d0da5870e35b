"""When cover starts: the policy file's optional `coverage`, parsed and validated
(policy.rules.parse_policy), and the rule itself (Coverage.cover_starts), pure."""
import copy
import json
from datetime import date
from pathlib import Path

import pytest

from policy.rules import Coverage, PolicyInvalid, parse_policy

FIXTURE = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "policy-2026.json"
DOCUMENT = json.loads(FIXTURE.read_text(encoding="utf-8"))
COVERAGE = {"collection_end": "2025-12-31", "waiting_days": 90}


def with_coverage(coverage) -> dict:
    document = copy.deepcopy(DOCUMENT)
    document["coverage"] = coverage
    return document


def problems_of(document) -> list[str]:
    with pytest.raises(PolicyInvalid) as refusal:
        parse_policy(document)
    return refusal.value.errors


# --- parsing ---------------------------------------------------------------------------------

def test_the_contract_example_is_parsed():
    policy = parse_policy(with_coverage(COVERAGE))
    assert policy.coverage == Coverage(collection_end=date(2025, 12, 31), waiting_days=90)


def test_without_coverage_the_whole_year_is_covered():
    policy = parse_policy(DOCUMENT)
    assert policy.coverage is None
    assert policy.cover_starts(paid_date=date(2026, 11, 30), birth_date=date(1980, 1, 1)) is None


def test_waiting_days_from_0_to_365_are_accepted():
    assert parse_policy(with_coverage({"collection_end": "2026-02-28", "waiting_days": 0})).coverage == Coverage(
        date(2026, 2, 28), 0)
    assert parse_policy(with_coverage({"collection_end": "2026-02-28", "waiting_days": 365})).coverage == Coverage(
        date(2026, 2, 28), 365)


@pytest.mark.parametrize("coverage,expected", [
    ([], ["coverage「[]」：应为一个对象 {...}"]),
    ("2025-12-31", ["coverage「2025-12-31」：应为一个对象 {...}"]),
    ({"waiting_days": 90}, ["coverage.collection_end：缺少此项"]),
    ({"collection_end": "2025-12-31"}, ["coverage.waiting_days：缺少此项"]),
    ({}, ["coverage.collection_end：缺少此项", "coverage.waiting_days：缺少此项"]),
    ({"collection_end": "2025/12/31", "waiting_days": 90},
     ["coverage.collection_end「2025/12/31」：应为 YYYY-MM-DD 格式的日期"]),
    ({"collection_end": 20251231, "waiting_days": 90},
     ["coverage.collection_end「20251231」：应为 YYYY-MM-DD 格式的日期"]),
    ({"collection_end": None, "waiting_days": 90}, ["coverage.collection_end「null」：应为 YYYY-MM-DD 格式的日期"]),
    ({"collection_end": "2026-02-30", "waiting_days": 90}, ["coverage.collection_end「2026-02-30」：不是有效的日期"]),
    ({"collection_end": "2025-12-31", "waiting_days": -1}, ["coverage.waiting_days「-1」：应在 0 到 365 之间"]),
    ({"collection_end": "2025-12-31", "waiting_days": 366}, ["coverage.waiting_days「366」：应在 0 到 365 之间"]),
    ({"collection_end": "2025-12-31", "waiting_days": "90"}, ["coverage.waiting_days「90」：应为整数"]),
    ({"collection_end": "2025-12-31", "waiting_days": 90.5}, ["coverage.waiting_days「90.5」：应为整数"]),
    ({"collection_end": "2025-12-31", "waiting_days": True}, ["coverage.waiting_days「True」：应为整数"]),
    ({"collection_end": "2025-12-31", "waiting_days": 90, "newborn_days": 90},
     ["coverage.newborn_days：未知的项，应为 collection_end 或 waiting_days"]),
])
def test_each_problem_of_coverage_is_named(coverage, expected):
    assert problems_of(with_coverage(coverage)) == expected


def test_coverage_problems_are_listed_with_the_others():
    document = with_coverage({"collection_end": "next spring", "waiting_days": 400})
    document["annual_cap"] = "-1.00"
    assert problems_of(document) == [
        "annual_cap「-1.00」：金额不能为负数",
        "coverage.collection_end「next spring」：应为 YYYY-MM-DD 格式的日期",
        "coverage.waiting_days「400」：应在 0 到 365 之间",
    ]


# --- the rule --------------------------------------------------------------------------------

RULE = Coverage(collection_end=date(2025, 12, 31), waiting_days=90)
ADULT = date(1980, 6, 1)


def test_paid_on_the_collection_end_covers_the_whole_year():
    assert RULE.cover_starts(paid_date=date(2025, 12, 31), birth_date=ADULT) is None
    assert RULE.cover_starts(paid_date=date(2025, 10, 8), birth_date=ADULT) is None


def test_paid_the_day_after_waits_the_waiting_days():
    assert RULE.cover_starts(paid_date=date(2026, 1, 1), birth_date=ADULT) == date(2026, 4, 1)
    assert RULE.cover_starts(paid_date=date(2026, 3, 1), birth_date=ADULT) == date(2026, 5, 30)


def test_no_waiting_days_covers_from_the_paid_date():
    rule = Coverage(collection_end=date(2025, 12, 31), waiting_days=0)
    assert rule.cover_starts(paid_date=date(2026, 3, 1), birth_date=ADULT) == date(2026, 3, 1)


def test_a_baby_paid_for_within_90_days_of_birth_is_covered_from_birth():
    paid = date(2026, 3, 1)
    assert RULE.cover_starts(paid_date=paid, birth_date=date(2026, 3, 1)) == date(2026, 3, 1)  # born that day
    assert RULE.cover_starts(paid_date=paid, birth_date=date(2026, 2, 10)) == date(2026, 2, 10)
    assert RULE.cover_starts(paid_date=paid, birth_date=date(2025, 12, 1)) == date(2025, 12, 1)  # 90 days


def test_a_baby_paid_for_91_days_after_birth_waits_like_anyone():
    assert RULE.cover_starts(paid_date=date(2026, 3, 1), birth_date=date(2025, 11, 30)) == date(2026, 5, 30)


def test_an_unknown_birth_date_waits():
    assert RULE.cover_starts(paid_date=date(2026, 3, 1), birth_date=None) == date(2026, 5, 30)


def test_the_policy_applies_its_coverage():
    policy = parse_policy(with_coverage(COVERAGE))
    assert policy.cover_starts(paid_date=date(2026, 3, 1), birth_date=ADULT) == date(2026, 5, 30)
    assert policy.cover_starts(paid_date=date(2025, 12, 31), birth_date=ADULT) is None
