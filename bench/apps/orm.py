"""The ORM scenario's shared parts: Django settings from ``BENCH_DB``, the seed, the read.

``BENCH_DB`` is ``sqlite:<path>`` or ``postgresql://<host>:<port>/<database>``
(user ``postgres``, trust authentication: the suite's private cluster). Both
frameworks get the same database settings, with persistent connections
(``CONN_MAX_AGE`` 60), as a production deployment would use.

Not here: the consumers (``callboard_app``, ``channels_app``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ROWS", "bench_db", "database_settings", "read_one", "seed"]

ROWS = 1000
"""How many rows the table holds; request ``n`` reads row ``n % ROWS + 1``."""


def bench_db() -> str | None:
    """The ``BENCH_DB`` setting, or ``None`` when the ORM scenario is not running."""
    return os.environ.get("BENCH_DB") or None


def database_settings(url: str) -> dict[str, Any]:
    """Django's ``DATABASES`` for a ``BENCH_DB`` value.

    Raises:
        ValueError: neither ``sqlite:`` nor ``postgresql://``.
    """
    if url.startswith("sqlite:"):
        engine: dict[str, Any] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url.removeprefix("sqlite:"),
            "OPTIONS": {"timeout": 20},
        }
    elif url.startswith("postgresql://"):
        parts = urlsplit(url)
        engine = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/") or "postgres",
            "USER": parts.username or "postgres",
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": str(parts.port or 5432),
        }
    else:
        raise ValueError(f"BENCH_DB must be sqlite:<path> or postgresql://..., got {url!r}.")
    engine["CONN_MAX_AGE"] = 60
    return {"default": engine}


def seed() -> None:
    """Create the ``Item`` table if missing and fill it with :data:`ROWS` rows (Django set up)."""
    from django.db import connection

    from .ormapp.models import Item

    if Item._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Item)
    Item.objects.all().delete()
    Item.objects.bulk_create(Item(id=i, name=f"item {i}", value=i * 7) for i in range(1, ROWS + 1))


def read_one(key: int) -> int | None:
    """Read one row's value by primary key: the work of one ORM request (blocking)."""
    from .ormapp.models import Item

    value: int | None = (
        Item.objects.filter(pk=key % ROWS + 1).values_list("value", flat=True).first()
    )
    return value


if __name__ == "__main__":  # python -m bench.apps.orm: seed the database BENCH_DB names
    import django
    from django.conf import settings

    url = bench_db()
    if url is None:
        raise SystemExit("Set BENCH_DB to sqlite:<path> or postgresql://host:port/db.")
    settings.configure(
        DATABASES=database_settings(url),
        INSTALLED_APPS=["bench.apps.ormapp"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    seed()
    print(f"seeded {ROWS} rows into {url}")
