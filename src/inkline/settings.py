"""Django settings: 12-factor environment variables with embedded defaults (see README).

One code path for the laptop (SQLite + a serverless broker in INKLINE_DATA_DIR) and for
production (DATABASE_URL=postgres://…, CELERY_BROKER_URL=redis://…).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("INKLINE_DATA_DIR") or "./var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
LOG_DIR = DATA_DIR / "logs"
MEDIA_ROOT = DATA_DIR / "media"
SITE_OUTPUT_DIR = DATA_DIR / "sites"
BROKER_DIR = DATA_DIR / "broker"


def _secret_key() -> str:
    explicit = os.environ.get("INKLINE_SECRET_KEY")
    if explicit:
        return explicit
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("INKLINE_DEBUG", False)
PRODUCTION = env_bool("INKLINE_PRODUCTION", False)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("INKLINE_ALLOWED_HOSTS", "*").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("INKLINE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "inkline.core",
    "inkline.accounts",
    "inkline.notices",
    "inkline.planner",
    "inkline.writer",
    "inkline.billing",
    "inkline.automation",
    "inkline.publishing",
    "inkline.web",
]

MIDDLEWARE = [
    "inkline.core.middleware.url_length_limit",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a login refused for too many failures into the answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "inkline.urls"
WSGI_APPLICATION = "inkline.wsgi.application"
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
            ],
            # `{% url %}` with memoized lookups (same syntax and behaviour).
            "builtins": ["inkline.web.urltags"],
        },
    }
]

# --- database ---------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "inkline.sqlite3"
SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue on
    # `timeout` instead of failing with "database is locked" halfway through.
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        "PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-20000;"
    ),
}
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        # Keep a connection per server thread instead of opening one per request.
        conn_max_age=env_int("INKLINE_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
    # Tests use a file too: the in-memory shared-cache database fails a second connection's
    # write ("database table is locked") instead of waiting, unlike the real database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-inkline.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The lockout check (django-axes) first: a locked-out login is refused before any password is
# checked.
AUTHENTICATION_BACKENDS = [
    "inkline.accounts.auth.LockoutBackend",
    "inkline.accounts.auth.MemberBackend",
]
# Django's database sessions. Not `cached_db`: it caches in the default cache, each process's
# own memory (CACHES below), where a session cached by one gunicorn worker would outlive a
# logout made through another.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- caches -----------------------------------------------------------------------------------
# `default` is each process's own memory (short-lived page fragments and counts); `shared` is
# seen by every process: login lockouts and the token throttle count there.


def shared_cache(url: str) -> dict[str, Any]:
    """The `shared` cache for INKLINE_CACHE_URL: the database (unset or `db://`, the table
    `inkline_cache` that `inkline init` creates) or Redis (`redis://`, `rediss://`,
    `unix://`)."""
    if url in ("", "db://"):
        return {
            "BACKEND": "inkline.core.cache.SharedDatabaseCache",
            "LOCATION": "inkline_cache",
            "KEY_PREFIX": "inkline",
            # Expired rows go when the table passes this size (and a third of the others).
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    if url.split("://", 1)[0] in ("redis", "rediss", "unix"):
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "inkline",
        }
    raise ImproperlyConfigured(
        "INKLINE_CACHE_URL must be empty, db:// or a redis://, rediss:// or unix:// URL."
    )


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": shared_cache(os.environ.get("INKLINE_CACHE_URL", "").strip()),
}

# --- login lockouts (django-axes) ---------------------------------------------------------------
# INKLINE_LOGIN_FAILURE_LIMIT wrong passwords for one username, or from one client address
# (the login form, the token endpoint and the admin alike), each within the lockout time of
# the one before, refuse that username or address for the lockout time after the last one
# (429): even the right password waits, and any attempt meanwhile starts the wait again.
INKLINE_LOGIN_FAILURE_LIMIT = max(1, env_int("INKLINE_LOGIN_FAILURE_LIMIT", 10))
INKLINE_LOGIN_LOCKOUT_SECONDS = max(1, env_int("INKLINE_LOGIN_LOCKOUT_SECONDS", 300))
# Reverse proxies in front of `inkline web` that append the client's address to
# X-Forwarded-For (0: the connecting address is the client's).
INKLINE_TRUSTED_PROXIES = max(0, env_int("INKLINE_TRUSTED_PROXIES", 0))
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "shared"
AXES_FAILURE_LIMIT = INKLINE_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(seconds=INKLINE_LOGIN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one
AXES_CLIENT_IP_CALLABLE = "inkline.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "inkline.accounts.lockout.lockout_response"
AXES_ENABLE_ADMIN = False  # the cache handler keeps no rows to show
AXES_VERBOSE = False  # no banner at every process start; failures are still logged (WARNING)

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["inkline.core.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "inkline.core.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "inkline.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("INKLINE_TOKEN_THROTTLE", "20/min")},
    # The throttle's client address, as django-axes reads it (0: the connecting address; DRF's
    # default, None, would trust any X-Forwarded-For a client sends).
    "NUM_PROXIES": INKLINE_TRUSTED_PROXIES,
    # JSON bodies only (the token endpoint also takes a form, the keyword import a CSV file):
    # any other content type is 415. The parser refuses bodies over their size limit (413)
    # and JSON nested deeper than 64 levels (400) before parsing (inkline.core.parsers).
    "DEFAULT_PARSER_CLASSES": ["inkline.core.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inkline API",
    "DESCRIPTION": "Keywords to scheduled, published articles.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "KeywordStatusEnum": "inkline.planner.models.Keyword.Status",
        "ClusterStatusEnum": "inkline.planner.models.Cluster.Status",
        "IdeaStatusEnum": "inkline.planner.models.ContentIdea.Status",
        "TaskStatusEnum": "inkline.writer.models.WritingTask.Status",
        "ContentStatusEnum": "inkline.writer.models.Content.Status",
        "ContentSiteStatusEnum": "inkline.writer.models.Content.SiteStatus",
        "ImageStatusEnum": "inkline.writer.models.Image.Status",
        "ImageKindEnum": "inkline.writer.models.Image.Kind",
        "RevisionStatusEnum": "inkline.writer.models.ContentRevision.Status",
        "TransactionKindEnum": "inkline.billing.models.CreditTransaction.Kind",
        "WebhookEventEnum": "inkline.notices.models.EventKind",
    },
    # Path parameters (inkline.core.converters): `<id:…>` primary keys, `<key:…>` run ids.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "key": {"type": "string", "pattern": r"^[^/\x00-\x1f\x7f]{1,40}$", "maxLength": 40},
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "inkline.core.openapi.add_error_responses",
    ],
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport with atomic writes and claims (see inkline.broker).
    CELERY_BROKER_TRANSPORT = "inkline.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The directory is polled: at kombu's default (1 s) a worker takes about two messages
        # a second, fewer than a short-tick beat sends, and every wake-up waits a second.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("INKLINE_TASKS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Inkline ----------------------------------------------------------------------------------
INKLINE_AI_PROVIDER = os.environ.get("INKLINE_AI_PROVIDER", "local")
INKLINE_AI_CONCURRENCY = max(1, env_int("INKLINE_AI_CONCURRENCY", 4))
# The connection check (`inkline check-ai`, its endpoint and button) answers within this.
INKLINE_AI_CHECK_TIMEOUT = max(0.1, env_float("INKLINE_AI_CHECK_TIMEOUT", 10.0))
# The circuit breaker: a run fails after this many AI endpoint failures in a row (each one
# already after the SDK's retries); a refused key, an unknown model or no quota fail it at once.
INKLINE_AI_BREAKER_FAILURES = max(1, env_int("INKLINE_AI_BREAKER_FAILURES", 3))
INKLINE_LOCAL_AI_LATENCY_MS = env_int("INKLINE_LOCAL_AI_LATENCY_MS", 0)
INKLINE_LOCAL_AI_FAILURE_RATE = env_float("INKLINE_LOCAL_AI_FAILURE_RATE", 0.0)
# "semantic" (default: all-MiniLM-L6-v2 embeddings; lexical when the model cannot load) or
# "lexical" (TF-IDF).
INKLINE_LOCAL_AI_CLUSTERER = os.environ.get("INKLINE_LOCAL_AI_CLUSTERER", "semantic").lower()
INKLINE_OPENAI_MODEL = os.environ.get("INKLINE_OPENAI_MODEL", "gpt-4o-mini")
INKLINE_OPENAI_IMAGE_MODEL = os.environ.get("INKLINE_OPENAI_IMAGE_MODEL", "gpt-image-1")
# The endpoint's model for `/v1/embeddings`, which stage 1 clusters on; "" (or an endpoint
# without embeddings) clusters on the local all-MiniLM-L6-v2 model instead.
INKLINE_OPENAI_EMBEDDINGS_MODEL = os.environ.get(
    "INKLINE_OPENAI_EMBEDDINGS_MODEL", "text-embedding-3-small"
).strip()
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
# Retries live in one place, the SDK (429 honours Retry-After); the engine never adds more.
INKLINE_OPENAI_MAX_RETRIES = max(0, env_int("INKLINE_OPENAI_MAX_RETRIES", 2))
INKLINE_OPENAI_TIMEOUT = env_float("INKLINE_OPENAI_TIMEOUT", 120.0)
# The most tokens each operation's answer may take (`max_tokens`, sent with every request).
INKLINE_OPENAI_MAX_TOKENS_CLUSTERING = max(1, env_int("INKLINE_OPENAI_MAX_TOKENS_CLUSTERING", 8192))
INKLINE_OPENAI_MAX_TOKENS_IDEAS = max(1, env_int("INKLINE_OPENAI_MAX_TOKENS_IDEAS", 2048))
INKLINE_OPENAI_MAX_TOKENS_ARTICLE = max(1, env_int("INKLINE_OPENAI_MAX_TOKENS_ARTICLE", 6144))
INKLINE_OPENAI_MAX_TOKENS_IMAGE_PROMPTS = max(
    1, env_int("INKLINE_OPENAI_MAX_TOKENS_IMAGE_PROMPTS", 1024)
)
# How long a working connection check is reused before the endpoint is asked again.
INKLINE_OPENAI_CHECK_SECONDS = max(0.0, env_float("INKLINE_OPENAI_CHECK_SECONDS", 300.0))
INKLINE_RUN_LEASE_SECONDS = max(5, env_int("INKLINE_RUN_LEASE_SECONDS", 60))
INKLINE_SLICE_SECONDS = max(1, env_int("INKLINE_SLICE_SECONDS", 50))
# On SIGTERM/SIGINT a worker starts no new item and gives the AI calls in flight this long to
# finish (the rest are abandoned and redone by the next worker): it exits within 10 s.
INKLINE_SHUTDOWN_GRACE_SECONDS = max(0.0, env_float("INKLINE_SHUTDOWN_GRACE_SECONDS", 5.0))
INKLINE_TICK_SECONDS = max(1, env_int("INKLINE_TICK_SECONDS", 30))
INKLINE_MAX_RECOVERIES = env_int("INKLINE_MAX_RECOVERIES", 5)
INKLINE_ITEM_MAX_ATTEMPTS = 3
INKLINE_CLUSTER_BATCH = env_int("INKLINE_CLUSTER_BATCH", 500)
INKLINE_IMPORT_MAX_BYTES = env_int("INKLINE_IMPORT_MAX_BYTES", 5 * 1024 * 1024)  # else 413
# Imports of more lines (CSV, after the header) or rows (JSON) become background jobs (202).
INKLINE_IMPORT_SYNC_ROWS = max(0, env_int("INKLINE_IMPORT_SYNC_ROWS", 5_000))
INKLINE_ALLOW_PRIVATE_TARGETS = env_bool("INKLINE_ALLOW_PRIVATE_TARGETS", False)

# Email notices (issue 21: run.failed, article.failed and budget alerts to account owners).
# "console" (the default) prints each message in the worker's output; "smtp" sends it through
# INKLINE_EMAIL_HOST; any other value is a dotted path to a Django email backend.
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
_email_backend = os.environ.get("INKLINE_EMAIL_BACKEND", "").strip() or "console"
EMAIL_BACKEND = EMAIL_BACKENDS.get(_email_backend, _email_backend)
EMAIL_HOST = os.environ.get("INKLINE_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("INKLINE_EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("INKLINE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("INKLINE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("INKLINE_EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("INKLINE_EMAIL_USE_SSL", False)
if EMAIL_USE_SSL:
    EMAIL_USE_TLS = False  # Django allows one of the two
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("INKLINE_EMAIL_FROM", "") or "inkline@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long a web process may reuse a site's pending counts while no run moves (0: never).
INKLINE_PIPELINE_CACHE_SECONDS = max(0.0, env_float("INKLINE_PIPELINE_CACHE_SECONDS", 1.0))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("INKLINE_LOG_LEVEL", "INFO")},
    # The openai SDK's HTTP client logs every request at INFO: keep run output readable.
    "loggers": {name: {"level": "WARNING"} for name in ("httpx", "httpx2", "openai")},
}

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("INKLINE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("INKLINE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
