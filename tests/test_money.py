"""core.money.parse_money: an amount in fen, or a ValueError a clerk can read, never another error."""
from decimal import Decimal

import pytest

from core.money import parse_money


def test_an_amount_is_read_in_fen():
    assert parse_money(" 1,234.5 ") == Decimal("1234.50")


@pytest.mark.parametrize("text,reason", [
    ("1E+30", "金额过大"), ("9" * 40, "金额过大"), ("12.345", "金额最多两位小数"), ("abc", "不是有效的金额"),
])
def test_what_is_not_an_amount_is_a_value_error(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_money(text)
