"""Settings, read from the environment.

Embedded default (DEBUG=1, which `make run` sets): SQLite file, Celery eager, local-memory cache,
an embedded development key. Production: DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS.
DEBUG is on only when asked (DEBUG=1): a forgotten SECRET_KEY never turns it on, and the web server
refuses to serve without one unless DEBUG is asked for.
"""
import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Without SECRET_KEY this is the embedded default (management commands, the demo, tests): a
# development key, and DEBUG still off unless asked. The web server refuses to serve with it
# outside DEBUG (config/wsgi.py, config/asgi.py), and `check --deploy` warns about it.
EMBEDDED_KEY = not SECRET_KEY
if EMBEDDED_KEY:
    SECRET_KEY = "django-insecure-embedded-development-only-key-" + "x" * 20

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # the admin registers its models when the URLs load (config/urls.py), not at start-up: data
    # commands, workers and the roster import never load it
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally (no CDN)
    "import_export",
    "simple_history",
    "django_htmx",
    "axes",  # login throttling (accounts.backends.LoginThrottleBackend)
    # the project's apps, in their layers from the bottom (docs/architecture.md)
    "accounts",
    "places",
    "facilities",
    "policy",
    "ledger",
    "enrollment",
    "claims",
    "fund",
    "oversight",
    "publicity",
    "demo",
]

MIDDLEWARE = [
    # First: the request id (X-Request-ID) for every line of the request, and its access line.
    "core.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signed-in responses carry personal data: Cache-Control no-store (config/middleware.py).
    "config.middleware.PrivateNoStoreMiddleware",
    # An account an administrator created changes its password first (accounts/middleware.py).
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    # Every view needs a login unless marked @login_not_required (public site, login, API schema).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a refused locked-out login into the login page with its message (status 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "config.work_counts.work_counts",  # what waits behind each home tile
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # the covering index of the monthly report (claims.Claim, INCLUDE columns) is a plain index on
    # SQLite, which is the embedded default's business, not a warning on every command
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): AXES_FAILURE_LIMIT failures of one username from one address lock
# that pair out for LOGIN_LOCKOUT_MINUTES, even with the right password. Attempts are kept in the
# database (AccessAttempt), which every web process shares on SQLite and PostgreSQL alike; the
# address is REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies of the county's own the client's
# address as the outermost proxy saw it (accounts.backends.client_address).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_SENSITIVE_PARAMETERS = ["password"]
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Simplified Chinese by default; English on request. Message ids are the Chinese text itself,
# so the default language never depends on a translation catalogue being complete.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (scans, import files) live outside the static root and are served only through views.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # the embedded default serves static files as they are (no collectstatic needed, e.g. for
        # the PDFs a command renders); production serves the collected, hashed files
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or EMBEDDED_KEY
        else "config.storage.StaticFiles",  # WhiteNoise's hashed files, never strict (config/storage.py)
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
ROSTER_UPLOAD_MAX_BYTES = int(os.environ.get("ROSTER_UPLOAD_MAX_BYTES", 50 * 1024 * 1024))
# Scans of a claim and documents of an inspection: PDF/JPEG/PNG by their first bytes (core.uploads).
CLAIM_DOCUMENT_MAX_BYTES = int(os.environ.get("CLAIM_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024))
INSPECTION_DOCUMENT_MAX_BYTES = int(os.environ.get("INSPECTION_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024))
# The largest total cost (住院总费用, yuan) a claim may state: anything above it is refused with
# bad_amounts wherever claim facts are checked (claims.eligibility), a typing slip caught before
# it is valued or stored.
try:
    CLAIM_TOTAL_COST_MAX = Decimal(os.environ.get("CLAIM_TOTAL_COST_MAX", "5000000.00").strip())
except InvalidOperation:
    CLAIM_TOTAL_COST_MAX = None
if CLAIM_TOTAL_COST_MAX is None or not CLAIM_TOTAL_COST_MAX.is_finite() \
        or not Decimal("0") < CLAIM_TOTAL_COST_MAX < Decimal("1e16"):
    raise ImproperlyConfigured("CLAIM_TOTAL_COST_MAX must be an amount in yuan above 0 and below 10^16")

# Redis: broker, result store and cache when REDIS_URL is set; otherwise eager tasks + memory cache.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache that answers as a miss while Redis is down (core/cache.py)
            "BACKEND": "core.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ncms",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2, "RETRY_AFTER": 5},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task handed to a worker stays in Redis, unacknowledged (acks_late), until it ends; if the
# worker dies, Redis hands it out again once it has been out this many seconds. Longer than any
# task runs (a duplicate would run alongside it: harmless, every task is safe to run twice, but
# wasted); no task is sent with a countdown or an ETA, which this would also delay.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900"))}
# Liveness of background jobs (core/jobs.py): a worker on a job refreshes its heartbeat every
# JOB_HEARTBEAT_INTERVAL seconds; a job whose heartbeat is older than JOB_HEARTBEAT_TIMEOUT seconds
# (and, on PostgreSQL, whose lock nobody holds) was interrupted. The sweep (config/celery.py) hands
# an interrupted job out again, at most JOB_REDELIVER_MAX times, then fails it for a person to retry.
JOB_HEARTBEAT_INTERVAL = int(os.environ.get("JOB_HEARTBEAT_INTERVAL", "15"))
JOB_HEARTBEAT_TIMEOUT = int(os.environ.get("JOB_HEARTBEAT_TIMEOUT", "60"))
JOB_REDELIVER_MAX = int(os.environ.get("JOB_REDELIVER_MAX", "3"))
if not 0 < JOB_HEARTBEAT_INTERVAL < JOB_HEARTBEAT_TIMEOUT:
    raise ImproperlyConfigured("JOB_HEARTBEAT_INTERVAL must be above 0 and below JOB_HEARTBEAT_TIMEOUT")
# Above this many data rows, a browser roster import runs as a background task with progress.
ROSTER_ASYNC_THRESHOLD = int(os.environ.get("ROSTER_ASYNC_THRESHOLD", "3000"))
# Above this many rows, the roster and contributions exports are written by a background task
# (enrollment.exports): the page shows its progress and the download link when it is done.
EXPORT_ASYNC_THRESHOLD = int(os.environ.get("EXPORT_ASYNC_THRESHOLD", "5000"))
# The admin's exports of households, members and enrollments are written in the request: above
# this many rows they are refused (filter first, or use the export page's background jobs).
ADMIN_EXPORT_MAX_ROWS = int(os.environ.get("ADMIN_EXPORT_MAX_ROWS", "10000"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    # unhandled errors are JSON with a code: 503 database_unavailable, 500 server_error
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_USER_RATE", "600/minute"),
        "anon": "60/minute",
        # quote and settle calls of one facility user (claims.api.SettleThrottle)
        "settle": os.environ.get("API_SETTLE_RATE", "600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NCMS API",
    "DESCRIPTION": "新型农村合作医疗 county scheme: facility settlement and county tools",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc from the drf-spectacular-sidecar package (static files), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# history is read per object (by its id), in date order within it: no index on the date alone
SIMPLE_HISTORY_DATE_INDEX = False
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Exports write text as text: the project's resources prefix a formula-like cell with an apostrophe
# (core.tabular.TextCellsResource); this is django-import-export's own guard behind it.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# Admin import/export need the model's permission (without these, any is_staff user could export
# every member's ID number from the admin, or import registers: tests/security_walk).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# Demo / county settings
COUNTY_CODE = os.environ.get("COUNTY_CODE", "420102")
COUNTY_NAME = os.environ.get("COUNTY_NAME", "示范县")
PARTICIPATION_TARGET = "0.95"

# Security: secure cookies and HTTPS in production (DEBUG off); `check --deploy` is clean.
# A session ends after SESSION_IDLE_HOURS (8) without a request: every request renews it.
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_IDLE_HOURS", "8")) * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no script reads the cookie: forms carry {% csrf_token %}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP (config/health.py)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp 4): our own origin only. No inline script runs except with
# the request's nonce (the Swagger UI and Redoc pages, templates/drf_spectacular/); the forms'
# small behaviours are in static/js/forms.js. tests/security/test_headers.py fails when a
# template gains an inline script or handler. Style attributes are allowed (progress bars, the
# participation chart). QR codes and report charts are data: images; Redoc runs a blob: worker.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Logs (core/logs.py): LOG_FORMAT=json (one JSON object per line, the default with DEBUG off) or
# plain; every line carries the request id (X-Request-ID) or the Celery task id; one access line
# per request (ncms.access: method, path without query string, status, duration_ms, user_id).
# LOG_STREAM=stderr (default) or stdout: stderr keeps the stdout of the contract's commands
# (quote_claims, fund_report, facility_flags) pure data; process managers collect both streams.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOG_STREAM = os.environ.get("LOG_STREAM", "stderr")
if LOG_FORMAT not in {"json", "plain"} or LOG_STREAM not in {"stdout", "stderr"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain, LOG_STREAM stdout or stderr")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "core.logs.ContextFilter"},
        "redact": {"()": "core.logs.RedactFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "stream": f"ext://sys.{LOG_STREAM}",
            "formatter": LOG_FORMAT, "filters": ["context", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own lines go through the one console handler above (not its default ones).
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # django-axes announces itself at INFO whenever Django starts ("AXES: BEGIN version …"):
        # commands print only what they did and what went wrong; lockouts are logged at WARNING.
        "axes": {"level": "WARNING"},
        # WeasyPrint narrates each step of a PDF at INFO, fontTools its subsetting: not the user's news
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # Django writes raw paths ("Not Found: /api/v1/members/<ID number>/"); masked at the source.
        "django.request": {"filters": ["redact"]},
        "django.server": {"filters": ["redact"], "propagate": True},
    },
}
# The worker keeps these handlers and formats (task id on every line) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Publicity (publicity/): the objection period of a compensation notice (days after posting, set
# per county) and the county's phone number for reports (举报电话) printed on notices.
NOTICE_OBJECTION_DAYS = int(os.environ.get("NOTICE_OBJECTION_DAYS", "7"))
COUNTY_REPORT_PHONE = os.environ.get("COUNTY_REPORT_PHONE", "0710-12345678")
