"""``python -m bench``: run the benchmark suite (see ``bench.run``)."""

import sys

from .run import main

sys.exit(main())
