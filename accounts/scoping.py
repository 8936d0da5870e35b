"""Scoping, the law of the house, in one place.

A township clerk reaches only their township; a facility clerk only their facility; county roles
the whole county; anyone else nothing. Every model's queryset exposes `for_user(user)` built on
these helpers, and every view, API and export reads through it, so an object out of scope is
simply not found (404), never filtered by an `if` in a view.
"""
from django.db.models import QuerySet

from .models import Role


def is_county_wide(user) -> bool:
    from .roles import COUNTY_ROLES

    return bool(user.is_superuser or user.role in COUNTY_ROLES)


def scope_by_township(queryset: QuerySet, user, township_field: str) -> QuerySet:
    """Rows whose township (reached by `township_field`, e.g. "village__township") is the user's."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if is_county_wide(user):
        return queryset
    if user.role == Role.TOWNSHIP_CLERK and user.township_id:
        return queryset.filter(**{township_field: user.township_id})
    return queryset.none()


def scope_by_facility(queryset: QuerySet, user, facility_field: str = "facility") -> QuerySet:
    """Rows of the user's facility for facility clerks; all for county roles; none otherwise."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if is_county_wide(user):
        return queryset
    if user.role == Role.FACILITY_CLERK and user.facility_id:
        return queryset.filter(**{facility_field: user.facility_id})
    return queryset.none()


def scope_by_facility_location(queryset: QuerySet, user, facility_field: str, township_field: str) -> QuerySet:
    """Facilities' rows as their supervisors reach them: all for county roles, the user's facility
    for a facility clerk (reached by `facility_field`), and for a township clerk the facilities
    located in their township (the facility's own `township`, reached by `township_field`): the
    township office supervises the facilities on its ground, whoever their patients are."""
    if getattr(user, "is_authenticated", False) and user.is_active and not is_county_wide(user) \
            and user.role == Role.TOWNSHIP_CLERK:
        return scope_by_township(queryset, user, township_field)
    return scope_by_facility(queryset, user, facility_field)
