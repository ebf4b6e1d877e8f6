"""Shared pieces of the "beyond optax" parity suites (issue 17): the parity tree with a matrix
leaf, and a side-by-side run against a live torch optimizer.

float64 runs are compared with torch float64 to 1e-10. float32 runs (the ``dtype`` fixture's
float32 cases) are compared with the *float64* reference to 1e-5, as in test_adan_padam_adai:
torch's own float32 kernels drift from float64 by themselves, so a float32-to-float32
comparison would measure torch's rounding, not ours.
"""

from tests.reference import harness
import pytest
from tests.reference.harness import assert_trajectories_close, make_params, torch_trajectory, trajectory

SHAPES = {**harness.SHAPES, "matrix": (4, 3)}


@pytest.fixture
def matrix_tree(monkeypatch):
    """The parity tree plus a 4x3 matrix (for optimizers that treat matrices differently)."""
    monkeypatch.setattr(harness, "SHAPES", SHAPES)


def assert_same_as_torch(zoo_tx, make_torch, dtype, steps=harness.STEPS, rtol=None):
    """Run ``zoo_tx`` in ``dtype`` and ``make_torch(list_of_tensors)`` in float64, side by side."""
    got = trajectory(zoo_tx, make_params(dtype), steps)
    want = torch_trajectory(make_torch, harness.start_values("float64"), steps)
    assert_trajectories_close(got, want, dtype, rtol)
