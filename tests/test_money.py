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


@pytest.mark.parametrize("value,shown", [
    (Decimal("1082904.97000000"), "1,082,904.97"), (Decimal("562079.860000000"), "562,079.86"),
    (Decimal("8879.79000000000"), "8,879.79"), (Decimal("0.005"), "0.01"), (Decimal("-1234.5"), "-1,234.50"),
    (None, "—"), (Decimal("810"), "810.00"), ("1100.00", "1,100.00"),
])
def test_an_amount_is_shown_to_the_fen_with_thousands_separators(value, shown):
    from core.money import format_yuan

    assert format_yuan(value) == shown


@pytest.mark.parametrize("value,shown", [
    (Decimal("0.1250"), "12.50%"), (Decimal("0.0903"), "9.03%"), (Decimal("1.2"), "120.00%"), (None, "—"),
])
def test_a_ratio_is_shown_as_a_percentage(value, shown):
    from core.money import format_percent

    assert format_percent(value) == shown


@pytest.mark.parametrize("value,message", [
    ("0", "退款金额必须大于 0"), ("-1.00", "退款金额必须大于 0"),
    ("1.001", "退款金额「1.001」不正确：金额最多两位小数"), ("abc", "退款金额「abc」不正确：不是有效的金额"),
])
def test_positive_amount_refuses_naming_what_and_why(value, message):
    from core.errors import NcmsError
    from core.money import positive_amount

    with pytest.raises(NcmsError) as refused:
        positive_amount(value, words="退款金额")
    assert (refused.value.code, refused.value.message) == ("bad_amount", message)
    assert positive_amount("1,000.5") == Decimal("1000.50")
