"""``runserver`` (hypercorn on Trio) and ``runworker`` (supervised channel workers)."""

__all__: list[str] = []
