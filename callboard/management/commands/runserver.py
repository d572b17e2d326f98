"""``manage.py runserver``: hypercorn on Trio, autoreload, static files (see ``django_bridge``)."""

from callboard.django_bridge._runserver import RunserverCommand as Command

__all__ = ["Command"]
