"""Cache headers by who asked (settings.MIDDLEWARE).

A response to a signed-in user (a session, or an API token: DRF sets the user on the request) may
carry personal data: it is sent with `Cache-Control: no-store, private` so that no browser history,
shared computer or proxy keeps it. Anonymous responses (the public site) keep whatever caching
their views chose.
"""
from django.utils.cache import patch_cache_control


class PrivateNoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "public" in response.get("Cache-Control", ""):
                # a view's public cache never applies to a signed-in copy of the page
                response.headers.pop("Cache-Control")
            patch_cache_control(response, no_store=True, private=True)
        return response
