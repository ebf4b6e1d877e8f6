"""Regenerate tests/reference/fixtures/torch_compat_schedulers.json from live torch.

Run with: .venv/bin/python tests/reference/make_torch_compat_scheduler_fixtures.py
The fixtures let the torch_compat.lr_scheduler parity suite run on machines without torch;
with torch installed, tests/reference/test_torch_compat_schedulers.py checks they still equal
live torch.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repo root: tests is a package

from tests.reference.torch_compat_schedulers import FIXTURE, write_fixtures  # noqa: E402

if __name__ == "__main__":
    write_fixtures()
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes)")
