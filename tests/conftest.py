"""Strict test settings: float64 available, warnings are errors (pyproject), hypothesis
profiles sized for 2-core CI, and both of JAX's precision modes.

The suite runs with ``jax_enable_x64`` on (float64 references need it). JAX's default mode —
x64 off, what most users run — is covered through the ``dtype`` fixture: every parity test
that takes it runs in float64 and in float32 with x64 off (``[float32-x64off]``), the latter
inside ``jax.enable_x64(False)`` (a thread-local switch, so the same pytest run covers both
modes); tests marked ``float32_with_x64`` run float32 with x64 on as well. The fixture checks
that x64 really is off before the test and still off after it.
"""

import os

# Compile fast. Almost all of the suite's time is XLA compiling small programs (a 120-step scan
# compiles in ~0.4 s of CPU and runs in ~1 ms); with XLA's older CPU fusion emitters the same
# programs compile ~2x faster. They round some operations differently (~1e-14 relative after 60
# float64 steps), never differently for the zoo and its reference in one test, so every
# comparison of the suite means what it means under the default pipeline.
# tests/test_compile_flags.py runs the registry under XLA's default flags in a subprocess and checks
# the two agree; the doctests (`make doctest`) use the default pipeline. ZOO_TEST_XLA=default runs
# the whole suite with XLA's defaults. On top of that the suite compiles with LLVM at -O0 (JAX's
# ``jax_disable_most_optimizations``, set below; ~25% less CPU for the parity tests' scans), but
# for tests marked ``llvm_optimized``: a few chaotic trajectories (D-Adaptation's, AdEMAMix's,
# L-BFGS's line searches, ...) or bit-level comparisons of two programs (donated and plain steps,
# the Pallas kernels in interpret mode against the unfused path) round apart at -O0 because the
# zoo's and the reference's programs are optimized differently there.
# Set before JAX starts its backend (importing jax does not start it).
FAST_COMPILE_FLAGS = ("--xla_cpu_use_fusion_emitters=false",)
# XLA_FLAGS as the suite was started, without the fast-compile flags: what a subprocess that must
# run under XLA's defaults gets (tests/_subprocess.run_under_xla_defaults; os.environ may change
# later: the CLI's --devices sets XLA_FLAGS).
DEFAULT_XLA_FLAGS = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if f not in FAST_COMPILE_FLAGS)
if os.environ.get("ZOO_TEST_XLA", "fast") == "fast":
    _flags = os.environ.get("XLA_FLAGS", "").split()
    os.environ["XLA_FLAGS"] = " ".join(_flags + [f for f in FAST_COMPILE_FLAGS if f not in _flags])
# The flags the suite compiles with (a subprocess that may share them gets them from here, not from
# os.environ, for the same reason). tests/_subprocess.py starts the suite's Python subprocesses.
SUITE_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")
# torch (the references) on one thread: two pytest workers share two cores, and torch's own
# threads on top of them make its small-tensor steps ~100x slower on a loaded machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
from jax._src import xla_bridge  # noqa: E402

# XLA reads XLA_FLAGS once, when the backend starts: nothing may have started it before this file.
assert not xla_bridge.backends_are_initialized(), "tests/conftest.py: JAX's backend started before XLA_FLAGS was set"
import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
FAST_COMPILE = os.environ.get("ZOO_TEST_XLA", "fast") == "fast"
# LLVM -O0 for this process only: the subprocesses (tests/_subprocess.py) keep LLVM's optimizations.
jax.config.update("jax_disable_most_optimizations", FAST_COMPILE)
LLVM_OPTIMIZED = "llvm_optimized"  # a marker: this test compiles with LLVM's optimizations (see above)

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# tests/distributed (two jax.distributed processes against one, ~1 min) runs in `make test-distributed`
# alone, which names the folder (a path given on the command line is collected all the same).
collect_ignore = ["distributed"]

X64_OFF = "float32-x64off"  # the id of the dtype fixture's x64-off case


def x64_is_off() -> bool:
    """As ``harness.x64_is_off``: JAX's default mode, where Python floats become float32."""
    return not jax.config.jax_enable_x64 and jnp.asarray(1.0).dtype == jnp.float32


DTYPE_CASES = ["float64", X64_OFF]  # what users run: float64 with x64 on, float32 in JAX's default mode
WITH_X64_FLOAT32 = "float32_with_x64"  # a marker: this test also runs float32 with x64 on


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{LLVM_OPTIMIZED}: compiled with LLVM's optimizations, not at the suite's -O0 (a trajectory "
        "or a bit-level comparison of two programs that -O0 rounds apart)")
    config.addinivalue_line(
        "markers", f"{WITH_X64_FLOAT32}: the dtype fixture adds float32 with x64 on (where x64's promotion "
        "rules are the point, e.g. optax's float32 failures with x64 on)")


def _parametrizes(metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if name in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return True
    return False


def pytest_generate_tests(metafunc):
    if "dtype" in metafunc.fixturenames and not _parametrizes(metafunc, "dtype"):
        cases = list(DTYPE_CASES)
        if metafunc.definition.get_closest_marker(WITH_X64_FLOAT32):
            cases.insert(1, "float32")
        metafunc.parametrize("dtype", cases, indirect=True)


@pytest.fixture
def dtype(request):
    """Parity tests run in float64 (tight) and in float32 with x64 off (loose; JAX's default mode).

    The value is the dtype name ("float64" or "float32"); the x64-off case also gives
    "float32", so tests need no change to run in JAX's default mode. Tests marked
    ``float32_with_x64`` add float32 with x64 on, where Python scalars are float64 (optax's float32
    failures with x64 on are pinned there). Every member's update dtypes with x64 on are walked in
    tests/test_update_dtypes.py.
    """
    if request.param != X64_OFF:
        assert jax.config.jax_enable_x64, "the suite runs with x64 on"
        yield request.param
        return
    with jax.enable_x64(False):
        assert x64_is_off(), "the float32-x64off case must run with x64 off"
        yield "float32"
        assert x64_is_off(), "x64 was switched back on during a float32-x64off test"


# The longest single tests (a subprocess of their own, or one program over the whole registry) go
# first: xdist hands tests out in collection order, and one of these started last keeps a worker
# busy for a minute or two after the other has finished.
LONGEST_FIRST = (
    "tests/test_sharding.py",  # the 8-device subprocess (~100 s of CPU)
    "tests/test_compile_flags.py",  # every member under XLA's default flags, in a subprocess
    "tests/test_kernels.py::test_fused_step_equals_unfused_under_xla_defaults",  # 51 chains, in a subprocess
    "tests/test_registry_interop.py::test_every_member_in_optax_chain_zoo_chain_and_nnx_optimizer",
    "tests/test_checkpoint.py::test_orbax_resume_is_bitwise_for_the_whole_registry",
    "tests/test_donation.py::test_donated_steps_equal_plain_ones_for_the_whole_zoo",
    "tests/test_optax_found_bugs.py::test_every_optimizer_under_inject_hyperparams_and_jit_gives_its_own_numbers",
)


_COMPILED_AT_O0 = True  # whether JAX's caches may hold an executable compiled at -O0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test marked ``llvm_optimized`` compiles (its fixtures too) with LLVM's optimizations.

    JAX's caches do not key on the optimization level: a module-level jitted function (the
    library's own, e.g. the Pallas kernels' calls) compiled at -O0 by an earlier test would be
    reused as it is, so the caches are cleared on the way in after an unmarked test (not on the
    way out: an optimized executable serves an unmarked test as well)."""
    global _COMPILED_AT_O0
    if not (FAST_COMPILE and item.get_closest_marker(LLVM_OPTIMIZED)):
        _COMPILED_AT_O0 = True
        return (yield)
    if _COMPILED_AT_O0:
        jax.clear_caches()
        _COMPILED_AT_O0 = False
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        return (yield)
    finally:
        jax.config.update("jax_disable_most_optimizations", True)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable: the rest keep their order
