"""Money helpers: decimal yuan with two places (fen). Never float.

Contract: compute with Decimal and round once, at the end of a computation, ROUND_HALF_UP to 0.01.
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")  # no money, written with its two places
RATIO_PLACES = Decimal("0.0001")


def to_fen(value: Decimal) -> Decimal:
    """Round a Decimal to the fen, half up (the contract's only rounding of money)."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def to_ratio(value: Decimal) -> Decimal:
    """Round a ratio to 4 places, half up (report ratios)."""
    return Decimal(value).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def parse_money(text) -> Decimal:
    """Parse a money amount given as text (or Decimal/int); refuse floats and more than 2 places.

    Raises ValueError with a short reason.
    """
    if isinstance(text, float):
        raise ValueError("金额不能是浮点数")
    raw = str(text).strip().replace(",", "")
    if raw == "":
        raise ValueError("金额为空")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError("不是有效的金额") from exc
    if not value.is_finite():
        raise ValueError("不是有效的金额")
    try:
        in_fen = value.quantize(FEN)
    except InvalidOperation:  # more digits than a Decimal holds (e.g. 1E+30): no amount at all
        raise ValueError("金额过大") from None
    if value != in_fen:
        raise ValueError("金额最多两位小数")
    return in_fen
