"""``Item``: the rows the ORM scenario reads, one per request."""

from __future__ import annotations

from django.db import models


class Item(models.Model):  # type: ignore[misc]  # Django ships no types
    """A row to read: a name and a value."""

    name = models.CharField(max_length=40)
    value = models.IntegerField()

    class Meta:
        app_label = "ormapp"
