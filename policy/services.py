"""Loading a scheme year's policy file: the contract's `load_policy` (docs/contract.md, "Management
commands" and "Policy file").

A file is validated whole (`policy.rules.parse_policy`) and then loads or replaces that year's
policy in one transaction, the history table keeping every earlier version with who loaded it and
when. Claims already valued keep the breakdown and revision they were valued with.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import PolicyVersion
from .rules import Policy, parse_policy


def policy_load(*, data: dict, user=None) -> PolicyVersion:
    """Load the policy of `data["year"]`, or replace the one already loaded for that year.

    Raises `policy.rules.PolicyInvalid` listing every problem, having written nothing. Loading
    the very same document again changes nothing (no new revision). Claims already valued keep their
    stored breakdown and the revision they were valued with, so a replacement changes only
    claims valued after it.
    """
    # Validation is pure and comes first: a refused file never opens a transaction.
    policy = parse_policy(data)
    return _policy_store(policy=policy, data=data, user=user)


@transaction.atomic
def _policy_store(*, policy: Policy, data: dict, user) -> PolicyVersion:
    # Lock the year's row, so two loads of the same year run one after the other.
    current = PolicyVersion.objects.select_for_update().filter(year=policy.year).first()
    if current is not None and current.document == data:
        return current
    if current is None:
        version = PolicyVersion(year=policy.year, revision=1)
        reason = "载入"
    else:
        version = current
        version.revision = current.revision + 1
        reason = f"替换（第{version.revision}版）"
    version.name = policy.name
    version.document = data
    version.loaded_at = timezone.now()
    version.loaded_by = user
    version._history_user = user
    version._change_reason = reason
    version.save()
    return version


# =============================================================================================
