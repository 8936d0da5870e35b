"""`{% load fund_nav %}{% if user|can:"fund.view" %}`: a role's capability in a template (the nav)."""
from django import template

from accounts.roles import user_can

register = template.Library()


@register.filter
def can(user, capability: str) -> bool:
    return user_can(user, capability)
