"""callboard's benchmark suite: servers under test, a load generator, a runner, a report.

Run it with ``make bench`` (or ``python -m bench``); see ``bench/README.md``.
"""
