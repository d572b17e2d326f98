"""Models the ORM tests use."""

from django.db import models


class Note(models.Model):
    """A short text."""

    text = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text


class Tally(models.Model):
    """A named counter, for ``update_or_create``."""

    name = models.CharField(max_length=50, unique=True)
    count = models.IntegerField(default=0)
