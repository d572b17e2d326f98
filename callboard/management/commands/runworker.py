"""``manage.py runworker <channel>...``: supervised channel workers (see ``django_bridge``)."""

from callboard.django_bridge._runworker import RunworkerCommand as Command

__all__ = ["Command"]
