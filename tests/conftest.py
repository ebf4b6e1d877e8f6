"""Strict test settings: float64 available, warnings are errors (pyproject), hypothesis
profiles sized for 2-core CI, and both of JAX's precision modes.

The suite runs with ``jax_enable_x64`` on (float64 references need it). JAX's default mode —
x64 off, what most users run — is covered through the ``dtype`` fixture: every parity test
that takes it runs in float64, in float32 with x64 on, and in float32 with x64 off
(``[float32-x64off]``), the last inside ``jax.enable_x64(False)`` (a thread-local switch, so
the same pytest run covers both modes). The fixture checks that x64 really is off before the
test and still off after it.
"""

import os

import jax
import jax.numpy as jnp
import pytest
from hypothesis import settings

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

X64_OFF = "float32-x64off"  # the id of the dtype fixture's x64-off case


def x64_is_off() -> bool:
    """As ``harness.x64_is_off``: JAX's default mode, where Python floats become float32."""
    return not jax.config.jax_enable_x64 and jnp.asarray(1.0).dtype == jnp.float32


@pytest.fixture(params=["float64", "float32", X64_OFF])
def dtype(request):
    """Every parity test runs in float64 (tight), float32 (loose), and float32 with x64 off.

    The value is the dtype name ("float64" or "float32"); the x64-off case also gives
    "float32", so tests need no change to run in JAX's default mode.
    """
    if request.param != X64_OFF:
        assert jax.config.jax_enable_x64, "the suite runs with x64 on"
        yield request.param
        return
    with jax.enable_x64(False):
        assert x64_is_off(), "the float32-x64off case must run with x64 off"
        yield "float32"
        assert x64_is_off(), "x64 was switched back on during a float32-x64off test"
