"""``python -m jaxopt_zoo``: the ``jaxopt-zoo`` command."""

import sys

from .cli import main

sys.exit(main())
