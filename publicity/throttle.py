"""Per-address throttling of the public forms and the own-claim lookup: a counter in the django
cache (Redis when configured, so every gunicorn worker shares it) per scope, client address and
hour window."""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

# scope -> (attempts, seconds)
RATES = {
    "case": (5, 3600),     # objections and reports filed
    "lookup": (10, 3600),  # own-claim lookups
    "status": (30, 3600),  # tracking-code checks
    "calculator": (30, 3600),  # the policy page's calculations
}


def client_address(request) -> str:
    """REMOTE_ADDR, or the first X-Forwarded-For hop when settings.PUBLIC_TRUST_FORWARDED_FOR
    says the site runs behind a proxy that sets it."""
    if getattr(settings, "PUBLIC_TRUST_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def throttle_hit(request, scope: str) -> bool:
    """Count one attempt; True when the address is still within its allowance."""
    limit, window = RATES[scope]
    key = f"publicity:throttle:{scope}:{client_address(request)}:{int(time.time() // window)}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired in between
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit
