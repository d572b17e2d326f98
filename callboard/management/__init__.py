"""Django management commands of the callboard app."""

__all__: list[str] = []
