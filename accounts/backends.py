"""Login throttling (django-axes): a username tried from one address fails AXES_FAILURE_LIMIT
times → that username is refused from that address for AXES_COOLOFF_TIME, even with the right
password. Other users, and the same user from another address, are unaffected.

Axes' own backend refuses to authenticate without an HTTP request. Every login over HTTP (the
login page, the admin login) passes one; `authenticate()` without a request (the test client's
`login()`, a shell) has no address to throttle, so it is left to ModelBackend instead of failing.
"""
from axes.backends import AxesStandaloneBackend
from django.conf import settings


class LoginThrottleBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: refuses a locked-out username+address, authenticates no one."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request) -> str:
    """The address a login comes from (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless the county runs the site behind its own proxies (TRUSTED_PROXY_COUNT, e.g.
    1 for one TLS proxy): then the address the outermost of them saw, which is that many places from
    the right of X-Forwarded-For (each proxy appends what it saw; what a client wrote itself stays
    to the left and is never read). With fewer entries than proxies the header is not to be trusted
    and REMOTE_ADDR is used.
    """
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(chain) >= proxies:
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR", "")
