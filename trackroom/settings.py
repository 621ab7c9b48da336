"""Trackroom settings, read from environment variables with safe defaults.

The embedded default (no variables set) is SQLite in WAL mode plus a local media folder under
``var/``. ``DATABASE_URL`` switches to PostgreSQL. ``TRACKROOM_PRODUCTION=1`` turns on the
production hardening that ``manage.py check --deploy`` looks for; it then requires a real
``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS``.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = env_bool("TRACKROOM_PRODUCTION")
DATA_DIR = Path(os.environ.get("TRACKROOM_DATA_DIR", BASE_DIR / "var")).resolve()

if PRODUCTION:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("TRACKROOM_PRODUCTION needs DJANGO_SECRET_KEY (50+ random characters).")
    DEBUG = False
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("TRACKROOM_PRODUCTION needs DJANGO_ALLOWED_HOSTS (comma separated).")
else:
    # Development key: the embedded default only listens on 127.0.0.1.
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-trackroom-0123456789-abcdefghij")
    DEBUG = env_bool("DJANGO_DEBUG", True)
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "labeling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "trackroom.urls"
WSGI_APPLICATION = "trackroom.wsgi.application"
ASGI_APPLICATION = "trackroom.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("TRACKROOM_SQLITE_PATH", str(DATA_DIR / "trackroom.sqlite3")),
            "OPTIONS": {
                # WAL lets the web process read while a worker thread writes a batch.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Tests: a file, not Django's in-memory default, so the daphne and worker processes the
            # end-to-end tests start can open the same test database. One file per test process.
            "TEST": {
                "NAME": os.environ.get("TRACKROOM_SQLITE_TEST_FILE")
                or str(Path(tempfile.gettempdir()) / f"trackroom-test-{os.getpid()}.sqlite3"),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("TRACKROOM_MEDIA_ROOT", DATA_DIR / "media")).resolve()
# Decoded-frame cache (JPEG files), safe to delete at any time.
FRAME_CACHE_DIR = Path(os.environ.get("TRACKROOM_FRAME_CACHE", DATA_DIR / "frame-cache")).resolve()

# Uploads stream to disk in chunks; nothing above the memory limit is held in RAM.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024  # JSON bodies (bulk figure upserts)
TRACKROOM_MAX_VIDEO_BYTES = int(os.environ.get("TRACKROOM_MAX_VIDEO_BYTES", 4 * 1024**3))
TRACKROOM_MAX_VIDEO_PIXELS = int(os.environ.get("TRACKROOM_MAX_VIDEO_PIXELS", 8192 * 8192))
TRACKROOM_MAX_VIDEO_SIDE = int(os.environ.get("TRACKROOM_MAX_VIDEO_SIDE", 8192))
TRACKROOM_MAX_CHUNK_FRAMES = 64
TRACKROOM_MAX_MODEL_BYTES = int(os.environ.get("TRACKROOM_MAX_MODEL_BYTES", 512 * 1024**2))  # uploaded .pt / .onnx

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a request without credentials then gets 401 with WWW-Authenticate, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "labeling.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Trackroom API",
    "DESCRIPTION": "Projects, videos, tracks and figures for video annotation with machine tracking.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- channels -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # socket_timeout above channels_redis' 5 s blocking BZPOPMIN: redis-py 8 defaults to 5 s, which tears
    # every idle WebSocket down (channels_redis#422, redis-py#4091).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- production hardening -------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TRACKROOM_LOG_LEVEL", "INFO")},
}

# Swagger UI / Redoc assets are served from the sidecar package: the docs page needs no CDN.
SPECTACULAR_SETTINGS.update(
    {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR"}
)
