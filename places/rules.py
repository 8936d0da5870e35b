"""Place codes in the administrative division style (docs/rules.md, "Places and codes"): a
township's code is 9 ASCII digits (6-digit county + 3-digit township), a village's 12 (its
township's 9 + 3 more). Full-width digits are not digits here: a code is stored as typed."""
import re

_TOWNSHIP_CODE = re.compile(r"[0-9]{9}")
_VILLAGE_CODE = re.compile(r"[0-9]{12}")


def is_township_code(code: str) -> bool:
    return bool(_TOWNSHIP_CODE.fullmatch(str(code)))


def is_village_code(code: str) -> bool:
    return bool(_VILLAGE_CODE.fullmatch(str(code)))


def village_in_township(village_code: str, township_code: str) -> bool:
    """A village's code begins with its township's."""
    return village_code[:9] == township_code
