"""The masking rule of every public output (docs/rules.md, "Publicity and masking"), pure functions.

- a name keeps its first character and, for names of three or more characters, its last:
  张* (2), 张*丰 (3), 欧**华 (4); a one-character name shows as itself followed by *;
- an ID number shows only its first 6 and last 4 characters, the rest as * (18 → 6 + 8* + 4).

Notices store the masked values only (publicity.models.NoticeLine), so a public page or PDF
has nothing unmasked to leak.
"""
from __future__ import annotations

import secrets

MASK = "*"
# Crockford's base32 without I, L, O, U: read out over the phone without confusion.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_LENGTH = 10


def mask_name(name: str) -> str:
    """张三 → 张*, 张三丰 → 张*丰, 欧阳春华 → 欧**华."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + MASK
    return name[0] + MASK * (len(name) - 2) + name[-1]


def mask_id(id_number: str) -> str:
    """420102199001011234 → 420102********1234; anything of 10 characters or fewer is all *."""
    id_number = (id_number or "").strip()
    if len(id_number) <= 10:
        return MASK * len(id_number)
    return id_number[:6] + MASK * (len(id_number) - 10) + id_number[-4:]


def tracking_code_new() -> str:
    """10 characters of Crockford base32 (50 bits), from the OS's secure random source."""
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def tracking_code_clean(text: str) -> str:
    """What a villager typed, normalised: upper case, no spaces or dashes, O→0, I/L→1."""
    text = (text or "").upper().replace(" ", "").replace("-", "")
    return text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
