"""`{% load money %}{{ value|yuan }}` → "1,082,904.97" (core.money.format_yuan: to the fen, half up,
thousands separators, "—" for None) and `{{ ratio|percent }}` → "12.50%". Every amount a page or PDF
shows goes through `yuan`; form fields' values and data attributes stay plain (1100.00) so they post.
The library lives here because core is no installed app; any template may load it."""
from django import template

from core.money import format_percent, format_yuan

register = template.Library()


@register.filter
def yuan(value) -> str:
    return format_yuan(value)


@register.filter
def percent(value) -> str:
    return format_percent(value)
