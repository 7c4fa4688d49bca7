"""Settings for the visitor platform: one module, configured from the environment.

Development needs no configuration: with ``DATABASE_URL`` and ``REDIS_URL`` unset, embedded
PostgreSQL and Redis start under ``.data/``. With ``DEBUG`` off every secret must be given,
and start-up stops with a message naming the ones that are missing.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / ".data"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("DEBUG", True)

_REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "BASE_DOMAIN",
    "FIELD_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
)
if not DEBUG:
    _missing = [name for name in _REQUIRED_IN_PRODUCTION if not os.environ.get(name)]
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is off, so these settings must be set in the environment: "
            + ", ".join(_missing)
            + ". See docs/deployment.md."
        )
    _dev_secrets: dict[str, str] = {}
else:
    from visit_platform.devservers import development_secrets

    _dev_secrets = development_secrets(DATA_DIR)

SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secrets["SECRET_KEY"]

# Buildings are served at <slug>.<BASE_DOMAIN>; the bare BASE_DOMAIN is the operator's site.
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost").lower()
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
# How links in e-mails start; production sits behind TLS.
PUBLIC_SCHEME = os.environ.get("PUBLIC_SCHEME", "http" if DEBUG else "https")
# The port in those links, when the site is not on the scheme's own (the demo's 8000). In
# development, unset, links made during a request take that request's port (runserver's).
PUBLIC_PORT = os.environ.get("PUBLIC_PORT", "").strip()
if PUBLIC_PORT and not (PUBLIC_PORT.isdigit() and 0 < int(PUBLIC_PORT) < 65536):
    raise ImproperlyConfigured(f"PUBLIC_PORT must be a port number (1 to 65535): {PUBLIC_PORT!r}")
if DEBUG or "pytest" in sys.modules:
    ALLOWED_HOSTS += ["localhost", ".localhost", "127.0.0.1", "testserver", ".testserver"]


# --- Personal data keys -------------------------------------------------------------------

_urlsafe_base64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _decode_key(name: str, text: str) -> bytes:
    # The decoder skips characters outside the alphabet; a mangled key must not decode.
    if not _urlsafe_base64.fullmatch(text):
        raise ImproperlyConfigured(f"{name} is not valid URL-safe base64")
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ImproperlyConfigured(f"{name} is not valid URL-safe base64") from error
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must decode to 32 bytes, not {len(key)}")
    return key


def _parse_encryption_keys(text: str) -> dict[str, bytes]:
    """``FIELD_ENCRYPTION_KEYS`` is ``id=key,id=key``; the first is used for new data."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_id, separator, value = item.partition("=")
        if not separator or not key_id:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must look like 'id=key,id=key'")
        if ":" in key_id:
            # Ciphertexts are "v1:<key id>:...", so the id cannot hold the separator.
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS id {key_id!r} must not contain ':'")
        if key_id in keys:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS names the key id {key_id!r} twice")
        keys[key_id] = _decode_key(f"FIELD_ENCRYPTION_KEYS[{key_id}]", value)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS names no key")
    return keys


FIELD_ENCRYPTION_KEYS = _parse_encryption_keys(
    os.environ.get("FIELD_ENCRYPTION_KEYS") or f"dev={_dev_secrets['FIELD_ENCRYPTION_KEY']}"
)
FIELD_ENCRYPTION_KEY_ID = os.environ.get("FIELD_ENCRYPTION_KEY_ID") or next(
    iter(FIELD_ENCRYPTION_KEYS)
)
if FIELD_ENCRYPTION_KEY_ID not in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY_ID names no key in FIELD_ENCRYPTION_KEYS")
BLIND_INDEX_KEY = _decode_key(
    "BLIND_INDEX_KEY", os.environ.get("BLIND_INDEX_KEY") or _dev_secrets["BLIND_INDEX_KEY"]
)


# --- Applications ---------------------------------------------------------------------------

SHARED_APPS = [
    "django_tenants",
    "daphne",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "channels",
    "viewflow",
    "visit_platform.web",
]
TENANT_APPS = [
    "viewflow.workflow",
    "visit_platform.audit",
    "visit_platform.directory",
    "visit_platform.visits",
    "visit_platform.access",
    "visit_platform.notifications",
    "forms",
    "workflows",
    "visit_platform.reports",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Building"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New buildings are cloned from this schema instead of running every migration again.
TENANT_BASE_SCHEMA = "building_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
AUTH_USER_MODEL = "tenants.User"

MIDDLEWARE = [
    "tenants.middleware.BuildingMiddleware",
    # Development only: links made while serving a request carry the port it came in on.
    "tenants.middleware.DevelopmentPortMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # issue 15 (headers): Content-Security-Policy with a per-request nonce, no-store on links.
    "visit_platform.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "visit_platform.web.middleware.BuildingLocaleMiddleware",
    # Issue 15, no server errors: control characters refused before any view reads input.
    "visit_platform.web.middleware.ControlCharacterGuard",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "visit_platform.directory.middleware.MembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "visit_platform.urls"
PUBLIC_SCHEMA_URLCONF = "visit_platform.urls_public"
ASGI_APPLICATION = "visit_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "visit_platform.web.context_processors.console",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = ["visit_platform.directory.backends.MembershipBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]


# --- Database, cache, channels, Celery ------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL")
if not DATABASE_URL:
    from visit_platform.devservers import database_url

    DATABASE_URL = database_url(DATA_DIR)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# A pool of open connections per process (psycopg_pool): opening a PostgreSQL connection forks
# a backend, which cost more CPU than the whole gate decision (docs/performance.md). Requests
# take a connection and give it back when they end. Size it to the requests one process
# serves at once (ASGI runs each in its own thread); PostgreSQL's max_connections must hold
# every process's pool. A request that cannot get a connection within 5 seconds fails: gate
# agents fall back to deciding offline sooner than that.
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": 2,
    "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "20")),
    "timeout": 5,
}
# Parameters bound by the server, and statements a connection runs often prepared once: the
# gate decision's few statements are then neither parsed nor planned again on every scan.
# PostgreSQL plans a prepared statement again when the search path (the building) changes.
DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Set the search path once per schema switch, not before every statement (half the round
# trips on the gate decision's hot path).
TENANT_LIMIT_SET_CALLS = True
# The release runner (``manage.py migrate_buildings``, ``setup_platform``): how many worker
# processes migrate buildings at once (each holds one database connection), and after how many
# buildings a worker is replaced by a fresh one, so its memory stays flat (ADR 0042).
RELEASE_WORKERS = int(os.environ.get("RELEASE_WORKERS") or min(4, os.cpu_count() or 1))
RELEASE_BUILDINGS_PER_WORKER = int(os.environ.get("RELEASE_BUILDINGS_PER_WORKER") or 200)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL")
if not REDIS_URL:
    from visit_platform.devservers import redis_url

    REDIS_URL = redis_url(DATA_DIR)

# A Redis on a Unix socket (``REDIS_URL=unix:///path``) is served too, though the embedded one
# listens on loopback TCP: TCP keepalive is a TCP option, and it breaks a Unix socket.
_UNIX_SOCKET = re.compile(r"^unix://")
_KEEPALIVE = {} if _UNIX_SOCKET.match(REDIS_URL) else {"socket_keepalive": True}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Every cache key carries the building's schema (house rule 4).
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 gives every socket a 5 s read timeout, as long as channels_redis's
            # blocking BZPOPMIN: every idle consumer then dies with TimeoutError after 5 s, and
            # a receive cancelled while it starts can be swallowed. Blocking reads need no read
            # timeout (the default before redis-py 8); keepalive still finds dead connections.
            "hosts": [{"address": REDIS_URL, "socket_timeout": None, **_KEEPALIVE}],
            "prefix": "visit",
        },
    }
}

# kombu spells a Unix-socket Redis ``redis+socket://``; redis-py and channels_redis ``unix://``.
CELERY_BROKER_URL = _UNIX_SOCKET.sub("redis+socket://", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The face-record census (ADR 0036): once a day (this often) the platform counts the
# people whose face data it holds in every building, and e-mails the operator's addresses
# (comma-separated) once when the total reaches the threshold (the 2025 face-recognition
# rules ask for a filing at 100,000).
FACE_RECORDS_ALERT_THRESHOLD = int(os.environ.get("FACE_RECORDS_ALERT_THRESHOLD", "100000"))
if FACE_RECORDS_ALERT_THRESHOLD < 1:
    raise ImproperlyConfigured("FACE_RECORDS_ALERT_THRESHOLD must be a positive number.")
FACE_RECORDS_ALERT_EMAILS = [
    address.strip()
    for address in os.environ.get("FACE_RECORDS_ALERT_EMAILS", "").split(",")
    if address.strip()
]
FACE_RECORDS_CENSUS_INTERVAL_SECONDS = int(
    os.environ.get("FACE_RECORDS_CENSUS_INTERVAL_SECONDS", str(24 * 60 * 60))
)
# How often the periodic job fires viewflow's database timers in every building.
WORKFLOW_TIMERS_INTERVAL_SECONDS = int(os.environ.get("WORKFLOW_TIMERS_INTERVAL_SECONDS", "30"))
# How often the periodic job hands queued notifications that are due to a worker (again), and
# how long a queued notification waits for the hand-off made after commit before that
# (ADR 0013): a broker outage delays a message by about the sum, and loses nothing.
NOTIFICATION_SWEEP_INTERVAL_SECONDS = int(
    os.environ.get("NOTIFICATION_SWEEP_INTERVAL_SECONDS", "30")
)
NOTIFICATION_REDELIVERY_SECONDS = int(os.environ.get("NOTIFICATION_REDELIVERY_SECONDS", "60"))
# Visitors are reminded this many hours before an approved visit starts (0: never), by a
# periodic job that runs this often (workflows/actions/reminders.py).
VISITOR_REMINDER_HOURS = float(os.environ.get("VISITOR_REMINDER_HOURS", "2"))
VISITOR_REMINDER_INTERVAL_SECONDS = int(os.environ.get("VISITOR_REMINDER_INTERVAL_SECONDS", "300"))
# How often the periodic job looks for overstays and, past a building's end of day, checks out
# the visits not seen leaving (visit_platform/access/actions/overstays.py).
OVERSTAY_CHECK_INTERVAL_SECONDS = int(os.environ.get("OVERSTAY_CHECK_INTERVAL_SECONDS", "300"))
# How often personal data past its retention period is anonymised (ADR 0034): daily.
RETENTION_INTERVAL_SECONDS = int(os.environ.get("RETENTION_INTERVAL_SECONDS", str(24 * 3600)))
# How often the periodic job looks for silent gate agents and unreachable controllers
# (visit_platform/access/actions/health.py); an alert comes at most this late after a
# building's gate_silence_seconds.
GATE_SILENCE_CHECK_INTERVAL_SECONDS = int(
    os.environ.get("GATE_SILENCE_CHECK_INTERVAL_SECONDS", "30")
)
# Export files (issue 17): written by workers under DATA_DIR, outside every served URL,
# downloadable for EXPORT_HOURS and deleted by a periodic job that runs this often.
EXPORTS_DIR = Path(os.environ.get("EXPORTS_DIR", DATA_DIR / "exports"))
EXPORT_HOURS = int(os.environ.get("EXPORT_HOURS", "24"))
# Rows a worker reads and writes per step; the job's progress is saved after each.
EXPORT_CHUNK_ROWS = int(os.environ.get("EXPORT_CHUNK_ROWS", "2000"))
EXPORT_EXPIRY_CHECK_INTERVAL_SECONDS = int(
    os.environ.get("EXPORT_EXPIRY_CHECK_INTERVAL_SECONDS", "900")
)

VIEWFLOW = {"AUTOREGISTER": False}


# --- Language and time ----------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True


# --- Static files, security -----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# No request body past this reaches Django at all (visit_platform.asgi_limits): the largest
# legitimate one is a 5 MB attendee list in a multipart form. A proxy should refuse the same.
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", str(8 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024


# --- Rate limits on anonymous work (issue 15, rate limits; kernel.rate_limits) ---------------
# Each is "per client,per building,window seconds". The per-client limit stops one abuser; the
# per-building one caps what many addresses together can cost, well above a building's real use.
def _rate_limit(name: str, default: str) -> tuple[int, int, int]:
    per_client, per_building, window = (
        int(part) for part in os.environ.get(name, default).split(",")
    )
    return per_client, per_building, window


RATE_LIMITS = {
    "sms_code": _rate_limit("RATE_LIMIT_SMS_CODE", "10,200,3600"),
    "visit_request": _rate_limit("RATE_LIMIT_VISIT_REQUEST", "20,500,3600"),
    "decision_link": _rate_limit("RATE_LIMIT_DECISION_LINK", "20,600,600"),
    "forms_api": _rate_limit("RATE_LIMIT_FORMS_API", "60,3000,600"),
    # Each post of the visitor's form that names a host (by mobile, or company and name):
    # tighter than visit_request, so the form cannot try out who works here (ADR 0026).
    "host_lookup": _rate_limit("RATE_LIMIT_HOST_LOOKUP", "10,300,3600"),
    # A visitor downloading their data or asking for its deletion (ADR 0037): a file built from
    # every table, and a request that someone must answer.
    "visitor_rights": _rate_limit("RATE_LIMIT_VISITOR_RIGHTS", "10,300,3600"),
}
# Texts (SMS) a building may send per day; past it texts are refused and the property admins
# are told once that day.
TEXTS_PER_BUILDING_PER_DAY = int(os.environ.get("TEXTS_PER_BUILDING_PER_DAY", "2000"))
# Behind a reverse proxy every client has the proxy's REMOTE_ADDR: name the header the proxy
# sets to the client's address (e.g. X-Real-IP) so per-client limits count clients.
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")
# --- end of rate limits --------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 60 * 60
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "kernel.console.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [f"https://{BASE_DOMAIN}", f"https://*.{BASE_DOMAIN}"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


# --- E-mail (invitations) -------------------------------------------------------------------

# SMS through an HTTPS gateway (integrations/sms/messenger.py). Without one, development
# keeps messages in each building's notification log, where the demo shows them; production
# marks them failed.
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_KEY = os.environ.get("SMS_GATEWAY_KEY", "")
SMS_OUTBOX_ONLY = DEBUG and not SMS_GATEWAY_URL
# WeChat's API (integrations/wechat/client.py). Empty: WeChat's own servers. The demo and the
# tests point it at the local WeChat sandbox (integrations/wechat/sandbox.py).
WECHAT_API_BASE_URL = os.environ.get("WECHAT_API_BASE_URL", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"no-reply@{BASE_DOMAIN}")
if DEBUG:
    # Development writes messages to files under .data/mail, where the demo can show them.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
PASSWORD_RESET_TIMEOUT = 3 * 24 * 60 * 60


# --- Sign-in throttling (issue 15, part i2: django-axes) ------------------------------------

# Wrong passwords lock an account after SIGN_IN_FAILURES_PER_ACCOUNT tries, and a client (its
# REMOTE_ADDR, or its IPv6 /64; no forwarded header is trusted) after SIGN_IN_FAILURES_PER_CLIENT
# tries at any accounts, for SIGN_IN_COOL_OFF_MINUTES (visit_platform/directory/sign_in.py).
SIGN_IN_FAILURES_PER_ACCOUNT = int(os.environ.get("SIGN_IN_FAILURES_PER_ACCOUNT", "5"))
SIGN_IN_FAILURES_PER_CLIENT = int(os.environ.get("SIGN_IN_FAILURES_PER_CLIENT", "20"))
SIGN_IN_COOL_OFF_MINUTES = int(os.environ.get("SIGN_IN_COOL_OFF_MINUTES", "15"))
SHARED_APPS.append("axes")
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
MIDDLEWARE.append("visit_platform.directory.sign_in.keep_sign_in_page")
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
# Accounts are shared by every building, so are their counters: a cache of their own, whose
# keys do not carry the building's schema.
CACHES["sign_in"] = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": REDIS_URL,
    "KEY_PREFIX": "public.sign_in",
}
AXES_CACHE = "sign_in"
AXES_HANDLER = "visit_platform.directory.sign_in.SignInThrottle"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # SignInThrottle's limits, in this order
AXES_FAILURE_LIMIT = min(SIGN_IN_FAILURES_PER_ACCOUNT, SIGN_IN_FAILURES_PER_CLIENT)
AXES_COOLOFF_TIME = timedelta(minutes=SIGN_IN_COOL_OFF_MINUTES)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in forms' field, though it holds an e-mail
AXES_USERNAME_CALLABLE = "visit_platform.directory.sign_in.account_name"
AXES_CLIENT_IP_CALLABLE = "visit_platform.directory.sign_in.client_address"
AXES_LOCKOUT_CALLABLE = "visit_platform.directory.sign_in.lockout_response"
AXES_VERBOSE = False
