"""Content-Security-Policy on every kind of page, secure cookies in production, and
`check --deploy` clean with production settings."""
import base64
import hashlib
import json
import re
import secrets

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import Role
from tests.conftest import login_in_browser
from tests.test_settings import run_with

TEMPLATES = settings.BASE_DIR / "templates"
INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
HANDLER = re.compile(r"""\son[a-z]+=(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""")


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def assert_strict(policy):
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_public_page_has_the_policy(client):
    response = client.get("/public/")
    assert response.status_code == 200
    assert_strict(directives(response))


def test_staff_page_has_the_policy(client, clerk):
    client.force_login(clerk)
    response = client.get("/")
    assert response.status_code == 200
    assert_strict(directives(response))


@pytest.mark.django_db
def test_login_page_has_the_policy(client):
    assert_strict(directives(client.get(reverse("login"))))


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/redoc/"])
def test_api_docs_run_their_inline_script_by_nonce_only(client, users_by_role, path):
    client.force_login(users_by_role[Role.ADMINISTRATOR])
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert_strict(policy)
    page = response.content.decode()
    inline = [m for m in INLINE_SCRIPT.finditer(page) if "src=" not in m["attrs"]]
    if path == "/api/docs/":
        assert len(inline) == 1  # Swagger UI's start-up script
    if inline:  # Redoc without settings has none
        nonces = [value for value in policy["script-src"] if value.startswith("'nonce-")]
        assert len(nonces) == 1
        assert all(f'nonce="{nonces[0][7:-1]}"' in m["attrs"] for m in inline)
    assert "fonts.googleapis.com" not in page


def test_pages_carry_no_inline_script_and_load_forms_js(client, users_by_role):
    """The payout queue's submit-once behaviour comes from static/js/forms.js (data-submit-once),
    not an inline script: the policy has neither hashes nor 'unsafe-hashes'."""
    client.force_login(users_by_role[Role.CASHIER])
    response = client.get(reverse("fund:payout_queue"))
    assert response.status_code == 200
    page = response.content.decode()
    assert [m for m in INLINE_SCRIPT.finditer(page) if "src=" not in m["attrs"]] == []
    assert "js/forms.js" in page
    assert all(value == "'self'" or value.startswith("'nonce-") for value in directives(response)["script-src"])
    assert "'unsafe-hashes'" not in response["Content-Security-Policy"]


def test_every_inline_script_and_handler_in_the_templates_is_nonced():
    """A new inline <script> or on...= handler must go to a static file (static/js/forms.js) or
    carry the nonce — otherwise browsers would silently refuse to run it."""
    missing = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in INLINE_SCRIPT.finditer(text):
            attrs = match["attrs"]
            if "src=" in attrs or "nonce=" in attrs or "application/json" in attrs:
                continue
            missing.append(f"{path.relative_to(TEMPLATES)}: <script>")
        for match in HANDLER.finditer(text):
            missing.append(f"{path.relative_to(TEMPLATES)}: {match[0].strip()[:40]}")
    assert missing == []


PRODUCTION = {"SECRET_KEY": secrets.token_urlsafe(64), "DEBUG": "0",
              "ALLOWED_HOSTS": "ncms.example.gov.cn"}
COOKIES_PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
    "'session_secure': s.SESSION_COOKIE_SECURE, 'session_httponly': s.SESSION_COOKIE_HTTPONLY,"
    " 'session_samesite': s.SESSION_COOKIE_SAMESITE, 'csrf_secure': s.CSRF_COOKIE_SECURE,"
    " 'csrf_httponly': s.CSRF_COOKIE_HTTPONLY, 'csrf_samesite': s.CSRF_COOKIE_SAMESITE,"
    " 'hsts': s.SECURE_HSTS_SECONDS, 'ssl_redirect': s.SECURE_SSL_REDIRECT,"
    " 'hasher': s.PASSWORD_HASHERS[0], 'csp': 'csp.middleware.CSPMiddleware' in s.MIDDLEWARE,"
    " 'axes': 'axes.middleware.AxesMiddleware' in s.MIDDLEWARE}))"
)


def test_production_cookies_are_secure_and_http_only():
    result = run_with(PRODUCTION, "-c", COOKIES_PROBE)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {
        "session_secure": True, "session_httponly": True, "session_samesite": "Lax",
        "csrf_secure": True, "csrf_httponly": True, "csrf_samesite": "Lax",
        "hsts": 31536000, "ssl_redirect": True,
        "hasher": "django.contrib.auth.hashers.Argon2PasswordHasher", "csp": True, "axes": True,
    }


def test_check_deploy_is_clean_with_production_environment():
    result = run_with(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr.replace("WARNING axes", "")


def test_the_session_cookie_is_http_only_and_same_site_lax(client, clerk):
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "clerk", "password": PASSWORD})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"


def test_swagger_ui_and_staff_pages_run_under_the_policy_in_a_browser(transactional_db, live_server, page,
                                                                      users_by_role):
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    login_in_browser(page, live_server, users_by_role[Role.ADMINISTRATOR].username)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "NCMS API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")  # the operations, read from /api/schema/
    page.goto(f"{live_server.url}/public/")
    page.wait_for_load_state("networkidle")
    assert violations == []


@pytest.mark.django_db
def test_signed_in_responses_are_never_stored_and_public_pages_keep_their_caching(client, clerk, users_by_role):
    public = client.get("/public/")
    assert public.status_code == 200
    assert "no-store" not in public.get("Cache-Control", "")

    client.force_login(clerk)
    for path in ("/", "/public/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path
    client.logout()

    token = Token.objects.create(user=users_by_role[Role.FACILITY_CLERK])
    api = client.get("/api/v1/claims/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.status_code == 200
    assert "no-store" in api["Cache-Control"]
