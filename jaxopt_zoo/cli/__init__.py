"""The ``jaxopt-zoo`` command: shootout, landscape, schedules, list (and demo = shootout + landscape).

Run ``jaxopt-zoo --help`` (or ``python -m jaxopt_zoo --help``). ``main(argv)`` returns the exit
code: 0, or 2 for a bad option or spec (one clean line on stderr naming the close matches).
"""

from ._main import main as main
