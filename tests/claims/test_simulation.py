"""The simulation engine (claims.simulation) against claims.rules one claim at a time: the same
compensation for every claim, to the fen, on generated policies and claims, members' caps used up
across their claims in the contract's order (discharge, admission, invoice number)."""
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims import simulation
from claims.simulation import ClaimRow, columns_from_rows, rules_one_by_one, value_columns
from policy.rules import CATEGORIES, LEVELS, parse_policy
from tests.claims.conftest import policy_document

START = date(2026, 1, 1)


fen_amounts = st.integers(0, 30_000_000).map(lambda f: Decimal(f).scaleb(-2))  # up to 300 000.00
ratios = st.integers(0, 10_000).map(lambda bp: str(Decimal(bp).scaleb(-4)))
points = st.sampled_from(["0", "0.05", "0.1", "0.0001", "0.3333", "0.5", "1"]) | ratios


@st.composite
def bands(draw):
    count = draw(st.integers(1, 4))
    edges = sorted(draw(st.sets(st.integers(1, 5_000_000), min_size=count - 1, max_size=count - 1)))
    result = [{"up_to": str(Decimal(edge).scaleb(-2)), "ratio": draw(ratios)} for edge in edges]
    result.append({"up_to": None, "ratio": draw(ratios)})
    return result


@st.composite
def policies(draw):
    levels = {level: {"deductible": str(draw(st.integers(0, 300_000).map(lambda f: Decimal(f).scaleb(-2)))),
                      "bands": draw(bands())} for level in LEVELS}
    groups = {}
    for category in draw(st.sets(st.sampled_from(CATEGORIES))):
        groups[category] = {"waive_deductible": draw(st.booleans()), "ratio_points": draw(points)}
    diseases = []
    for code, level in draw(st.sets(st.tuples(st.sampled_from(["K35", "K35.8", "O80", "I10", "J18"]),
                                              st.sampled_from(LEVELS)), max_size=5)):
        diseases.append({"code": code, "level": level, "name": code,
                         "payment": str(draw(fen_amounts))})
    document = policy_document(
        annual_cap=str(draw(st.sampled_from([Decimal("0.00"), Decimal("0.01"), Decimal("1000.00"),
                                             Decimal("5000.00"), Decimal("200000.00")]) | fen_amounts)),
        levels=levels,
        unreferred_reduction={"levels": sorted(draw(st.sets(st.sampled_from(LEVELS)))),
                              "ratio_points": draw(points)},
        groups=groups,
        delivery={"normal": str(draw(fen_amounts)), "caesarean": str(draw(fen_amounts))},
        single_disease=diseases,
    )
    return parse_policy(document)


@st.composite
def claim_rows(draw, *, max_size=40):
    count = draw(st.integers(0, max_size))
    members = draw(st.integers(1, 6))
    rows = []
    for claim_id in range(1, count + 1):
        admission = START + timedelta(days=draw(st.integers(0, 12)))  # few dates: many ties
        discharge = admission + timedelta(days=draw(st.integers(0, 3)))
        total = draw(fen_amounts)
        excluded = draw(st.integers(0, int(total * 100)).map(lambda f: Decimal(f).scaleb(-2)))
        rows.append(ClaimRow(
            claim_id=claim_id, member=draw(st.integers(1, members)), level=draw(st.sampled_from(LEVELS)),
            category=draw(st.sampled_from(CATEGORIES)), total_cost=total, non_reimbursable_cost=excluded,
            referred=draw(st.booleans()), delivery=draw(st.sampled_from([None, None, None, "normal", "caesarean"])),
            diagnosis=draw(st.sampled_from(["", "K35", "k35.8 ", "K35.9", "O80", "I10.1", "J18", "A00"])),
            discharge=discharge, admission=admission,
            invoice=draw(st.sampled_from(["A1", "A10", "A2", "B1", "a1", "甲1"])),
        ))
    # ids in a random order, so the id never decides instead of the dates and the invoice
    ids = draw(st.permutations(range(1, count + 1)))
    return [ClaimRow(**{**row.__dict__, "claim_id": new}) for row, new in zip(rows, ids, strict=True)]


def _as_dict(rows, valued):
    return {row.claim_id: simulation.yuan(valued.compensation[i]) for i, row in enumerate(rows)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies(), rows=claim_rows())
def test_the_engine_gives_what_the_rules_give_one_by_one(policy, rows):
    expected = rules_one_by_one(policy, rows)
    valued = value_columns(policy, columns_from_rows(rows))
    for i, row in enumerate(rows):
        assert simulation.yuan(valued.before_cap[i]) == expected[row.claim_id].before_cap, row
    assert _as_dict(rows, valued) == {pk: v.compensation for pk, v in expected.items()}
    cap = policy.annual_cap
    used: dict[int, Decimal] = {}
    for row in rows:
        used[row.member] = used.get(row.member, Decimal("0.00")) + expected[row.claim_id].compensation
    assert valued.members_at_cap == sum(1 for total in used.values() if total >= cap)


@settings(max_examples=60, deadline=None)
@given(policy=policies(), rows=claim_rows(max_size=12))
def test_amounts_beyond_int64_are_valued_exactly_too(policy, rows):
    """A ceiling set very high (CLAIM_TOTAL_COST_MAX up to 10¹⁶ yuan): Python integers take over."""
    rows = [ClaimRow(**{**row.__dict__, "total_cost": row.total_cost * 10**10,
                        "non_reimbursable_cost": row.non_reimbursable_cost * 10**10}) for row in rows]
    expected = rules_one_by_one(policy, rows)
    valued = value_columns(policy, columns_from_rows(rows))
    assert _as_dict(rows, valued) == {pk: v.compensation for pk, v in expected.items()}


def _row(claim_id, member, *, discharge, admission=None, invoice="X", total="10000.00", **extra):
    discharge = date.fromisoformat(discharge)
    return ClaimRow(claim_id=claim_id, member=member, level=extra.pop("level", "township"),
                    category=extra.pop("category", "ordinary"), total_cost=Decimal(total),
                    non_reimbursable_cost=Decimal("0.00"), referred=True, delivery=None, diagnosis="",
                    discharge=discharge, admission=date.fromisoformat(admission) if admission else discharge,
                    invoice=invoice, **extra)


def test_the_cap_goes_to_the_earliest_discharge_then_admission_then_invoice():
    policy = parse_policy(policy_document(annual_cap="10000.00"))
    rows = [  # each would be paid 8910.00 at a township facility (0.90 × (10000 − 100))
        _row(1, 7, discharge="2026-05-01", admission="2026-04-20", invoice="B"),
        _row(2, 7, discharge="2026-05-01", admission="2026-04-20", invoice="A"),
        _row(3, 7, discharge="2026-03-01", invoice="Z"),
        _row(4, 7, discharge="2026-05-01", admission="2026-04-10", invoice="C"),
        _row(5, 8, discharge="2026-06-01"),
    ]
    valued = value_columns(policy, columns_from_rows(rows))
    assert [simulation.yuan(v) for v in valued.compensation] == [
        Decimal("0.00"), Decimal("0.00"), Decimal("8910.00"), Decimal("1090.00"), Decimal("8910.00")]
    assert valued.members_at_cap == 1


def test_no_claims_values_nothing():
    valued = value_columns(parse_policy(policy_document()), columns_from_rows([]))
    assert valued.claims == 0 and valued.members_at_cap == 0 and len(valued.compensation) == 0


def test_half_a_fen_rounds_up_as_the_rules_do():
    # 0.3333 × 100.15 = 33.380 ... and 0.5 × 0.01 = 0.005 → 0.01
    policy = parse_policy(policy_document(levels={
        level: {"deductible": "0.00", "bands": [{"up_to": None, "ratio": "0.5"}]} for level in LEVELS}))
    rows = [_row(1, 1, discharge="2026-02-01", total="0.01"), _row(2, 2, discharge="2026-02-01", total="0.03")]
    valued = value_columns(policy, columns_from_rows(rows))
    assert list(valued.before_cap) == [1, 2]
    assert valued.compensation.dtype == np.int64


def test_sums_beyond_int64_are_summed_exactly():
    amounts = np.array([2**61, 2**61, 2**61, 5], dtype=np.int64)
    assert simulation.needs_python_integers(amounts)
    assert simulation.exact_sum(amounts) == 3 * 2**61 + 5
    assert not simulation.needs_python_integers(np.array([10**9] * 1000, dtype=np.int64))


def test_lookup_by_id_dense_or_sparse():
    keys = np.array([5, 1, 7, 5, 10**12], dtype=np.int64)
    table = {5: 2, 7: 3}
    assert simulation._lookup(keys, table, -1, np.int64).tolist() == [2, -1, 3, 2, -1]
    assert simulation._lookup(keys[:4], table, 0, np.int8).tolist() == [2, 0, 3, 2]
    assert simulation._lookup(keys, {}, 9, np.int8).tolist() == [9] * 5
    assert simulation._lookup(keys[:0], table, 9, np.int8).tolist() == []


@settings(max_examples=40, deadline=None)
@given(policy=policies(), rows=claim_rows(max_size=20))
def test_member_ids_beyond_one_sort_key_take_the_other_sort(policy, rows):
    rows = [ClaimRow(**{**row.__dict__, "member": row.member + 2**40}) for row in rows]
    expected = rules_one_by_one(policy, rows)
    valued = value_columns(policy, columns_from_rows(rows))
    assert _as_dict(rows, valued) == {pk: v.compensation for pk, v in expected.items()}


def test_members_reaching_a_cap_sum_each_members_amounts_on_integers():
    member = np.array([3, 1, 3, 2, 1], dtype=np.int64)
    amounts = np.array([500, 100, 600, 1000, 899], dtype=np.int64)
    # 3: 1 100 and 2: 1 000 (exactly) reach 1 000; 1: 999 does not
    assert simulation.members_reaching(member, amounts, 1000) == 2
    assert simulation.members_reaching(member, amounts, 0) == 3
    assert simulation.members_reaching(member[:0], amounts[:0], 1) == 0
    # sums beyond int64 are exact (an int64 sum would wrap to a negative number)
    huge = np.array([2**62, 2**62, 1], dtype=np.int64)
    assert simulation.members_reaching(np.array([1, 1, 2]), huge, 2**63) == 1


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(1, 8), st.integers(-1000, 5000)), max_size=30),
       cap=st.integers(0, 10_000))
def test_members_reaching_is_each_members_sum_against_the_cap(pairs, cap):
    totals: dict[int, int] = {}
    for member, amount in pairs:
        totals[member] = totals.get(member, 0) + amount
    member = np.array([m for m, _ in pairs], dtype=np.int64)
    amounts = np.array([a for _, a in pairs], dtype=np.int64)
    assert simulation.members_reaching(member, amounts, cap) == sum(1 for total in totals.values() if total >= cap)
