"""The protocol: jit equals eager, one trace per shape, extra kwargs, chain and apply_updates."""


import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tests.reference.harness import loss as harness_loss
from tests.reference.harness import make_params, trajectory

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

NAMES = sorted(_registry.OPTIMIZERS)


def build(name):
    return _registry.build(name)


def needs_value(name):
    # optimizers whose update takes a loss value
    return name in {"sam"} or bool(_registry.UPDATE_EXTRAS.get(name))


# Steps of the jit-vs-eager comparison: 8 covers every period shorter than 8 in the catalogue's
# examples (sam's sync_period 2, lookahead's 5, ranger's 6). Members whose eager steps run control
# flow or matrix functions that compile again at every eager step (~0.5-0.8 s of CPU per step,
# the rest of the zoo ~0.02 s) take 3: their first step, a step from the first step's state and one
# from a later state, with no period of theirs within 8 steps to cover (soap's
# precondition_frequency 10, sophia's update_interval 10, shampoo's inverse roots every step,
# kron's preconditioner updated every step for its first 500, lbfgs's memory of 10 filling).
STEPS = 8
EAGER_HEAVY_STEPS = {name: 3 for name in ("kron", "lbfgs", "shampoo", "soap", "sophia")}


@pytest.mark.parametrize("name", NAMES)
def test_jit_and_eager_give_the_same_trajectory(name):
    params = make_params("float64")
    extra = None
    if needs_value(name):  # what UPDATE_EXTRAS names: the loss, and for lbfgs its gradient and the loss function
        extra = lambda p, v: {"value": v, **_registry.update_extras(  # noqa: E731
            name, value=v, grad=jax.grad(harness_loss)(p), value_fn=harness_loss)}
    steps = EAGER_HEAVY_STEPS.get(name, STEPS)
    eager = trajectory(build(name), params, steps=steps, jit=False, extra_args=extra)
    jitted = trajectory(build(name), params, steps=steps, jit=True, extra_args=extra)
    for k in params:
        np.testing.assert_allclose(np.asarray(jitted[k]), np.asarray(eager[k]), rtol=1e-12, atol=1e-12)


# Members whose update rejects unknown keywords, and why.
REJECT_UNKNOWN_KEYWORDS = {
    "lbfgs": "optax's line searches pass keywords besides value/grad/value_fn to value_fn and raise a "
             "TypeError for those it does not take (tests/reference/test_lbfgs.py)",
}


@pytest.mark.parametrize("name", [n for n in NAMES if n not in REJECT_UNKNOWN_KEYWORDS])
def test_unknown_keyword_arguments_are_accepted(name):
    params = make_params("float64")
    tx = build(name)
    state = tx.init(params)
    grads = jax.tree.map(jnp.ones_like, params)
    extras = {"value": jnp.asarray(1.0), **_registry.update_extras(name, value=jnp.asarray(1.0), grad=grads,
                                                                   value_fn=harness_loss)}
    updates, _ = tx.update(grads, state, params, some_future_flag=3, **extras)
    assert jax.tree.structure(updates) == jax.tree.structure(params)


def test_no_recompilation_on_second_call():
    traces = []
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.adamw(optax.cosine_decay_schedule(1e-2, 100)))

    @jax.jit
    def step(params, state):
        traces.append(1)
        grads = jax.grad(lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p)))(params)
        updates, state = tx.update(grads, state, params)
        return zoo.apply_updates(params, updates), state

    params = make_params("float32")
    state = tx.init(params)
    for _ in range(5):
        params, state = step(params, state)
    assert len(traces) == 1
    assert step._cache_size() == 1


def test_chain_state_is_a_tuple_and_applies_in_order():
    tx = zoo.chain(zoo.scale(2.0), zoo.clip(1.0))
    state = tx.init({"w": jnp.ones(2)})
    assert isinstance(state, tuple) and len(state) == 2
    updates, _ = tx.update({"w": jnp.array([0.4, 0.6])}, state)
    np.testing.assert_allclose(updates["w"], [0.8, 1.0])  # scale first, then clip


def test_chain_rejects_a_state_of_the_wrong_length():
    tx = zoo.chain(zoo.scale(2.0), zoo.clip(1.0))
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.chain: `state` has 1 entries but the chain has 2"):
        tx.update({"w": jnp.ones(2)}, (zoo.EmptyState(),))


def test_chain_rejects_a_non_transformation():
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.chain: argument `transforms\[1\]`"):
        zoo.chain(zoo.scale(1.0), 3)


def test_optax_transformation_without_extra_args_inside_zoo_chain():
    plain = optax.GradientTransformation(lambda p: optax.EmptyState(), lambda u, s, p=None: (u, s))
    tx = zoo.chain(plain, zoo.sgd(0.1))
    params = {"w": jnp.ones(2)}
    updates, _ = tx.update({"w": jnp.ones(2)}, tx.init(params), params, value=1.0)
    np.testing.assert_allclose(updates["w"], [-0.1, -0.1])


def test_apply_updates_keeps_dtype_and_skips_none():
    params = {"a": jnp.ones(3, jnp.bfloat16), "b": None, "c": jnp.ones(2, jnp.float32)}
    updates = {"a": jnp.full(3, 0.5, jnp.float32), "b": None, "c": None}
    new = zoo.apply_updates(params, updates)
    assert new["a"].dtype == jnp.bfloat16 and float(new["a"][0]) == 1.5
    assert new["b"] is None
    assert new["c"] is params["c"]


def test_scale_by_schedule_needs_a_callable():
    with pytest.raises(TypeError, match=r"jaxopt_zoo\.scale_by_schedule: argument `step_size_fn`"):
        zoo.scale_by_schedule(0.1)


def test_first_update_uses_schedule_at_zero():
    seen = zoo.scale_by_schedule(lambda t: 10.0 + t)
    updates, state = seen.update({"w": jnp.ones(1)}, seen.init({"w": jnp.ones(1)}))
    assert float(updates["w"][0]) == 10.0 and int(state.count) == 1
