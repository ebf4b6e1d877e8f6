"""Regenerate tests/reference/fixtures/schedules_torch.json from live torch.

Run with: .venv/bin/python tests/reference/make_schedule_fixtures.py
The fixtures let the schedule parity suite run on machines without torch; with torch
installed, tests/reference/test_schedules_torch.py checks they still equal live torch.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repo root: tests is a package

from tests.reference.torch_schedules import FIXTURE, write_fixtures  # noqa: E402

if __name__ == "__main__":
    write_fixtures()
    print(f"wrote {FIXTURE}")
