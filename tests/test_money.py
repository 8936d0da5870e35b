"""core.money.parse_money: an amount in fen, or a ValueError a clerk can read, never another error."""
from decimal import Decimal

import pytest

from core.money import amount_in_words, parse_money


def test_an_amount_is_read_in_fen():
    assert parse_money(" 1,234.5 ") == Decimal("1234.50")


@pytest.mark.parametrize("text,reason", [
    ("1E+30", "金额过大"), ("9" * 40, "金额过大"), ("12.345", "金额最多两位小数"), ("abc", "不是有效的金额"),
])
def test_what_is_not_an_amount_is_a_value_error(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_money(text)


@pytest.mark.parametrize("amount,words", [
    ("0.00", "零元整"), ("10.00", "壹拾元整"), ("1005.07", "壹仟零伍元零柒分"),
    ("12245.67", "壹万贰仟贰佰肆拾伍元陆角柒分"), ("100000000.00", "壹亿元整"), ("0.05", "伍分"),
    ("0.50", "伍角整"), ("1.50", "壹元伍角整"), ("100500.00", "壹拾万零伍佰元整"),
    ("100010000.00", "壹亿零壹万元整"), ("10050000.00", "壹仟零伍万元整"),
    ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"), ("-3.20", "负叁元贰角整"),
])
def test_amount_in_chinese_capital_numerals(amount, words):
    assert amount_in_words(Decimal(amount)) == words
