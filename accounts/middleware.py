"""A user whose account an administrator created (User.must_change_password) reaches only the
password change page until they have chosen their own password (settings.MIDDLEWARE)."""
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            change = reverse("password_change")
            allowed = (change, reverse("logout"), reverse("set_language"))
            if request.path not in allowed:
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": "password_change_required",
                                         "message": _("请先在网页上修改初始密码。")}, status=403)
                return redirect(change)
        return self.get_response(request)
