"""The masking rule (docs/rules.md, "Publicity and masking") and tracking codes."""
import string

from hypothesis import given
from hypothesis import strategies as st

from publicity.rules import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    mask_id,
    mask_name,
    tracking_code_clean,
    tracking_code_new,
)

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


def test_names_keep_the_first_and_for_three_or_more_the_last_character():
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("欧阳春华") == "欧**华"
    assert mask_name("司马相如文") == "司***文"
    assert mask_name("张") == "张*"
    assert mask_name("") == ""
    assert mask_name(" 李娜 ") == "李*"


def test_ids_keep_the_first_six_and_last_four():
    assert mask_id("420102199001011234") == "420102********1234"
    assert mask_id("42010219900101123X") == "420102********123X"
    assert mask_id("420102900101123") == "420102*****1123"  # 15-digit old IDs: 6 + 5* + 4
    assert mask_id("12345") == "*****"
    assert mask_id("") == ""


@given(st.text(alphabet=HAN, min_size=2, max_size=8))
def test_a_masked_name_never_contains_the_full_name(name):
    masked = mask_name(name)
    assert name not in masked
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert masked.count("*") == (1 if len(name) == 2 else len(name) - 2)


@given(st.text(alphabet=string.digits, min_size=17, max_size=17), st.sampled_from(string.digits + "X"))
def test_a_masked_id_never_contains_the_full_id_and_hides_the_birth_date(body, check):
    id_number = body + check
    masked = mask_id(id_number)
    assert id_number not in masked
    assert masked == id_number[:6] + "*" * 8 + id_number[-4:]
    assert id_number[6:14] not in masked.replace("*", "")[6:]


def test_tracking_codes_are_ten_unambiguous_characters_and_differ():
    codes = {tracking_code_new() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == TRACKING_LENGTH and set(code) <= set(TRACKING_ALPHABET)
        assert not set(code) & set("ILOU")


def test_a_typed_code_is_normalised():
    assert tracking_code_clean(" abcd-efgh o1 ") == "ABCDEFGH01"
    assert tracking_code_clean("il") == "11"
