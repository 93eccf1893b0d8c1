"""Settings for the PSP omnichannel CRM, read from the environment.

Zero configuration gives the embedded default (SQLite, in-memory channel layer, console e-mail);
`DATABASE_URL` and `REDIS_URL` switch the real parts on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PSP_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or env_bool("PSP_TESTING", False)

DEFAULT_SECRET_KEY = "insecure-development-key-change-me-for-any-real-deployment"
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the development default: set SECRET_KEY in the environment."
    )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" + (",testserver" if TESTING else "")
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
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
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "channels",
    "django_htmx",
    "bootstrap",
    "psp_crm",
    "portals.common",
    "portals.client",
    "portals.doctor",
    "portals.patient",
    "portals.operator",
    "portals.control",
    # Background tasks (scheduling engine): the database queue and the periodic scheduler.
    "django_tasks_db",
    "crontask",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "psp_crm.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "psp_crm.urls"
WSGI_APPLICATION = "psp_crm.wsgi.application"
ASGI_APPLICATION = "psp_crm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portals.common.context_processors.portal_navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Persistent connections suit WSGI workers (set DB_CONN_MAX_AGE=60 there); under ASGI a request
    # may run in a new thread and leave its connection open, so the default closes them.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    }
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("TEST_DATABASE_NAME") or f"test_{DATABASES['default']['NAME']}"
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # A file, not memory: live-server browser tests need a database both processes open;
            # one per test process, so that two test runs on one checkout do not clobber each other.
            "TEST": {"NAME": VAR_DIR / f"test-db-{os.getpid()}.sqlite3"},
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache -----------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # redis-py 8 defaults to a 5 s socket timeout that kills idle consumers.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "psp"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "psp_crm.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal_home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "psp_crm.auth_adapter.InvitationOnlyAccountAdapter"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "PSP CRM"

GUARDIAN_RAISE_403 = False
GUARDIAN_MONKEY_PATCH_USER = False
ANONYMOUS_USER_NAME = None

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
)
X_FRAME_OPTIONS = "DENY"

# --- E-mail (Django 6.1 MAILERS) ---------------------------------------------------------------
EMAIL_BACKEND_PATH = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_mailer_options: dict[str, object] = {}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    _mailer_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER") or None,
        "password": env_str("EMAIL_HOST_PASSWORD") or None,
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "PSP CRM <no-reply@psp.example>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Internationalization: ready for Italy from day one ---------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Rome")
USE_I18N = True
USE_TZ = True

# --- Static files (all local, served by whitenoise) -------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = DEBUG or TESTING
if WHITENOISE_USE_FINDERS:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on a missing root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Tokens for the native apps, the session (with CSRF) for the browser.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "30/minute"),
        "user": env_str("API_THROTTLE_USER", "10000/hour" if TESTING else "600/hour"),
    },
    "EXCEPTION_HANDLER": "psp_crm.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PSP CRM API",
    "DESCRIPTION": "The REST API of the patient portal's native apps (patients and caregivers).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from drf-spectacular-sidecar's local files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DiaryKindEnum": "psp_crm.models.diary.DiaryEntry.Kind",
        "ReportKindEnum": "psp_crm.models.reports.Report.Kind",
    },
}

# --- Background tasks (django.tasks; in-process by default) -----------------------------------
# Tasks run in-process by default (`make run`, tests); set PSP_TASKS_BACKEND=database in
# production and run `manage.py db_worker` (several) and `manage.py crontask` (one).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if env_str("PSP_TASKS_BACKEND", "immediate") == "database"
        else "django.tasks.backends.immediate.ImmediateBackend"
    }
}
PSP_SCHEDULING_HORIZON_DAYS = env_int("PSP_SCHEDULING_HORIZON_DAYS", 90)

# --- Product settings -------------------------------------------------------------------------
PSP_CLIENT_MIN_CELL = env_int("PSP_CLIENT_MIN_CELL", 5)  # small-cell suppression on client pages
# Adherence analytics (docs/analytics.md): defaults a program's analytics settings can override.
PSP_ANALYTICS_DAYS_PER_DELIVERY = env_int("PSP_ANALYTICS_DAYS_PER_DELIVERY", 28)
PSP_ANALYTICS_ALLOWED_GAP_DAYS = env_int("PSP_ANALYTICS_ALLOWED_GAP_DAYS", 60)
PSP_DEMO_PASSWORD = "demo-psp-2026"
# Diary entries older than this many days are read-only (no more corrections).
PSP_DIARY_EDIT_WINDOW_DAYS = env_int("PSP_DIARY_EDIT_WINDOW_DAYS", 7)
# Report attachments: size per file, files per report, accepted types (checked on content).
PSP_REPORT_ATTACHMENT_MAX_BYTES = env_int("PSP_REPORT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
PSP_REPORT_ATTACHMENT_MAX_FILES = env_int("PSP_REPORT_ATTACHMENT_MAX_FILES", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler is dropped: its records reach the root's once (daphne's
        # request lines printed twice otherwise); errors still e-mail the ADMINS in production.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},  # one line per task state otherwise
    },
}

# --- Live updates --------------------------------------------------------------------------------
PSP_LIVE_REPLAY_MAXLEN = env_int("PSP_LIVE_REPLAY_MAXLEN", 10_000)  # events kept for reconnects

# --- Messages and reminders (psp_crm.messaging; docs/omnichannel.md) ----------------------------
# One backend per channel. E-mail goes through Django's e-mail framework (MAILERS above); SMS and
# push go through a provider interface whose default writes every send to a file in the outbox
# (one JSON line per message), so a demo or a test can read what would have left.
PSP_CHANNEL_BACKENDS = {
    "in_app": "psp_crm.messaging.backends.InAppBackend",
    "email": env_str("PSP_EMAIL_CHANNEL_BACKEND", "psp_crm.messaging.backends.EmailBackend"),
    "sms": env_str("PSP_SMS_BACKEND", "psp_crm.messaging.backends.FileBackend"),
    "push": env_str("PSP_PUSH_BACKEND", "psp_crm.messaging.backends.FileBackend"),
}
# HttpGatewayBackend: a provider's HTTP API per channel (PSP_SMS_BACKEND / PSP_PUSH_BACKEND =
# "psp_crm.messaging.backends.HttpGatewayBackend").
PSP_GATEWAYS = {
    channel: {
        "url": env_str(f"PSP_{channel.upper()}_GATEWAY_URL"),
        "token": env_str(f"PSP_{channel.upper()}_GATEWAY_TOKEN"),
    }
    for channel in ("sms", "push")
}
PSP_GATEWAY_TIMEOUT_SECONDS = env_int("PSP_GATEWAY_TIMEOUT_SECONDS", 10)
PSP_OUTBOX_DIR = env_str(
    "PSP_OUTBOX_DIR",
    str(BASE_DIR / "var" / (f"test-outbox-{os.getpid()}" if TESTING else "outbox")),
)
# A failed send is retried with exponential backoff (1, 5, 25, 125 … minutes) this many times.
PSP_MESSAGE_MAX_ATTEMPTS = env_int("PSP_MESSAGE_MAX_ATTEMPTS", 5)
# The SMS provider signs inbound webhooks with this shared secret (HMAC-SHA256); requests older
# than the max age or seen before are refused. Without a secret the webhook refuses everything.
PSP_SMS_WEBHOOK_SECRET = env_str(
    "PSP_SMS_WEBHOOK_SECRET", "demo-sms-webhook-secret" if DEBUG or TESTING else ""
)
PSP_SMS_WEBHOOK_MAX_AGE_SECONDS = env_int("PSP_SMS_WEBHOOK_MAX_AGE_SECONDS", 300)
