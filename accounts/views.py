import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import Role


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    extra_context = {"locked_out": ""}  # set by login_locked_out (django-axes) when locked


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def login_locked_out(request, response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the login page again, status 429, saying why and for how long.

    The log line names the username and the address (never the password) so an administrator can
    see an attack and unlock a clerk early (`manage.py axes_reset_username <name>`)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    logging.getLogger("accounts.security").warning(
        "login locked out: username=%r address=%s", username[:150], request.META.get("REMOTE_ADDR", ""))
    message = _("登录失败次数过多，该用户名在本机已被暂时锁定，请 %(minutes)s 分钟后再试，"
                "或联系系统管理员解锁。") % {"minutes": lockout_minutes()}
    return render(request, "accounts/login.html", {
        "form": AuthenticationForm(request), "locked_out": message,
        "next": request.POST.get("next", request.GET.get("next", "")),
    }, status=429)


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    """Any signed-in user changes their own password (the old one, then the new one twice, checked
    by AUTH_PASSWORD_VALIDATORS); the session stays signed in. Clears must_change_password, which
    an account created by an administrator carries until its first change (accounts.middleware)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        form.user.must_change_password = False
        response = super().form_valid(form)  # saves the user (and with it the flag)
        messages.success(self.request, _("密码已修改。"))
        return response


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
                        ("oversight:facility_list", "定点医疗机构")],
    Role.AUDITOR: [("enrollment:household_search", "家庭户查询"),
                   ("enrollment:participation", "参合率"),
                   ("oversight:facility_list", "定点医疗机构")],
    Role.ADMINISTRATOR: [("enrollment:household_search", "家庭户查询"),
                         ("enrollment:roster_import", "花名册导入"),
                         ("enrollment:participation", "参合率"),
                         ("oversight:facility_list", "定点医疗机构")],
}
# claims pages (claims.views): entry for township clerks, the queue (workbench) for everyone else
HOME_TILES[Role.TOWNSHIP_CLERK] += [("claims:claim_create", "住院补偿录入"), ("claims:claim_list", "住院补偿查询")]
HOME_TILES[Role.FACILITY_CLERK] += [("claims:claim_create", "出院即时结报"), ("claims:claim_list", "本机构住院补偿")]
HOME_TILES[Role.REVIEWER] = [("claims:claim_list", "补偿审核工作台")] + HOME_TILES[Role.REVIEWER]
HOME_TILES[Role.APPROVER] = [("claims:claim_list", "补偿审批工作台")] + HOME_TILES[Role.APPROVER]
for _role in (Role.CASHIER, Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR):
    HOME_TILES[_role] += [("claims:claim_list", "住院补偿查询")]


# the fund (fund.views): the cashier's payout queue first; the ledger for everyone who reads the fund
HOME_TILES[Role.CASHIER] = [("fund:payout_queue", "补偿兑付")] + HOME_TILES[Role.CASHIER]
HOME_TILES[Role.FUND_OFFICER] = [("fund:ledger", "基金账务"), ("fund:income_create", "登记收入"),
                                 ("fund:transfer_create", "划拨至支出户")] + HOME_TILES[Role.FUND_OFFICER]
for _role in (Role.AUDITOR, Role.ADMINISTRATOR, Role.CASHIER):
    HOME_TILES[_role] += [("fund:ledger", "基金账务")]

# who is paid (fund.views_statements, fund.views_recoveries): the facilities' monthly statements,
# the recoveries and the households' refunds
HOME_TILES[Role.CASHIER].insert(1, ("fund:statements", "机构结算单"))
HOME_TILES[Role.FACILITY_CLERK] += [("facility_statements:statements", "本机构结算单")]
for _role in (Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR):
    HOME_TILES[_role] += [("fund:statements", "机构结算单"), ("fund:recovery_list", "追回款")]

# policy simulation (fund.views_simulation): drafts valued against a year's claims; the auditor reads them
for _role in (Role.FUND_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR):
    HOME_TILES[_role] += [("fund:simulation_list", "补偿方案测算")]

# operations (config.ops): the background queue, for those who watch the system
for _role in (Role.ADMINISTRATOR, Role.FUND_OFFICER, Role.AUDITOR):
    HOME_TILES[_role] += [("ops_queue", "后台任务队列")]

# publicity (publicity.views_staff): the queue of villagers' objections and reports
# and the months' notices; a township clerk sees and answers those of the township
for _role in (Role.FUND_OFFICER, Role.REVIEWER, Role.ADMINISTRATOR, Role.APPROVER, Role.AUDITOR, Role.CASHIER,
              Role.TOWNSHIP_CLERK):
    HOME_TILES[_role] += [("publicity_staff:case_list", "公示异议与举报"), ("publicity_staff:notice_months", "补偿公示")]


def home(request):
    """The logged-in user's home page: their role, their scope and their work."""
    return render(request, "accounts/home.html", {"tiles": HOME_TILES.get(request.user.role, [])})


# The tile labels are translated in the template ({% translate label %}), which makemessages cannot
# see; mark the ones no template or model already uses so they reach locale/en (tests/test_i18n.py).
_TILE_LABELS_FOR_MAKEMESSAGES = (gettext_noop("住院补偿查询"), gettext_noop("本机构住院补偿"),
                                 gettext_noop("机构结算单"), gettext_noop("本机构结算单"), gettext_noop("追回款"),
                                 gettext_noop("出院即时结报"), gettext_noop("补偿公示"))
