from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils.decorators import method_decorator

from .models import Role


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


# What each role sees first: the page they work from, in the order they use them.
HOME_TILES: dict[str, list[tuple[str, str]]] = {
    Role.TOWNSHIP_CLERK: [("enrollment:household_search", "家庭户查询"),
                          ("enrollment:household_create", "新建家庭户"),
                          ("enrollment:roster_import", "花名册导入"),
                          ("enrollment:participation", "参合率")],
    Role.FACILITY_CLERK: [],
    Role.REVIEWER: [("enrollment:household_search", "家庭户查询")],
    Role.APPROVER: [("enrollment:household_search", "家庭户查询")],
    Role.CASHIER: [("enrollment:household_search", "家庭户查询")],
    Role.FUND_OFFICER: [("enrollment:participation", "参合率"),
                        ("facilities:facility_list", "定点医疗机构")],
    Role.AUDITOR: [("enrollment:household_search", "家庭户查询"),
                   ("enrollment:participation", "参合率"),
                   ("facilities:facility_list", "定点医疗机构")],
    Role.ADMINISTRATOR: [("enrollment:household_search", "家庭户查询"),
                         ("enrollment:roster_import", "花名册导入"),
                         ("enrollment:participation", "参合率"),
                         ("facilities:facility_list", "定点医疗机构")],
}


def home(request):
    """The logged-in user's home page: their role, their scope and their work."""
    return render(request, "accounts/home.html", {"tiles": HOME_TILES.get(request.user.role, [])})
