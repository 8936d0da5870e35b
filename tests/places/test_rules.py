"""Place codes: 9 ASCII digits for a township, 12 for a village that begins with its township's."""
import pytest

from places.rules import is_township_code, is_village_code, village_in_township


@pytest.mark.parametrize("code,township,village", [
    ("420102100", True, False),
    ("420102100201", False, True),
    ("42010210", False, False),
    ("４２０１０２１００", False, False),  # full-width digits are not digits here
    ("42010210x", False, False),
    ("", False, False),
])
def test_code_shapes(code, township, village):
    assert (is_township_code(code), is_village_code(code)) == (township, village)


def test_a_village_begins_with_its_townships_code():
    assert village_in_township("420102100201", "420102100")
    assert not village_in_township("420102200201", "420102100")
