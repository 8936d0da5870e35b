"""Pure enrollment rules (no ORM): the resident ID number per GB 11643-1999, code formats, and the
words of the contribution rule (the clerk's form and the roster import say it alike).

The ID carries its own checks: 6-digit region, 8-digit birth date (a real date), 3-digit sequence
whose last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character.
"""
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9Xx]$")  # ASCII digits only (\d would take full-width ones)
_SCIENTIFIC = re.compile(r"^\s*\d(\.\d+)?[eE]\+?\d+\s*$")

MALE = "M"
FEMALE = "F"


class InvalidIdNumber(ValueError):
    """The ID number is not valid; the message says why in words a clerk understands."""


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalised: 18 characters, check character upper-case
    region: str
    birth_date: date
    sex: str  # "M" or "F"


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits.

    The weights are 2**(17-i) mod 11, so the weighted sum is congruent to twice the digits read
    as a base-13 number (13 = 2 mod 11): one int() call instead of 17 multiplications (a county's
    roster checks every ID; test_rules checks this against the weights table)."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"not 17 digits: {first17!r}")  # base 13 would also take a, b and c
    return _CHECK_CHARS[2 * int(first17, 13) % 11]


def looks_mangled_by_excel(raw: str) -> bool:
    """True for values such as 4.21127E+17 that a spreadsheet made of an 18-digit ID."""
    return bool(_SCIENTIFIC.match(str(raw)))


def parse_resident_id(raw: str, *, today: date) -> ResidentId:
    """Validate an 18-character resident ID and return its parts.

    Accepts a lower-case x as check character (normalised to X). Raises InvalidIdNumber. A birth
    date after `today` (default: the county's date, settings.TIME_ZONE) is refused.
    """
    text = str(raw).strip()
    if looks_mangled_by_excel(text):
        raise InvalidIdNumber(
            "身份证号被表格软件转成了科学计数法，已无法还原；请把该列设置为“文本”格式后重新录入"
        )
    if len(text) != 18:
        raise InvalidIdNumber(f"身份证号应为18位，实际为{len(text)}位")
    if not _SHAPE.match(text):
        raise InvalidIdNumber("身份证号前17位必须是数字，最后一位是数字或X")
    number = text.upper()
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("身份证号中的出生日期不存在") from exc
    if birth > today or birth.year < 1880:
        raise InvalidIdNumber("身份证号中的出生日期不合理")
    expected = id_check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber("身份证号校验码错误（最后一位应为" + expected + "），请核对号码")
    sex = MALE if int(number[16]) % 2 == 1 else FEMALE
    return ResidentId(number=number, region=number[:6], birth_date=birth, sex=sex)


def make_resident_id(region: str, birth_date: date, sequence: int, sex: str) -> str:
    """Build a valid ID number (for demo data and tests): sequence 0-99, the sex digit follows."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be 6 digits")
    sex_digit = (sequence % 5) * 2 + (1 if sex == MALE else 0)
    body = f"{region}{birth_date:%Y%m%d}{sequence % 100:02d}{sex_digit}"
    return body + id_check_character(body)


HOUSEHOLD_SERIAL_DIGITS = 4


def household_number_problem(number: str, village_code: str, *, digits_only: bool = False) -> str | None:
    """Why a household number (户号) is not built as the county builds them, or None.

    A household number is its village's 12-digit code followed by a 4-digit serial: 16 digits
    (4201021002010001), as the demo county and the clerk pages number households. The clerk's form
    holds every new number to it. A roster (docs/contract.md, "Roster file": any number unique in
    the county) may carry numbers of an older numbering with letters (H0001); `digits_only` checks
    only the numbers written in digits alone, which are meant to follow the county's numbering
    (12345 is a serial without its village code)."""
    text = (number or "").strip()
    if digits_only and not (text.isascii() and text.isdigit()):
        return None
    width = len(village_code) + HOUSEHOLD_SERIAL_DIGITS
    if (len(text) == width and text.isascii() and text.isdigit() and text.startswith(village_code)
            and int(text[len(village_code):]) > 0):
        return None
    return (f"户号应为所在村的村代码{village_code}加{HOUSEHOLD_SERIAL_DIGITS}位序号，共{width}位数字，"
            f"例如{village_code}{1:0{HOUSEHOLD_SERIAL_DIGITS}d}")


def no_policy_message(year: int) -> str:
    """Why no contribution of `year` is recorded before the year's policy is loaded."""
    return f"{year}年度的补偿方案还没有导入，不能登记缴费：请先导入{year}年度的补偿方案"


def wrong_amount_message(year: int, expected: Decimal) -> str:
    """Why a contribution of another amount than the year's policy `contribution.individual` is refused."""
    return f"缴费金额应为{year}年度补偿方案规定的个人缴费 {expected} 元，个人缴纳或民政代缴都是这个金额"


# --- phone and bank account: digits only -------------------------------------------------------
# Both are written into the fund office's spreadsheets and bank files: only ASCII digits are kept,
# so no cell can start with "=", "+", "-" or "@" (core.tabular.text_cell) and a bank never receives
# letters. Clerks may group digits with spaces or hyphens as printed on a card; those are dropped.
_GROUPED_DIGITS = re.compile(r"^[0-9]+(?:[ \-][0-9]+)*$")
PHONE_MAX_DIGITS = 20
BANK_ACCOUNT_MAX_DIGITS = 40
PHONE_DIGITS_ONLY = "联系电话只能填数字（最多20位）"
BANK_ACCOUNT_DIGITS_ONLY = "银行账号只能填数字（最多40位）"


def digits_only(text: str, *, max_digits: int) -> str | None:
    """The digits of `text` (spaces and hyphens between digit groups dropped); "" for a blank; None
    when anything else is in it or it is too long."""
    text = (text or "").strip()
    if not text:
        return ""
    if not _GROUPED_DIGITS.match(text):
        return None
    digits = text.replace(" ", "").replace("-", "")
    return digits if len(digits) <= max_digits else None
