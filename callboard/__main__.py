"""``python -m callboard``: the command line (see ``callboard.server``)."""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``callboard`` script."""
    from callboard.server import main as server_main

    sys.exit(server_main())


if __name__ == "__main__":
    main()
