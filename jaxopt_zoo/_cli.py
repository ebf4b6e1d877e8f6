"""Old home of the command, kept so that console scripts installed before the move still start.

The command lives in ``jaxopt_zoo.cli``; pyproject's ``jaxopt-zoo`` points there.
"""

from .cli import main as main
