"""Outage Desk settings, read from the environment (see .env.example and README)."""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("OUTAGE_DESK_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
VAR_DIR.mkdir(parents=True, exist_ok=True)
# A local .env (written by `make run`) fills in what the real environment leaves unset.
_env_file = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# In debug a throwaway key is fine; anywhere else a missing key is a startup error.
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    "insecure-development-key-not-for-production" if DEBUG else ""
)
if not SECRET_KEY and env.str("SECRET_KEY_FILE", default=""):
    SECRET_KEY = Path(env.str("SECRET_KEY_FILE")).read_text().strip()
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "outage_desk",
    "incidents",
    "deposits",
    "notifications",
    "reconciliation",
]

MIDDLEWARE = [
    "outage_desk.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "outage_desk.observability.AccessLogMiddleware",
    # Last, so a lockout answers before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "outage_desk.urls"
WSGI_APPLICATION = "outage_desk.wsgi.application"
ASGI_APPLICATION = "outage_desk.asgi.application"
AUTH_USER_MODEL = "outage_desk.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "outage_desk.context_processors.navigation",
            ],
        },
    },
]

# No DATABASE_URL: a local SQLite file, so the app runs with no other server.
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'outage_desk.sqlite3'}"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 3
else:
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate limits and page caches. CACHE_URL (redis://...) shares them across processes;
# the default keeps them per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute force: 20 bad passwords for one user from one IP lock out that pair only.
# Attempts live in the database, so a lockout survives a Redis outage or restart.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=20)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = 1 if env.bool("BEHIND_PROXY", default=False) else None

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end packages come from npm at install time (package.json) and are served
# straight from node_modules; nothing vendored is committed.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded evidence lives outside the web root and is served only through views
# that check permissions; there is deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"

# E-mail: EMAIL_URL (smtp://user:pass@host:port, smtp+tls://...). The default writes
# each message as a file under var/mail/ where a developer can read it.
_email = env.email_url("EMAIL_URL", default="filemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
for _key, _value in _email.items():
    if _key not in ("EMAIL_BACKEND", "EMAIL_FILE_PATH") and _value is not None:
        globals()[_key] = _value
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Outage Desk <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. No CELERY_BROKER_URL: kombu's filesystem transport under var/broker/, a
# real queue shared by every local process that needs no server. With it: Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_IS_EMBEDDED = CELERY_BROKER_URL.startswith("filesystem")
_broker_dir = VAR_DIR / "broker"
if BROKER_IS_EMBEDDED:
    for _folder in ("queue", "processed", "../celery-results"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    if BROKER_IS_EMBEDDED
    else {
        # One visibility timeout, longer than any task's hard time limit, so a
        # running task is never handed to a second worker.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
        "max_retries": 1,
    }
)
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=f"file://{VAR_DIR / 'celery-results'}"
    if BROKER_IS_EMBEDDED
    else CELERY_BROKER_URL,
)
CELERY_RESULT_EXPIRES = 3600
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}
CELERY_REDIS_SOCKET_TIMEOUT = 2
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_PUBLISH_RETRY = False
# Every app task (outage_desk.task_base.AppTask): deliveries of one message, counting
# those after a lost worker or a visibility timeout, before it is failed for good.
TASK_MAX_ATTEMPTS = env.int("TASK_MAX_ATTEMPTS", default=3)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated call gets 401 with WWW-Authenticate.
        "outage_desk.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["outage_desk.api.throttling.PerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_RATE_LIMIT", default="600/minute")
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "outage_desk.api.pagination.ApiLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Outage Desk API",
    "DESCRIPTION": "Deposit capture, incidents, notices and reconciliation for integrators.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: no CDN, and the split view keeps CSP strict.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every choice set gets a stable, meaningful enum name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "DepositChannelEnum": "deposits.models.Deposit.Channel",
        "DepositStatusEnum": "deposits.models.Deposit.Status",
        "ReversalStatusEnum": "deposits.models.DepositReversal.Status",
        "ConflictStatusEnum": "deposits.models.DepositConflict.Status",
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "BankContactChannelEnum": "incidents.models.BankContact.Channel",
        "SubscriberChannelEnum": "incidents.models.Subscriber.Channel",
    },
}

# Security headers. HTTPS settings follow SECURE_SSL_REDIRECT so a local run over
# plain HTTP still works; production sets it (and check --deploy enforces it).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("BEHIND_PROXY", default=False)
    else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# incidents
INCIDENTS_REQUIRED_ROLES = env.list(
    "INCIDENTS_REQUIRED_ROLES",
    default=["lead", "phone_desk", "status_publisher", "bank_liaison"],
)
INCIDENTS_EVIDENCE_MAX_BYTES = env.int(
    "INCIDENTS_EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024
)
INCIDENTS_EVIDENCE_TYPES = [".pdf", ".png", ".jpg", ".jpeg", ".txt", ".eml", ".msg"]
# Minutes before a maintenance starts at which subscribers are reminded.
INCIDENTS_MAINTENANCE_REMINDERS = env.list(
    "INCIDENTS_MAINTENANCE_REMINDERS", cast=int, default=[24 * 60, 60]
)
INCIDENTS_STATUS_CACHE_SECONDS = env.int("INCIDENTS_STATUS_CACHE_SECONDS", default=60)
# Subscription requests allowed per hour, per address and per client IP.
INCIDENTS_SUBSCRIBE_PER_ADDRESS = env.int("INCIDENTS_SUBSCRIBE_PER_ADDRESS", default=3)
INCIDENTS_SUBSCRIBE_PER_IP = env.int("INCIDENTS_SUBSCRIBE_PER_IP", default=10)
INCIDENTS_SUBSCRIBE_CONFIRM_DAYS = 7
CELERY_BEAT_SCHEDULE.update(
    {
        # every minute: planned maintenance starts/ends on time, reminders go out
        "incidents-maintenance-tick": {
            "task": "incidents.tasks.maintenance_tick",
            "schedule": 60.0,
        },
        # every 5 minutes: unfilled roles (leads, hourly dedupe), overdue follow-ups
        "incidents-staff-reminders": {
            "task": "incidents.tasks.staff_reminders",
            "schedule": 300.0,
        },
    }
)

# notifications
NOTICE_MESSAGE_ID_DOMAIN = env.str(
    "NOTICE_MESSAGE_ID_DOMAIN", default="outage-desk.local"
)
NOTICE_BATCH_SIZE = env.int("NOTICE_BATCH_SIZE", default=200)
NOTICE_MAX_ATTEMPTS = env.int("NOTICE_MAX_ATTEMPTS", default=8)
NOTICE_RETRY_BASE_SECONDS = env.int("NOTICE_RETRY_BASE_SECONDS", default=30)
NOTICE_RETRY_MAX_SECONDS = env.int("NOTICE_RETRY_MAX_SECONDS", default=3600)
# A claim older than this belongs to a worker that died mid-batch; the relay frees it.
NOTICE_CLAIM_LEASE_SECONDS = CELERY_TASK_TIME_LIMIT + 60
# Messages per second per channel and worker process (token bucket); 0: no limit.
NOTICE_RATE_LIMITS = {
    "email": env.float("NOTICE_RATE_EMAIL", default=0),
    "sms": env.float("NOTICE_RATE_SMS", default=10),
    "webhook": env.float("NOTICE_RATE_WEBHOOK", default=20),
}
NOTICE_TASK_QUEUE = env.str("NOTICE_TASK_QUEUE", default="celery")
# The on-commit nudge's broker; empty: CELERY_BROKER_URL.
NOTICE_NUDGE_BROKER_URL = env.str("NOTICE_NUDGE_BROKER_URL", default="")
# A process nudges at most once per this many seconds; commits in between share
# one trailing nudge (a woken worker sends every due notice).
NOTICE_NUDGE_MIN_INTERVAL = env.float("NOTICE_NUDGE_MIN_INTERVAL", default=0.25)
# Who hears about notices that failed for good; empty: staff who may resend them.
NOTICE_FAILURE_ALERT_EMAILS = env.list("NOTICE_FAILURE_ALERT_EMAILS", default=[])
# Who hears about background tasks that failed for good; empty: a log line only.
TASK_FAILURE_ALERT_EMAILS = env.list(
    "TASK_FAILURE_ALERT_EMAILS", default=NOTICE_FAILURE_ALERT_EMAILS
)
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.sms.FileSmsBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", default="")
SMS_SENDER = env.str("SMS_SENDER", default="OutageDesk")
WEBHOOK_TIMEOUT = env.int("WEBHOOK_TIMEOUT", default=5)
# Every 15 s: hand over pending notices whose on-commit nudge was lost.
CELERY_BEAT_SCHEDULE["notifications-relay"] = {
    "task": "notifications.relay",
    "schedule": 15.0,
    "options": {"queue": NOTICE_TASK_QUEUE, "expires": 60},
}
# Tests that start a real worker process need a test database that process can open
# too: on SQLite a file under VAR_DIR rather than the in-memory default.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(VAR_DIR / "test-outage_desk.sqlite3")
    )
# The embedded broker's exchange table lives with its queue under VAR_DIR, not in a
# "control" folder of the working directory (each test queue would add a file there).
if BROKER_IS_EMBEDDED:
    CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"] = str(_broker_dir / "control")

# reconciliation
RECONCILIATION = {
    # Business days between a deposit's receipt and the record's value date.
    "DATE_WINDOW": env.int("RECONCILIATION_DATE_WINDOW", default=2),
    # Business days after the capture window a credit may still settle.
    "SETTLEMENT_GRACE": env.int("RECONCILIATION_SETTLEMENT_GRACE", default=3),
    # rapidfuzz token-sort ratio (0-100) for the fuzzy payer-name pass.
    "FUZZY": env.int("RECONCILIATION_FUZZY", default=85),
    # Runs started from the screens and the API: more than 1 fans the matching out
    # over that many Celery tasks (any worker, any machine) and merges them.
    "PARTITIONS": env.int("RECONCILIATION_PARTITIONS", default=1),
}
# The queue of reconciliation runs and their partition and merge tasks.
RECONCILIATION_TASK_QUEUE = env.str("RECONCILIATION_TASK_QUEUE", default="celery")
CELERY_TASK_ROUTES = {
    "reconciliation.tasks.reconciliation_*": {"queue": RECONCILIATION_TASK_QUEUE}
}

# api
# One error shape for every API error (docs/api.md "Errors"), declared in the schema.
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "outage_desk.api.errors.api_exception_handler"
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "outage_desk.api.parsers.JSONParser",
    "outage_desk.api.parsers.FormParser",
    "outage_desk.api.parsers.MultiPartParser",
]
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "outage_desk.api.errors.error_responses_hook",
]
# Largest request body the API parses (413 above it): evidence files plus a margin.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=12 * 1024 * 1024)
# Idempotency keys are kept this many days (never fewer than 7).
IDEMPOTENCY_KEY_DAYS = env.int("IDEMPOTENCY_KEY_DAYS", default=7)
# Every 6 hours (crontab "0 */6 * * *"): forget idempotency keys past their days.
CELERY_BEAT_SCHEDULE["idempotency-purge"] = {
    "task": "outage_desk.idempotency_purge",
    "schedule": 6 * 3600.0,
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "NoticeChannelEnum": "notifications.models.Channel",
        "NoticeKindEnum": "notifications.models.NoticeKind",
        "NoticeStatusEnum": "notifications.models.Notice.Status",
        "TemplateVersionStatusEnum": "notifications.models.NoticeTemplateVersion.Status",
        "CustomerTierEnum": "deposits.models.Customer.Tier",
    }
)

# impact
INSTALLED_APPS.append("impact")
STATICFILES_DIRS.append(("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"))
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "ActionItemKindEnum": "incidents.models.ActionItem.Kind",
        "OfferStatusEnum": "incidents.models.CompensationOffer.Status",
        "OfferKindEnum": "incidents.models.OfferKind",
        "OfferAdvanceStatusEnum": ["accepted", "redeemed"],
        "TimelineKindEnum": ["window", "public", "internal", "role", "bank"],
    }
)
CELERY_BEAT_SCHEDULE.update(
    {
        # every minute: reviews and offers for incidents restored since the last run
        "impact-aftermath-sweep": {
            "task": "impact.tasks.aftermath_sweep",
            "schedule": 60.0,
        },
        # hourly: owners of overdue action items (each reminded once a day)
        "impact-action-reminders": {
            "task": "impact.tasks.action_reminders",
            "schedule": 3600.0,
        },
    }
)

# reconciliation finance
RECONCILIATION_FINANCE = {
    # A manual link above this amount needs a second finance user's approval.
    "LINK_APPROVAL_ABOVE": env.str(
        "RECONCILIATION_LINK_APPROVAL_ABOVE", default="10000"
    ),
    # (minimum amount, hours until due), biggest first.
    "SLA_TIERS": [("100000", 24), ("10000", 48), ("0", 120)],
    "QUEUE_PAGE_ROWS": 50,
}
# chart.js is served from vendor/chartjs (see the impact block).
