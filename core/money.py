"""Money helpers: decimal yuan with two places (fen). Never float.

Contract: compute with Decimal and round once, at the end of a computation, ROUND_HALF_UP to 0.01.
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.errors import NcmsError

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


def positive_amount(value, *, words: str = "金额") -> Decimal:
    """A sum of money a service is asked to book or record: text or Decimal in fen, above zero.
    Raises NcmsError `bad_amount` naming `words` (追回金额, 退款金额, …) and the value given."""
    try:
        amount = parse_money(value)
    except ValueError as exc:
        raise NcmsError(f"{words}「{value}」不正确：{exc}", code="bad_amount") from None
    if amount <= ZERO:
        raise NcmsError(f"{words}必须大于 0", code="bad_amount")
    return amount


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _four_digits_in_words(number: int) -> str:
    """0 < number < 10000 in capital numerals, without the leading zeros (1005 → 壹仟零伍)."""
    words, pending_zero, started = "", False, False
    for position in (3, 2, 1, 0):
        digit = number // 10**position % 10
        if digit == 0:
            pending_zero = pending_zero or started
            continue
        if pending_zero:
            words += "零"
            pending_zero = False
        words += _DIGITS[digit] + _SMALL_UNITS[position]
        started = True
    return words


def amount_in_words(amount: Decimal) -> str:
    """An amount in yuan written in Chinese capital numerals (大写金额), as on a cheque or a
    settlement statement: 12245.67 → 壹万贰仟贰佰肆拾伍元陆角柒分, 1005.07 → 壹仟零伍元零柒分,
    10.00 → 壹拾元整, 0.00 → 零元整, 0.05 → 伍分. 整 follows 元 or 角, never 分 (the People's
    Bank's rule for written amounts). Rounded to the fen first (to_fen); negative amounts start
    with 负."""
    fen_total = int(to_fen(amount) * 100)
    sign = "负" if fen_total < 0 else ""
    fen_total = abs(fen_total)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if fen_total == 0:
        return "零元整"
    words = ""
    if yuan:
        groups = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        if len(groups) > len(_BIG_UNITS):
            raise ValueError("金额过大")
        gap = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                gap = gap or bool(words)
                continue
            if words and (gap or group < 1000):
                words += "零"
            words += _four_digits_in_words(group) + _BIG_UNITS[index]
            gap = False
        words += "元"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif fen and words:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    else:
        words += "整"
    return sign + words


def format_yuan(value) -> str:
    """An amount as pages, PDFs and exports show it: rounded to the fen (half up), two decimals and
    thousands separators (1082904.97 → "1,082,904.97"); "—" for None. Anything that is no number
    is returned as it came (a dash already written, a text)."""
    if value is None or value == "":
        return "—"
    try:
        amount = to_fen(Decimal(str(value)) if not isinstance(value, Decimal) else value)
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    return f"{amount:,.2f}"


def format_percent(value) -> str:
    """A ratio (0.1250) as a percentage with two decimals ("12.50%"), half up; "—" for None."""
    if value is None or value == "":
        return "—"
    try:
        ratio = Decimal(str(value)) if not isinstance(value, Decimal) else value
        percent = (ratio * 100).quantize(FEN, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    return f"{percent:,.2f}%"
