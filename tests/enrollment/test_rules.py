"""GB 11643 resident ID validation (enrollment.rules), no database."""
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrollment.rules import (
    FEMALE,
    MALE,
    InvalidIdNumber,
    id_check_character,
    looks_mangled_by_excel,
    make_resident_id,
    parse_resident_id,
)

TODAY = date(2026, 12, 4)  # a fixed day: the rules take today from their caller


def test_known_valid_id_with_x_check_character():
    # 11010519491231002X is the standard's worked example (a woman born 1949-12-31)
    parsed = parse_resident_id("11010519491231002X", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == FEMALE
    assert parsed.region == "110105"


def test_lower_case_x_is_accepted_and_normalised():
    assert parse_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"


def test_odd_sequence_digit_is_a_man():
    # 440524188001010014: the standard's other example, a man born 1880-01-01
    assert parse_resident_id("440524188001010014", today=TODAY).sex == MALE


def test_bad_checksum_is_refused_and_names_the_right_character():
    with pytest.raises(InvalidIdNumber, match="校验码.*X"):
        parse_resident_id("110105194912310021", today=TODAY)


def test_impossible_birth_date_is_refused():
    body = "42010219900230001"  # 30 February
    with pytest.raises(InvalidIdNumber, match="出生日期不存在"):
        parse_resident_id(body + id_check_character(body), today=TODAY)


def test_future_birth_date_is_refused():
    body = "42010220990101001"
    with pytest.raises(InvalidIdNumber, match="不合理"):
        parse_resident_id(body + id_check_character(body), today=date(2026, 11, 23))


@pytest.mark.parametrize("raw", ["4.21127E+17", "4.20102199001011E+17", "4.2e17", " 4.21127e+17 "])
def test_excel_scientific_notation_is_refused_with_advice_to_format_as_text(raw):
    assert looks_mangled_by_excel(raw)
    with pytest.raises(InvalidIdNumber, match="文本"):
        parse_resident_id(raw, today=TODAY)


@pytest.mark.parametrize("raw,reason", [("4201021990010112", "18位"), ("42010219900101123A", "数字"),
                                        ("", "18位"), ("42010219900101123456", "18位")])
def test_wrong_shape_is_refused(raw, reason):
    with pytest.raises(InvalidIdNumber, match=reason):
        parse_resident_id(raw, today=TODAY)


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    sequence=st.integers(min_value=0, max_value=99),
    sex=st.sampled_from([MALE, FEMALE]),
)
def test_generated_ids_round_trip(born, sequence, sex):
    number = make_resident_id("420102", born, sequence, sex)
    parsed = parse_resident_id(number, today=TODAY)
    assert (parsed.birth_date, parsed.sex, parsed.number) == (born, sex, number)


@given(position=st.integers(min_value=0, max_value=16), delta=st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_in_the_body_is_caught(position, delta):
    number = "11010519491231002X"
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    with pytest.raises(InvalidIdNumber):
        parse_resident_id(changed, today=TODAY)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_is_the_weighted_sum_of_gb_11643(body):
    # id_check_character computes it through a base-13 reading; this is the standard's own formula
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(body, weights))
    assert id_check_character(body) == "10X98765432"[total % 11]


def test_check_character_of_a_published_example():
    assert id_check_character("11010519491231002") == "X"  # GB 11643-1999's example


@pytest.mark.parametrize("body", ["1101051949123100a", "1101051949123100", "110105194912310022", "１１０１０５１９４９１２３１００２"])
def test_check_character_needs_17_ascii_digits(body):
    with pytest.raises(ValueError):
        id_check_character(body)


def test_full_width_digits_are_refused_as_not_digits():
    body = "11010519491231002"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in body) + "X"
    with pytest.raises(InvalidIdNumber, match="数字"):
        parse_resident_id(full_width, today=TODAY)


def test_a_child_born_today_in_the_county_is_accepted_while_utc_is_still_yesterday(clock):
    """00:30 on 1 March in the county is 16:30 on 28 February in UTC, and on a machine clock in UTC:
    "today" is the county's date."""
    from django import forms as django_forms

    from enrollment.forms import IdNumberField

    clock("2027-03-01 00:30")
    newborn = make_resident_id("420102", date(2027, 3, 1), 1, FEMALE)
    assert IdNumberField().clean(newborn) == newborn
    with pytest.raises(django_forms.ValidationError, match="出生日期不合理"):
        IdNumberField().clean(make_resident_id("420102", date(2027, 3, 2), 1, FEMALE))
