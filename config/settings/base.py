"""Settings for every environment. DATABASE_URL selects the database (default: SQLite in var/)."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("SALESLINE_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
# Earlier keys, newest first, separated by commas: still accepted for sessions and reset links
# and still decrypt the secrets kept encrypted (docs/deployment.md, "Rotating SECRET_KEY").
SECRET_KEY_FALLBACKS = [
    key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
]
DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Serves the API docs' Swagger UI from our own static files, not from a CDN.
    "ninja",
    # The task queue's table (django.tasks backend below; `salesline worker` runs it).
    "django_tasks_db",
    "salesline.core",
    "salesline.accounts",
    "salesline.process",
    "salesline.records",
    "salesline.pipeline",
    "salesline.playbooks",
    "salesline.analytics",
    "salesline.scheduling",
    "salesline.capacity",
    "salesline.enquiries",
    "salesline.api",
    "salesline.web",
    # request.htmx, and the htmx script served from our own static files (no CDN).
    "django_htmx",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers compressed for clients that accept it (a board's HTML is about a
    # fifth of its size gzipped). Below WhiteNoise, which serves pre-compressed static files.
    # Django masks the CSRF token per response and pads the gzip header against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "salesline.web.middleware.history_reads_in_background",
    # Last, as its documentation asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# Scripts and styles from our own origin only (the htmx script is a static file too): an injected
# <script> or inline handler does not run, which is the second wall behind autoescaping.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

TEMPLATES = [
    {
        # Django's, with characters no page can encode replaced (salesline/web/templating.py).
        "BACKEND": "salesline.web.templating.ScrubbingTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
            # Filters that show numbers, money and dates one way on every page.
            "builtins": ["salesline.web.templatetags.show"],
        },
    },
]


def database_from_url(url: str) -> dict[str, Any]:
    config: dict[str, Any] = dj_database_url.parse(  # type: ignore[assignment]  # a TypedDict
        url,
        conn_max_age=60,
        # Off by default, as in Django: a check is one more round trip on every request (measured:
        # p99 of an API list +25% on PostgreSQL). Turn it on where the database restarts under the
        # app (failovers, a pooler that drops connections).
        conn_health_checks=os.environ.get("SALESLINE_DB_HEALTH_CHECKS", "0") == "1",
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the busy
            # timeout instead of failing with "database is locked" when upgrading a read lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
            ),
        }
    return config


DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'salesline.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}

#: The accepted values of CACHE_URL, as the refusal of any other one lists them.
CACHE_URL_FORMS = "db://[TABLE], redis://HOST[:PORT][/DB], rediss://… or locmem://"
# Entries the database cache keeps before it culls (Django's default, 300, is a few minutes of
# rate-limit counts on a busy public page); each write counts the rows, which stays cheap.
DATABASE_CACHE_MAX_ENTRIES = 20_000


def cache_from_url(url: str) -> dict[str, Any]:
    """The `default` cache CACHE_URL names: db:// (the database's table, salesline_cache by
    default), redis:// or rediss:// (Django's RedisCache) or locmem:// (this process only)."""
    scheme, separator, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if separator and scheme == "db":
        table = rest.strip("/") or "salesline_cache"
        if not table.replace("_", "").isalnum():
            raise ImproperlyConfigured(
                f"CACHE_URL: {table!r} is not a table name (letters, digits and underscores)."
            )
        return {
            # Django's DatabaseCache with an atomic incr (salesline/core/cache.py says why).
            "BACKEND": "salesline.core.cache.DatabaseCache",
            "LOCATION": table,
            "OPTIONS": {"MAX_ENTRIES": DATABASE_CACHE_MAX_ENTRIES},
        }
    if separator and scheme in ("redis", "rediss"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url.strip()}
    if separator and scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": rest}
    # Only the scheme is named: the rest of a URL may hold a password.
    shown = f"the scheme {scheme!r}" if separator else "a value without a scheme"
    raise ImproperlyConfigured(
        f"CACHE_URL: {shown} is not a cache this application can use; "
        f"set it to one of {CACHE_URL_FORMS}."
    )


# Django's cache holds the public pages' rate-limit counts (salesline/core/ratelimit.py), the
# dashboards and the network's referral facts. Here, for development, the demo and the
# benchmarks, each process keeps its own unless CACHE_URL names a shared one: the cached reports
# are keyed by the state they were computed from, so a cache of its own is colder, never wrong.
# The production settings share the database's table by default.
CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL") or "locmem://")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
# The pages' date and time formats per locale, over Django's (salesline/web/formatting.py).
FORMAT_MODULE_PATH = ["salesline.web.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The chart libraries come from npm (package.json): the finder serves their browser builds.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "salesline.web.vendor_static.NodeModulesFinder",
]

# Requests larger than this are refused with 413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Sign-in throttling (django-axes): 5 failed attempts for one e-mail from one address lock that
# pair out for 15 minutes; a success resets the count. API tokens are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's model backend, with the e-mail compared case-insensitively.
    "salesline.accounts.auth.EmailBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The sign-in form posts the e-mail as "username" (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
# Failed attempts are counted per e-mail whatever its case (salesline/accounts/auth.py).
AXES_USERNAME_CALLABLE = "salesline.accounts.auth.lockout_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
# Mail (password resets): printed on the console unless SMTP_HOST names a server.
MAILERS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
}
if os.environ.get("SMTP_HOST"):
    MAILERS["default"] = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ["SMTP_HOST"],
            "port": int(os.environ.get("SMTP_PORT", 587)),
            "username": os.environ.get("SMTP_USER", ""),
            "password": os.environ.get("SMTP_PASSWORD", ""),
            "use_tls": os.environ.get("SMTP_TLS", "1") == "1",
        },
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "salesline@localhost")

# Uploaded import files. Workers on other machines need the same storage: a shared volume, or
# an object store through django-storages (docs/deployment.md).
MEDIA_ROOT = Path(os.environ.get("SALESLINE_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"

# Imports: rows per committed chunk, processes normalising rows (default: every core), files up
# to this many rows imported inline by the API (larger ones by the worker), largest upload.
SALESLINE_IMPORT_CHUNK = int(os.environ.get("SALESLINE_IMPORT_CHUNK", 5_000))
SALESLINE_IMPORT_PROCESSES = int(os.environ.get("SALESLINE_IMPORT_PROCESSES", 0)) or None
SALESLINE_IMPORT_INLINE_ROWS = 1_000
# An import commits its chunks at most this often (seconds): fewer, larger commits are faster.
SALESLINE_IMPORT_COMMIT_SECONDS = float(os.environ.get("SALESLINE_IMPORT_COMMIT_SECONDS", 1.0))
SALESLINE_IMPORT_MAX_BYTES = 512 * 1024 * 1024

# Background tasks (Django's Tasks framework): rows in the database, run by `salesline worker`
# (retries and recovery of tasks of dead workers: salesline/core/tasks.py, docs/deployment.md).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Soft-deleted records stay restorable for this many days before `salesline purge` removes them.
SALESLINE_RESTORE_DAYS = 30
# Analytics keeps each organisation's flow history as column files here, mapped into memory by
# every app process (salesline/analytics/extract.py); empty: in each process's memory only.
ANALYTICS_CACHE_DIR = os.environ.get("SALESLINE_ANALYTICS_CACHE_DIR", str(VAR_DIR / "analytics"))
# Seconds a transaction may hold a stage change uncommitted; the extract re-reads that far back.
ANALYTICS_COMMIT_WINDOW = 600
# A request reads a history of up to this many stage changes itself; a larger one is read by
# the worker while the pages show progress (salesline/analytics/history_reads.py).
ANALYTICS_INLINE_ROWS = int(os.environ.get("SALESLINE_ANALYTICS_INLINE_ROWS", "500000"))
# Public booking pages: requests per client address in a window of seconds, for reading slots
# and for booking (core/ratelimit.py keeps the counts in the cache: CACHES above).
SALESLINE_BOOKING_RATE_LIMITS = {"read": (300, 600), "book": (10, 600)}
# List counts stop at this number (the response says so) to keep deep filters fast.
SALESLINE_COUNT_CAP = 1_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
