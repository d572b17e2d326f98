"""``manage.py demo_users [name ...]``: create the demo accounts (again), print how to log in.

Idempotent: an existing account keeps its row and gets the password back if it
was changed. ``make demo`` runs it after ``migrate``.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

DEFAULT_USERS = ["demo", "demo2"]
DEFAULT_PASSWORD = "callboard-demo"


class Command(BaseCommand):
    help = "Create the demo users (idempotent) and print their credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "names", nargs="*", default=DEFAULT_USERS, help="user names (default: demo demo2)"
        )
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="their password")

    def handle(self, *args: Any, names: list[str], password: str, **options: Any) -> None:
        users = get_user_model()
        for name in names:
            user, created = users.objects.get_or_create(username=name)
            if created or not user.check_password(password):
                user.set_password(password)
                user.save()
        width = max(len(name) for name in names)
        self.stdout.write("Demo users (log in with any of them):")
        for name in names:
            self.stdout.write(f"  user {name:<{width}}   password {password}")
