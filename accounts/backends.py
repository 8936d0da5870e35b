"""Login throttling (django-axes): a username tried from one address fails AXES_FAILURE_LIMIT
times → that username is refused from that address for AXES_COOLOFF_TIME, even with the right
password. Other users, and the same user from another address, are unaffected.

Axes' own backend refuses to authenticate without an HTTP request. Every login over HTTP (the
login page, the admin login) passes one; `authenticate()` without a request (the test client's
`login()`, a shell) has no address to throttle, so it is left to ModelBackend instead of failing.
"""
from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: refuses a locked-out username+address, authenticates no one."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
