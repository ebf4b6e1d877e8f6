"""Strict test settings: float64 available, warnings are errors (pyproject), hypothesis
profiles sized for 2-core CI."""

import os

import jax
import pytest
from hypothesis import settings

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    """Every parity test runs in float64 (tight) and float32 (loose)."""
    return request.param
