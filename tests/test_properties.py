"""Properties over random inputs (hypothesis; the "ci" profile in conftest is derandomized).

* learning rate 0 (every rate of the example, e.g. ``mars``' ``learning_rate_1d`` too) leaves
  the params unchanged, for every catalogued optimizer;
* ``masked`` leaves are untouched by the inner transformation;
* ``chain`` is associative;
* every catalogued schedule is finite and within its range at any int32 step;
* updates have the structure, shapes and dtypes of the params for random pytrees.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

NAMES = sorted(_registry.OPTIMIZERS)
TOP = int(jnp.iinfo(jnp.int32).max)


def make(name, **override):
    return _registry.build(name, **override)


finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=32)


def arrays(shape):
    n = int(np.prod(shape))
    return st.lists(finite, min_size=n, max_size=n).map(lambda xs: np.asarray(xs, np.float64).reshape(shape))


FIXED = {"m": (3, 2), "v": (4,), "s": ()}
fixed_trees = st.fixed_dictionaries({k: arrays(s) for k, s in FIXED.items()})


def loss(p):
    return sum(jnp.sum(jnp.cos(x) + 0.5 * x**2) for x in jax.tree.leaves(p))


# --- learning rate 0 ----------------------------------------------------------------------------

# Optimizers whose learning_rate is not a multiplier of the step, and why.
LR_ZERO_EXCEPTIONS = {
    "rprop": "learning_rate is only the initial step size; steps are clamped to [min_step_size, max_step_size]",
    "madgrad": "the step is (learning_rate + eps) * sqrt(k + 1), as in the reference: lr 0 still moves by eps",
    "polyak_sgd": "no learning_rate (optax's signature): the step is the Polyak step times `scaling`, "
                  "tests/reference/test_polyak.py",
}


def zero_rates(name):
    """``learning_rate=0`` and every other rate of the member's example (``mars`` has a
    separate ``learning_rate_1d`` for scalars and vectors, as pytorch_optimizer.MARS's ``lr_1d``)."""
    rates = {k: 0.0 for k in _registry.OPTIMIZERS[name].example if k.startswith("learning_rate")}
    return {**rates, "learning_rate": 0.0}


@functools.cache
def lr_zero_run(name):
    tx = make(name, **zero_rates(name))

    @jax.jit
    def run(params, grads):
        state = tx.init(params)
        p = params
        for g in grads:  # gradients that do not come from the params: anything goes
            u, state = tx.update(g, state, p, value=loss(p), grad=g, value_fn=loss)  # extras: polyak_sgd, lbfgs
            p = zoo.apply_updates(p, u)
        return p

    return run


@pytest.mark.parametrize("name", [n for n in NAMES if n not in LR_ZERO_EXCEPTIONS])
@settings(max_examples=8)
@given(params=fixed_trees, g1=fixed_trees, g2=fixed_trees)
def test_learning_rate_zero_leaves_params_unchanged(name, params, g1, g2):
    out = lr_zero_run(name)(params, (g1, g2))
    for k in FIXED:
        np.testing.assert_array_equal(out[k], params[k], err_msg=f"{name}: leaf {k}")


# --- masked leaves are untouched -----------------------------------------------------------------


@settings(max_examples=12)
@given(name=st.sampled_from(NAMES), mask=st.fixed_dictionaries({k: st.booleans() for k in FIXED}), grads=fixed_trees)
def test_masked_leaves_are_untouched(name, mask, grads):
    tx = zoo.masked(make(name), mask)
    params = {k: jnp.full(s, 0.5) for k, s in FIXED.items()}
    state = tx.init(params)
    for _ in range(2):
        u, state = tx.update(grads, state, params, value=loss(params), grad=grads, value_fn=loss)
    for k in FIXED:
        if not mask[k]:
            np.testing.assert_array_equal(u[k], grads[k])  # passed through as it came


# --- chain is associative ---------------------------------------------------------------------------

BLOCKS = {
    "clip_by_global_norm": lambda: zoo.clip_by_global_norm(0.7),
    "scale_by_adam": lambda: zoo.scale_by_adam(),
    "trace": lambda: zoo.trace(0.9, nesterov=True),
    "scale": lambda: zoo.scale(-0.3),
    "add_decayed_weights": lambda: zoo.add_decayed_weights(1e-2),
    "scale_by_rms": lambda: zoo.scale_by_rms(),
    "clip": lambda: zoo.clip(0.2),
    "scale_by_learning_rate": lambda: zoo.scale_by_learning_rate(zoo.cosine_decay_schedule(0.1, 10)),
    "lion": lambda: zoo.lion(1e-2),
}


@settings(max_examples=20)
@given(names=st.lists(st.sampled_from(sorted(BLOCKS)), min_size=3, max_size=3), grads=fixed_trees)
def test_chain_is_associative(names, grads):
    a, b, c = (BLOCKS[n] for n in names)
    variants = [zoo.chain(zoo.chain(a(), b()), c()), zoo.chain(a(), zoo.chain(b(), c())), zoo.chain(a(), b(), c())]
    params = {k: jnp.full(s, 0.5) for k, s in FIXED.items()}
    results = []
    for tx in variants:
        state, p = tx.init(params), params
        for _ in range(3):
            u, state = tx.update(grads, state, p)
            p = zoo.apply_updates(p, u)
        results.append(p)
    for other in results[1:]:
        for k in FIXED:
            np.testing.assert_array_equal(other[k], results[0][k])


# --- schedules: finite and in range at any step ------------------------------------------------------

VALUE_KEYS = {"value", "init_value", "end_value", "peak_value", "max_value", "base_value", "eta_min"}


def _values(kwargs):
    """Every value-like number in a schedule's (possibly nested) example kwargs."""
    out = []
    for k, v in kwargs.items():
        if k in VALUE_KEYS and v is not None:
            out.append(float(v))
        elif isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, dict):
                    out += _values(item)
    return out


@functools.cache
def schedule_on(name):
    sched = _registry.factory(name)(**_registry.SCHEDULES[name].example)
    momentum = getattr(sched, "momentum", None)
    both = jax.jit(jax.vmap(lambda t: (sched(t), momentum(t) if momentum else jnp.zeros(()))))
    return both, momentum is not None


@pytest.mark.parametrize("name", sorted(_registry.SCHEDULES))
@settings(max_examples=10)
@given(steps=st.lists(st.integers(0, TOP), min_size=8, max_size=8))
def test_schedules_are_finite_and_in_range(name, steps):
    run, has_momentum = schedule_on(name)
    kwargs = _registry.SCHEDULES[name].example
    top = max(_values(kwargs))
    steps = np.asarray(steps + [0, 1, TOP], np.int32)
    values, momenta = (np.asarray(x) for x in run(steps))
    assert np.all(np.isfinite(values)), (name, steps, values)
    assert np.all(values >= 0) and np.all(values <= top * (1 + 1e-12)), (name, steps, values, top)
    if has_momentum:
        lo, hi = kwargs.get("base_momentum", 0.8 if name == "cyclic_schedule" else 0.85), kwargs.get(
            "max_momentum", 0.9 if name == "cyclic_schedule" else 0.95)
        assert np.all((momenta >= lo - 1e-12) & (momenta <= hi + 1e-12)), (name, momenta)


# --- random pytrees: updates shaped like params -------------------------------------------------------

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
leaves = shapes.map(lambda s: np.linspace(-1.0, 1.0, int(np.prod(s))).reshape(s))
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.dictionaries(st.sampled_from("abcd"), children, min_size=1, max_size=3),
        st.lists(children, min_size=1, max_size=3),
        st.lists(children, min_size=1, max_size=3).map(tuple),
    ),
    max_leaves=5,
)


@settings(max_examples=15)
@given(name=st.sampled_from(NAMES), params=trees)
def test_updates_have_the_structure_of_params(name, params):
    params = jax.tree.map(jnp.asarray, params)
    tx = make(name)
    state = tx.init(params)
    grads = jax.grad(loss)(params)
    u, state = tx.update(grads, state, params, value=loss(params), grad=grads, value_fn=loss)
    assert jax.tree.structure(u) == jax.tree.structure(params)
    for a, b in zip(jax.tree.leaves(u), jax.tree.leaves(params)):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.all(np.isfinite(a))
