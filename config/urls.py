import sys

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views import defaults
from django.views.i18n import set_language

from config import health, ops
from core.api_errors import json_server_error

admin.autodiscover()  # every app's admin.py (settings: SimpleAdminConfig)

urlpatterns = [
    path("", include("accounts.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("enrollment/", include("enrollment.urls")),
    # a facility clerk's own statements (fund.views_statements), before the facilities' pages
    path("facilities/statements/", include("fund.urls_statements_own")),
    path("facilities/", include("oversight.urls")),
    path("claims/", include("claims.urls")),
    path("fund/report/", include("fund.urls_report")),  # monthly fund report dashboard
    path("fund/", include("fund.urls")),
    path("public/", include("publicity.urls")),  # the public site, no login (publicity.views)
    path("publicity/", include("publicity.urls_staff")),  # objections and reports queue (staff)
    path("admin/", admin.site.urls),
    path("api/", include("claims.api_urls")),  # /api/v1/, /api/schema/, /api/docs/
    path("api/", include("fund.api_urls")),  # /api/v1/statements/ (fund.api)
    path("healthz", health.healthz, name="healthz"),  # no login: load balancers, monitoring
    path("ops/queue/", ops.queue, name="ops_queue"),  # background queue for the county office
]

admin.site.site_header = "新型农村合作医疗管理系统"
admin.site.site_title = "新农合"
admin.site.index_title = "系统管理"


def server_error(request, *args, **kwargs):
    """500 (DEBUG off): under /api/ JSON with a code, as the API views answer (core.api_errors),
    e.g. when the database is lost in a middleware before the view; elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return json_server_error(sys.exc_info()[1])
    return defaults.server_error(request, *args, **kwargs)


handler500 = server_error


def permission_denied(request, exception=None):
    """403: the site's Chinese page with its navigation; the admin keeps Django's plain page (its
    pages are not the site's: the site's layout does not render inside the admin's namespace)."""
    if request.path.startswith("/admin/"):
        return defaults.permission_denied(request, exception, template_name="403_plain.html")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    """404: as 403, the site's page outside the admin."""
    if request.path.startswith("/admin/"):
        return defaults.page_not_found(request, exception, template_name="404_plain.html")
    return defaults.page_not_found(request, exception)


handler403 = permission_denied
handler404 = page_not_found
