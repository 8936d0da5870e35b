"""`{% load fund_nav %}{% if user|can:"fund.view" %}`: a role's capability in a template (the nav)."""
from django import template

from accounts.roles import user_can

register = template.Library()


@register.filter
def can(user, capability: str) -> bool:
    return user_can(user, capability)


@register.filter
def lookup(mapping, key):
    """`{{ counts|lookup:name }}`: the value under `key`, None when absent (or no mapping)."""
    return mapping.get(key) if isinstance(mapping, dict) else None
