"""Regenerate tests/reference/fixtures/transformers_schedules.json from live transformers.

Run with: .venv/bin/python tests/reference/make_transformers_schedule_fixtures.py
The fixtures let the torch_compat.transformers parity suite run on machines without
transformers; with it installed, tests/reference/test_torch_compat_transformers.py checks they
still equal live transformers.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repo root: tests is a package

from tests.reference.transformers_schedules import FIXTURE, write_fixtures  # noqa: E402

if __name__ == "__main__":
    write_fixtures()
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes)")
