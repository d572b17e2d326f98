"""Settings of the sample project.

The SQLite file comes from ``CALLBOARD_TEST_SQLITE`` (a temporary file by
default); ``CALLBOARD_TEST_POSTGRES`` (``host:port``) adds a ``"postgres"``
database served by the test suite's own cluster.
"""

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "callboard-tests-only"
DEBUG = os.environ.get("CALLBOARD_TEST_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "example.com"]

INSTALLED_APPS = [
    "callboard",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_project.notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_project.middleware.stamp_middleware",
]

ROOT_URLCONF = "django_project.urls"
ASGI_APPLICATION = "django_project.asgi.application"

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
        },
    },
]

_sqlite = os.environ.get("CALLBOARD_TEST_SQLITE") or os.path.join(
    tempfile.gettempdir(), "callboard-django-project.sqlite3"
)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _sqlite,
        "TEST": {"NAME": _sqlite + ".test"},
        "OPTIONS": {"timeout": 20},
    }
}
_postgres = os.environ.get("CALLBOARD_TEST_POSTGRES")
if _postgres:
    _host, _, _port = _postgres.rpartition(":")
    DATABASES["postgres"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "callboard",
        "USER": "postgres",
        "HOST": _host,
        "PORT": _port,
        "TEST": {"NAME": "test_callboard"},
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS = {"default": {"BACKEND": "callboard.layers.InMemoryChannelLayer"}}
CALLBOARD = {"DATABASE_THREAD_LIMIT": 8, "WORKER": {"shutdown_timeout": 2}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django.request": {"handlers": ["null"], "propagate": False}},
}
