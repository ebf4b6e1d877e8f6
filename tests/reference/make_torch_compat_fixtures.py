"""Regenerate tests/reference/fixtures/torch_compat_optimizers.json from live torch.

Run with: .venv/bin/python tests/reference/make_torch_compat_fixtures.py
The fixtures hold torch.optim's trajectories (float64 and float32 runs, 100 steps) for the
fixed cases in torch_compat_cases.FIXED_CASES, so the torch_compat parity suite runs on
machines without torch; with torch installed, test_torch_compat_fixtures.py checks they
still equal live torch.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repo root: tests is a package

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # make_params builds float64 start points

from tests.reference.torch_compat_cases import FIXTURE, write_fixtures  # noqa: E402

if __name__ == "__main__":
    write_fixtures()
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE) / 1e6:.2f} MB)")
