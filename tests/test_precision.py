"""Precision: low-precision params keep their dtype, accumulator dtypes are choosable,
float64 stays float64, complex params follow optax, and counters saturate at the int32 max."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests import _batched
from tests.reference.harness import assert_trajectories_close

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

NAMES = sorted(_registry.OPTIMIZERS)


def make(name, **override):
    return _registry.build(name, **override)


def params_of(dtype):
    return {"v": jnp.linspace(-1.0, 1.0, 6).astype(dtype), "m": (jnp.arange(12.0).reshape(3, 4) / 10 - 0.5).astype(dtype)}


def loss(p):
    return sum(jnp.sum(jnp.cos(x) + 0.5 * x**2) for x in jax.tree.leaves(p))


# Members whose default start cannot run in fp16, in their references too (pytorch_optimizer's
# Prodigy and DAdaptAdam on fp16 tensors, 3 steps of this test): the first steps' moments hold
# (d0 g)^2 with d0 = estim_lr0 = 1e-6, below fp16's smallest subnormal (6e-8), so the second
# moment is 0. Prodigy then divides by sqrt(0) + d eps = 0 (non-finite params, as torch's and
# optax's); D-Adapt's steps come out 0 (the params do not move, as
# torch's). bf16 (float32's range) is checked in full; fp16 only for the dtypes.
FP16_OUT_OF_RANGE = {"prodigy", "dadapt_adamw"}
# galore's eps is its base optimizer's (scale_by_adam's 1e-8, 0 in fp16): a projected coordinate
# whose g**2 underflows gives 0/0, and the back-projection spreads the NaN over the matrix, as in
# optax.contrib.galore; base_optimizer=scale_by_adam(eps=1e-4) runs in fp16.
FP16_OUT_OF_RANGE.add("galore")

# Members that do not move in the first 3 steps by design, and how many steps they need.
STEPS = {
    # schedulefree.RAdamScheduleFree's default silent_sgd_phase: no step while RAdam's
    # rho_t <= 4 (steps 1-4 with b2 = 0.999); step 5's rectified rate (1e-2 * 0.017) moves
    # fp16 leaves near 0.1 (ulp 6e-5), step 6's bf16 ones.
    "schedule_free_radam": 6,
}


def steps(tx, params, n=3):
    def body(carry, _):
        p, s = carry
        f = lambda q: loss(q).astype(jnp.float32)  # noqa: E731
        value, g = jax.value_and_grad(f)(p)
        # what the step has, for members that need it (_registry.UPDATE_EXTRAS: polyak_sgd, lbfgs)
        u, s = tx.update(g, s, p, value=value, grad=g, value_fn=f)
        return (zoo.apply_updates(p, u), s), u

    (p, s), us = jax.lax.scan(body, (params, tx.init(params)), None, length=n)
    return p, s, us


# --- low precision params ---------------------------------------------------------------------


def low_precision_runs(name, pb, ph):
    """The member's bf16 run (catalogue hyperparameters) and fp16 run (an eps fp16 can hold)."""
    fp16_eps = {"eps": 1e-4} if "eps" in inspect.signature(_registry.factory(name)).parameters else {}
    n = STEPS.get(name, 3)
    return steps(make(name), pb, n), steps(make(name, **fp16_eps), ph, n)


@pytest.fixture(scope="module")
def low_precision(request):
    """Every collected member's bf16 and fp16 runs, 8 members per compiled program (tests/_batched.py;
    dtypes and finiteness are checked, not rounding: LLVM -O0)."""
    names = _batched.collected_params(request, "test_low_precision_params_keep_their_dtype")
    return _batched.run_each(names, low_precision_runs, params_of(jnp.bfloat16), params_of(jnp.float16),
                             compiler_options=_batched.LLVM_O0)


@pytest.mark.parametrize("name", NAMES)
def test_low_precision_params_keep_their_dtype(name, low_precision):
    """bf16 with the catalogue's hyperparameters; fp16 with an eps fp16 can hold.

    In fp16 an eps of 1e-8 rounds to 0 and g**2 underflows for |g| < 2e-4, so Adam-like
    updates become 0/0 = NaN, in optax as here; use eps >= 1e-4 (or nu_dtype=float32).
    """
    both = _batched.result(low_precision, name)
    for dtype, (p, _s, us) in zip((jnp.bfloat16, jnp.float16), both):
        for k in p:
            assert p[k].dtype == dtype, f"{name}: param {k} became {p[k].dtype}"
            assert us[k].dtype == dtype, f"{name}: updates for {k} are {us[k].dtype}"
        if dtype == jnp.float16 and name in FP16_OUT_OF_RANGE:
            continue  # dtypes kept; the values are the reference's fp16 failure (see FP16_OUT_OF_RANGE)
        for k in p:
            assert np.all(np.isfinite(np.asarray(p[k], np.float32))), f"{name}: {k} not finite in {dtype}"
        # (the params may not move: a 1e-3 step is below bf16's resolution at 0.5)
        assert any(np.any(np.asarray(us[k] != 0)) for k in us), f"{name}: zero updates in {dtype}"


def test_float64_stays_float64_everywhere():
    @jax.jit
    def all_runs(params):
        return {name: steps(make(name), params, 2) for name in NAMES}

    for name, (p, s, us) in all_runs(params_of(jnp.float64)).items():
        for x in jax.tree.leaves((p, us)):
            assert x.dtype == jnp.float64, name
        for x in jax.tree.leaves(s):
            assert not jnp.issubdtype(x.dtype, jnp.floating) or x.dtype == jnp.float64, (name, x.dtype)


# --- accumulator dtypes --------------------------------------------------------------------------

ACCUMULATORS = {
    "adam": ("mu_dtype", "nu_dtype"), "adamw": ("mu_dtype", "nu_dtype"), "amsgrad": ("mu_dtype", "nu_dtype"),
    "nadam": ("mu_dtype", "nu_dtype"), "lion": ("mu_dtype",), "sgd": ("accumulator_dtype",),
}
STATE_FIELD = {"mu_dtype": ("mu",), "nu_dtype": ("nu", "nu_max"), "accumulator_dtype": ("trace",)}


@pytest.mark.parametrize("name", sorted(ACCUMULATORS))
@pytest.mark.parametrize("param_dtype,acc_dtype", [(jnp.bfloat16, jnp.float32), (jnp.float32, jnp.bfloat16)])
def test_accumulator_dtypes_are_kept(name, param_dtype, acc_dtype):
    args = ACCUMULATORS[name]
    tx = make(name, **{a: acc_dtype for a in args})
    p, s, _ = jax.jit(lambda q: steps(tx, q))(params_of(param_dtype))
    fields = {f for a in args for f in STATE_FIELD[a]}
    found = 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(s)[0]:
        names = {getattr(k, "name", None) for k in path}
        if names & fields:
            assert leaf.dtype == acc_dtype, (name, jax.tree_util.keystr(path), leaf.dtype)
            found += 1
    assert found >= 2 * len(args)  # every accumulator of both leaves
    assert all(x.dtype == param_dtype for x in jax.tree.leaves(p))


@pytest.mark.parametrize("mu_dtype", [jnp.bfloat16, jnp.float16])
def test_mu_dtype_matches_optax(mu_dtype):
    params = {"v": jnp.linspace(-1.0, 1.0, 6, dtype=jnp.float32), "m": jnp.ones((3, 4), jnp.float32) * 0.3}

    def run(tx, apply):
        def body(carry, _):
            p, s = carry
            u, s = tx.update(jax.grad(loss)(p), s, p)
            p = apply(p, u)
            return (p, s), p

        return jax.jit(lambda c: jax.lax.scan(body, c, None, length=100))((params, tx.init(params)))[1]

    got = run(zoo.adam(1e-2, mu_dtype=mu_dtype), zoo.apply_updates)
    want = run(optax.adam(1e-2, mu_dtype=mu_dtype), optax.apply_updates)
    assert_trajectories_close(got, want, "float32")


def test_nu_dtype_is_used_in_the_arithmetic():
    """nu in bfloat16 rounds the second moment: the trajectory differs from float32 nu,
    and equals a float32 run whose nu is rounded to bfloat16 after every step."""
    params = {"v": jnp.linspace(-1.0, 1.0, 6, dtype=jnp.float32)}
    _, s16, _ = jax.jit(lambda q: steps(zoo.scale_by_adam(nu_dtype=jnp.bfloat16), q, 5))(params)
    _, s32, _ = jax.jit(lambda q: steps(zoo.scale_by_adam(), q, 5))(params)
    assert s16.nu["v"].dtype == jnp.bfloat16 and s16.mu["v"].dtype == jnp.float32
    assert not np.array_equal(np.asarray(s16.nu["v"], np.float32), np.asarray(s32.nu["v"]))
    np.testing.assert_allclose(np.asarray(s16.nu["v"], np.float32), s32.nu["v"], rtol=2e-2)


# --- complex ----------------------------------------------------------------------------------------

COMPLEX = {"adam": dict(learning_rate=3e-2), "adamw": dict(learning_rate=3e-2, weight_decay=1e-2),
           "nadam": dict(learning_rate=3e-2), "amsgrad": dict(learning_rate=3e-2)}
COMPLEX["yogi"] = dict(learning_rate=3e-2)  # optax core members with complex support


@pytest.mark.parametrize("name,dtype", [(n, "float64") for n in sorted(COMPLEX)] + [("adam", "float32")])
def test_complex_params_follow_optax(name, dtype):
    cdtype = jnp.complex128 if dtype == "float64" else jnp.complex64
    rng = np.random.default_rng(0)
    params = {
        "z": jnp.asarray(rng.normal(size=5) + 1j * rng.normal(size=5), cdtype),
        "w": jnp.asarray(rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3)), cdtype),
    }
    target = 0.3 - 0.2j

    def closs(p):
        return sum(jnp.sum(jnp.abs(x - target) ** 2 + 0.1 * jnp.abs(x) ** 4) for x in jax.tree.leaves(p))

    def run(tx, apply):
        def body(carry, _):
            p, s = carry
            g = jax.tree.map(jnp.conj, jax.grad(closs)(p))  # the descent direction for complex params
            u, s = tx.update(g, s, p)
            p = apply(p, u)
            return (p, s), p

        return jax.jit(lambda c: jax.lax.scan(body, c, None, length=100))((params, tx.init(params)))[1]

    got = run(getattr(zoo, name)(**COMPLEX[name]), zoo.apply_updates)
    want = run(getattr(optax, name)(**COMPLEX[name]), optax.apply_updates)
    split = lambda t: jax.tree.map(lambda x: jnp.stack([x.real, x.imag]), t)  # noqa: E731
    assert all(x.dtype == cdtype for x in jax.tree.leaves(got))
    assert_trajectories_close(split(got), split(want), dtype)
    assert closs(jax.tree.map(lambda x: x[-1], got)) < closs(params)


# --- counters saturate ------------------------------------------------------------------------------

TOP = int(jnp.iinfo(jnp.int32).max)


# The names of step counters in states: ``count``, and ``t`` in optax's
# ScaleBySimplifiedAdEMAMixState (simplified_ademamix keeps optax's field names).
COUNTER_NAMES = ("count", "t")


def _is_counter(path, x):
    name = getattr(path[-1], "name", None) if path else None
    return name in COUNTER_NAMES and x.dtype == jnp.int32 and x.shape == ()


def _set_counts(state, value):
    """Every int32 scalar state entry called ``count`` (or ``t``: the step counters) set to ``value``."""

    def put(path, x):
        if _is_counter(path, x):
            return jnp.asarray(value, jnp.int32)
        return x

    return jax.tree_util.tree_map_with_path(put, state)


def _counts(state):
    return [x for path, x in jax.tree_util.tree_flatten_with_path(state)[0] if _is_counter(path, x)]


# Optimizers whose state has no step counter (nothing to saturate).
NO_COUNTER = {"adadelta", "adagrad", "lars", "rmsprop", "rprop", "sgd"}
NO_COUNTER |= {"sign_sgd", "sm3", "optimistic_gradient_descent", "polyak_sgd"}  # optax core members
NO_COUNTER |= {"dog", "dowg", "cocob"}  # optax contrib members: no step counter in their states
NO_COUNTER |= {"dpsgd"}  # its state: the noise key and the momentum, as optax's
COUNTED = sorted(set(NAMES) - NO_COUNTER) + ["inject_hyperparams", "apply_if_finite", "MultiSteps"]


# Members for which a count > 0 says the state holds the previous step: a fresh state with a
# count set near the max is not a state they can reach, so only saturation and finiteness are
# checked, not that they keep moving (and why).
COUNT_MEANS_HISTORY = {
    "lbfgs": "count > 0 makes scale_by_lbfgs store params - 0 and grad - 0 as a curvature pair; a "
             "non-convex pair gives an ascent direction, the line search then returns step 0",
}


def test_no_counter_list_is_true():
    params = params_of(jnp.float32)
    for name in NAMES:
        assert bool(_counts(make(name).init(params))) == (name not in NO_COUNTER), name


def build_counted(name):
    if name == "inject_hyperparams":
        return zoo.inject_hyperparams(zoo.adamw)(learning_rate=zoo.warmup_cosine_decay_schedule(0.0, 1e-2, 10, 100, end_value=1e-3))
    if name == "apply_if_finite":
        return zoo.apply_if_finite(zoo.adam(1e-2), 3)
    if name == "MultiSteps":
        return zoo.MultiSteps(zoo.adam(1e-2), 2).gradient_transformation()
    return make(name)


def saturating_run(name, params):
    """5 steps of the member from its fresh state with the step counters set to 2 below the max."""
    tx = build_counted(name)

    def body(carry, _):
        p, s = carry
        g = jax.grad(loss)(p)  # value=, and grad= and value_fn= for lbfgs (_registry.UPDATE_EXTRAS)
        u, s = tx.update(g, s, p, value=loss(p), grad=g, value_fn=loss)
        return (zoo.apply_updates(p, u), s), u

    (p, state), updates = jax.lax.scan(body, (params, _set_counts(tx.init(params), TOP - 2)), None, length=5)
    return p, state, updates


@pytest.fixture(scope="module")
def saturating(request):
    """Every collected member's saturating run, 8 members per compiled program (tests/_batched.py;
    saturation and finiteness are checked, not rounding: LLVM -O0)."""
    names = _batched.collected_params(request, "test_counters_saturate_and_updates_stay_finite")
    names = [n for n in names if _counts(build_counted(n).init(params_of(jnp.float32)))]  # the others fail below
    return _batched.run_each(names, saturating_run, params_of(jnp.float32), compiler_options=_batched.LLVM_O0)


@pytest.mark.parametrize("name", COUNTED)
def test_counters_saturate_and_updates_stay_finite(name, saturating):
    tx = build_counted(name)
    params = params_of(jnp.float32)
    if not _counts(tx.init(params)):
        pytest.fail(f"{name} has no `count` (update COUNTED)")

    p, state, updates = _batched.result(saturating, name)
    for c in _counts(state):
        assert int(c) == TOP, (name, int(c))
    for x in jax.tree.leaves((p, updates)):
        assert np.all(np.isfinite(x)), name
    if name in COUNT_MEANS_HISTORY:
        return
    last_two = jax.tree.map(lambda u: u[-2:], updates)
    assert any(np.any(np.asarray(u) != 0) for u in jax.tree.leaves(last_two)), f"{name}: stopped moving at the max"
