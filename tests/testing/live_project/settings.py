"""The sample project (``django_project``) on the test database ``CALLBOARD_LIVE_DATABASE`` names.

- ``sqlite-memory``: SQLite with no ``TEST["NAME"]``, so Django's runner
  makes the test database in memory.
- ``sqlite-file``: SQLite with a file test database in ``CALLBOARD_LIVE_DIR``
  (what Channels' tutorial, part 4, configures).
- ``postgresql``: the cluster at ``CALLBOARD_TEST_POSTGRES`` (``host:port``).
"""

import os

from django_project.settings import *  # noqa: F403

# Not localhost: the test case itself makes its host an allowed one.
ALLOWED_HOSTS = ["example.com"]

_kind = os.environ["CALLBOARD_LIVE_DATABASE"]
_directory = os.environ.get("CALLBOARD_LIVE_DIR", "")
if _kind == "postgresql":
    _host, _, _port = os.environ["CALLBOARD_TEST_POSTGRES"].rpartition(":")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "callboard_live",
            "USER": "postgres",
            "HOST": _host,
            "PORT": _port,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(_directory, "db.sqlite3"),
        }
    }
    if _kind == "sqlite-file":
        DATABASES["default"]["TEST"] = {"NAME": os.path.join(_directory, "test.sqlite3")}
