"""apply_if_finite and MultiSteps against optax, with NaN/Inf injected at chosen steps;
apply_if_finite around every catalogued optimizer.

A "faulty" run replaces the gradient by NaN (or Inf) at chosen steps. Whole trajectories of
params *and* wrapper counters are compared with optax's, step by step.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests import _batched
from tests.reference.harness import assert_trajectories_close, loss, make_params

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

STEPS = 100


def faulty_trajectory(tx, params, bad, apply=zoo.apply_updates, bad_value=jnp.nan, record=lambda s: (), name=None):
    """Run ``len(bad)`` steps; at step t with ``bad[t]`` the gradient's leaves are ``bad_value``
    (all of them for bad == 1, only the "vector" leaf's first element for bad == 2).

    ``name``: a registry member whose update needs extras (``_registry.UPDATE_EXTRAS``): it
    gets the loss value, the (faulty) gradient and the loss function.
    Returns ``(params path, record(state) path)``, stacked over steps.
    """
    bad = jnp.asarray(bad, jnp.int32)

    def step(carry, b):
        p, s = carry
        g = jax.grad(loss)(p)
        g = jax.tree.map(lambda x: jnp.where(b == 1, jnp.asarray(bad_value, x.dtype), x), g)
        g["vector"] = g["vector"].at[0].set(jnp.where(b == 2, jnp.asarray(bad_value, g["vector"].dtype), g["vector"][0]))
        extras = {} if name is None else _registry.update_extras(name, value=loss(p), grad=g, value_fn=loss)
        u, s = tx.update(g, s, p, **extras)
        p = apply(p, u)
        return (p, s), (p, record(s))

    _, path = jax.jit(lambda c, bs: jax.lax.scan(step, c, bs))((params, tx.init(params)), bad)
    return path


def bad_steps(*where, steps=STEPS, kind=1):
    b = np.zeros(steps, np.int32)
    b[list(where)] = kind
    return b


def finite_counters(s):
    return (s.notfinite_count, s.last_finite, s.total_notfinite)


# ------------------------------------------------------------------ apply_if_finite vs optax


@pytest.mark.parametrize("bad_value,kind", [(np.nan, 1), (np.inf, 2), (-np.inf, 1)])
def test_apply_if_finite_matches_optax(bad_value, kind, dtype):
    params = make_params(dtype)
    # Isolated bad steps, a run of 3 (skipped with max 3), and a run of 5 (gives up on the 4th).
    bad = bad_steps(5, 17, 18, 40, 41, 42, 60, 61, 62, 63, 64, kind=kind)
    got, got_c = faulty_trajectory(
        zoo.apply_if_finite(zoo.adam(3e-2), 3), params, bad, bad_value=bad_value, record=finite_counters
    )
    want, want_c = faulty_trajectory(
        optax.apply_if_finite(optax.adam(3e-2), 3), params, bad, optax.apply_updates, bad_value, finite_counters
    )
    for a, b in zip(got_c, want_c):
        np.testing.assert_array_equal(a, b)
    # Up to the give-up the trajectories are finite and equal; after it both are poisoned.
    cut = 63
    assert_trajectories_close(jax.tree.map(lambda x: x[:cut], got), jax.tree.map(lambda x: x[:cut], want), dtype)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(w))
    assert not np.all(np.isfinite(got["vector"][-1])), "after giving up the bad step must be applied"


def test_apply_if_finite_counters():
    params = make_params("float64")
    bad = bad_steps(2, 3, 10, steps=12)
    _, (count, last, total) = faulty_trajectory(zoo.apply_if_finite(zoo.sgd(0.1), 5), params, bad, record=finite_counters)
    np.testing.assert_array_equal(count, [0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(last, ~bad.astype(bool))
    np.testing.assert_array_equal(total, np.cumsum(bad))


# --------------------------------------------------- apply_if_finite around every optimizer


SKIP_STEPS = 16
SKIP_BAD = bad_steps(0, 4, 5, 11, steps=SKIP_STEPS)


def guarded(name):
    # for_a_step: dpsgd takes the gradient as a batch of one example, sophia the loss as obj_fn
    return zoo.apply_if_finite(_registry.build(name), max_consecutive_errors=2)


@pytest.fixture(scope="module")
def skip_runs(request):
    """Every collected member's run with NaN steps and its clean run: one program per 8 members
    (tests/_batched.py), each program run on both step patterns (one executable: the runs compare
    bit for bit)."""
    params = make_params("float64")
    run = lambda name, b: faulty_trajectory(  # noqa: E731
        guarded(name), params, b, record=lambda s: (s.total_notfinite, s.inner_state), name=name)
    names = _batched.collected_params(request, "test_apply_if_finite_skips_exactly_for_every_optimizer")
    return _batched.run_each_on(names, run, [(SKIP_BAD,), (np.zeros(SKIP_STEPS, np.int32),)],
                                compiler_options=_batched.LLVM_O0)


@pytest.mark.parametrize("name", sorted(_registry.OPTIMIZERS))
def test_apply_if_finite_skips_exactly_for_every_optimizer(name, skip_runs):
    """A run with NaN steps equals the clean run with those steps removed, bit for bit: the
    skipped steps touch neither params nor the inner state."""
    tx = guarded(name)
    params = make_params("float64")
    steps, bad = SKIP_STEPS, SKIP_BAD
    (got, (total, inner)), (clean, (_, clean_inner)) = (_batched.result(r, name) for r in skip_runs)
    done = np.cumsum(1 - bad)  # good steps taken after each step
    np.testing.assert_array_equal(total, np.cumsum(bad))
    start_inner = tx.init(params).inner_state
    for t in range(steps):
        n = done[t]
        for g, c, p0 in zip(jax.tree.leaves(got), jax.tree.leaves(clean), jax.tree.leaves(params)):
            np.testing.assert_array_equal(g[t], c[n - 1] if n else p0, err_msg=f"{name}: params at step {t}")
        for gi, ci, s0 in zip(jax.tree.leaves(inner), jax.tree.leaves(clean_inner), jax.tree.leaves(start_inner)):
            np.testing.assert_array_equal(gi[t], ci[n - 1] if n else s0, err_msg=f"{name}: inner state at step {t}")


def test_apply_if_finite_gives_up_after_max_consecutive_errors():
    params = make_params("float64")
    bad = bad_steps(3, 4, 5, steps=8)
    path, (count, _, total) = faulty_trajectory(zoo.apply_if_finite(zoo.adam(1e-2), 2), params, bad, record=finite_counters)
    assert np.all(np.isfinite(path["vector"][4])) and not np.any(np.isfinite(path["vector"][5]))
    # The 3rd bad step is applied; from then on params (so gradients) are NaN.
    np.testing.assert_array_equal(count, [0, 0, 0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(total, [0, 0, 0, 1, 2, 3, 4, 5])


def test_apply_if_finite_inside_chain_with_extra_args_and_optax_inner():
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.apply_if_finite(optax.sgd(0.1), 1))
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    u, state = tx.update({"w": jnp.array([1.0, jnp.nan, 0.0])}, state, params, value=jnp.array(1.0))
    np.testing.assert_array_equal(u["w"], np.zeros(3))
    assert int(state[1].total_notfinite) == 1


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_apply_if_finite_rejects_bad_max(bad):
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.apply_if_finite: argument `max_consecutive_errors`"):
        zoo.apply_if_finite(zoo.sgd(0.1), bad)


# ------------------------------------------------------------------------ MultiSteps vs optax


def ms_counters(s):
    return (s.mini_step, s.gradient_step, s.skip_state)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(every_k_schedule=3),
        dict(every_k_schedule=4, use_grad_mean=False),
        dict(every_k_schedule=lambda step: jnp.where(step < 5, 2, 5)),
        dict(every_k_schedule=1),
    ],
    ids=["k3", "k4-sum", "k-schedule", "k1"],
)
def test_multisteps_matches_optax(kwargs, dtype):
    params = make_params(dtype)
    acc = jnp.float64 if dtype == "float64" else jnp.float32
    zoo_ms = zoo.MultiSteps(zoo.adam(3e-2), accumulator_dtype=acc, **kwargs)
    optax_ms = optax.MultiSteps(optax.adam(3e-2), accumulator_dtype=acc, **kwargs)
    clean = np.zeros(STEPS, np.int32)
    got, got_c = faulty_trajectory(zoo_ms.gradient_transformation(), params, clean, record=ms_counters)
    want, want_c = faulty_trajectory(optax_ms.gradient_transformation(), params, clean, optax.apply_updates, record=ms_counters)
    assert_trajectories_close(got, want, dtype)
    for a, b in zip(jax.tree.leaves(got_c), jax.tree.leaves(want_c)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "skip", [optax.skip_not_finite, "large"], ids=["skip_not_finite", "skip_large_updates"]
)
def test_multisteps_skipping_matches_optax(skip, dtype):
    params = make_params(dtype)
    acc = jnp.float64 if dtype == "float64" else jnp.float32
    if skip == "large":
        zoo_skip = functools.partial(zoo.skip_large_updates, max_squared_norm=40.0)
        optax_skip = functools.partial(optax.skip_large_updates, max_squared_norm=40.0)
    else:
        zoo_skip, optax_skip = zoo.skip_not_finite, optax.skip_not_finite
    bad = bad_steps(1, 7, 8, 30, kind=2)
    zoo_ms = zoo.MultiSteps(zoo.adam(3e-2), 3, should_skip_update_fn=zoo_skip, accumulator_dtype=acc)
    optax_ms = optax.MultiSteps(optax.adam(3e-2), 3, should_skip_update_fn=optax_skip, accumulator_dtype=acc)
    got, got_c = faulty_trajectory(zoo_ms.gradient_transformation(), params, bad, record=ms_counters)
    want, want_c = faulty_trajectory(optax_ms.gradient_transformation(), params, bad, optax.apply_updates, record=ms_counters)
    assert_trajectories_close(got, want, dtype)
    for a, b in zip(jax.tree.leaves(got_c), jax.tree.leaves(want_c)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_multisteps_has_updated_and_default_accumulator():
    ms = zoo.MultiSteps(zoo.sgd(1.0), every_k_schedule=2)
    params = {"h": jnp.zeros(2, jnp.bfloat16), "d": jnp.zeros(2, jnp.float64)}
    state = ms.init(params)
    assert state.acc_grads["h"].dtype == jnp.float32 and state.acc_grads["d"].dtype == jnp.float64
    flags = []
    for g in [1.0, 3.0, 5.0]:
        u, state = ms.update(jax.tree.map(lambda p: jnp.full_like(p, g), params), state, params)  # noqa: B023
        flags.append(bool(ms.has_updated(state)))
    assert flags == [False, True, False]
    assert ms.inner_opt is not None


def test_multisteps_resets_a_poisoned_accumulator():
    """Deliberate difference from optax: optax zeroes the accumulator by multiplying by 0, so
    one NaN mini-step keeps it NaN forever; the zoo starts the next gradient step clean."""
    params = {"w": jnp.zeros(2)}
    zoo_ms = zoo.MultiSteps(zoo.sgd(1.0), 2)
    optax_ms = optax.MultiSteps(optax.sgd(1.0), 2)
    results = []
    for ms in (zoo_ms, optax_ms):
        state = ms.init(params)
        for g in [jnp.nan, 1.0, 1.0, 1.0]:
            u, state = ms.update({"w": jnp.full(2, g)}, state, params)
        results.append(np.asarray(u["w"]))
    np.testing.assert_array_equal(results[0], [-1.0, -1.0])
    assert np.all(np.isnan(results[1]))


@pytest.mark.parametrize("bad", [0, -2, 2.5])
def test_multisteps_rejects_bad_k(bad):
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.MultiSteps: argument `every_k_schedule`"):
        zoo.MultiSteps(zoo.sgd(0.1), bad)


def test_multisteps_rejects_non_bool_skip():
    ms = zoo.MultiSteps(zoo.sgd(0.1), 2, should_skip_update_fn=lambda u, s, p: (jnp.array(1), ()))
    params = {"w": jnp.zeros(2)}
    with pytest.raises(ValueError, match="bool scalar"):
        ms.update(params, ms.init(params), params)
