"""The suite's fast-compile XLA flags (tests/conftest.py) change rounding, not results.

The suite compiles with XLA's older CPU fusion emitters (about 2x faster compiles). Here every
member of the catalogue runs the same float64 trajectory in this process and, in a subprocess,
under XLA's default flags (what users run); the two agree to rounding
(1e-11 relative to each leaf's scale over 60 steps; measured ~3e-14). The float32 comparisons of
the suite run both sides under one set of flags, so they are not affected.
"""

import json
import os

import numpy as np

from tests._subprocess import run_python, run_under_xla_defaults
from tests.conftest import DEFAULT_XLA_FLAGS, FAST_COMPILE_FLAGS

STEPS = 60

# Runs in both processes: every catalogue member's trajectory on the parity tree, one program.
PROGRAM = r"""
import json, sys
import jax, numpy as np
jax.config.update("jax_enable_x64", True)
from jaxopt_zoo import _registry
from tests.reference.harness import loss, make_params, trajectory

names = sorted(_registry.OPTIMIZERS)

def extras(name):
    if not _registry.UPDATE_EXTRAS.get(name):
        return None
    return lambda p, v: _registry.update_extras(name, value=v, grad=jax.grad(loss)(p), value_fn=loss)

@jax.jit
def run_all(params):
    return {n: trajectory(_registry.build(n), params,
                          steps=STEPS, extra_args=extras(n)) for n in names}

out = jax.device_get(run_all(make_params("float64")))
json.dump({n: {k: np.asarray(v).tolist() for k, v in path.items()} for n, path in out.items()}, sys.stdout)
""".replace("STEPS", str(STEPS))


def _trajectories(done):
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_fast_compile_flags_agree_with_xla_defaults():
    if os.environ.get("ZOO_TEST_XLA", "fast") == "fast":
        flags = os.environ.get("XLA_FLAGS", "").split()
        assert all(f in flags for f in FAST_COMPILE_FLAGS), flags
    want = _trajectories(run_under_xla_defaults(PROGRAM, timeout=900))
    got = _trajectories(run_python(PROGRAM, xla_flags=" ".join([DEFAULT_XLA_FLAGS, *FAST_COMPILE_FLAGS]).strip(), timeout=900))
    assert sorted(got) == sorted(want)
    for name in want:
        for leaf in want[name]:
            w, g = np.asarray(want[name][leaf]), np.asarray(got[name][leaf])
            scale = max(float(np.max(np.abs(w))), 1e-300)
            err = float(np.max(np.abs(g - w))) / scale
            assert err <= 1e-11, f"{name} leaf {leaf}: the fast-compile flags moved the trajectory by {err:.2e} relative"
