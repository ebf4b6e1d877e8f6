"""Trees: mismatched structures fail loudly; None, integer/bool leaves and empty trees pass.

The policy (README "guarantees"):
* updates whose structure differs from the state's raise a ValueError that names the
  function and prints both structures;
* ``None`` leaves (frozen parameters) stay ``None`` in updates, state and params;
* integer and bool leaves are not trained: every optimizer accepts them, ``apply_updates``
  keeps them as they are, and the float leaves move exactly as without them;
* empty trees (``{}``, ``[]``, ``()``, ``None``) go through init, a jitted update and
  ``apply_updates`` unchanged.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests import _batched

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

NAMES = sorted(_registry.OPTIMIZERS)


def make(name):
    return _registry.build(name)


def loss(p):
    return sum(jnp.sum(jnp.cos(x) + 0.5 * x**2) for x in jax.tree.leaves(p) if jnp.issubdtype(x.dtype, jnp.inexact))


def floats():
    return {"v": jnp.linspace(-1.0, 1.0, 5), "m": jnp.arange(6.0).reshape(2, 3) / 7 - 0.3, "s": jnp.array(0.4)}


WRAPPERS = {
    "apply_if_finite": lambda: zoo.apply_if_finite(zoo.adam(1e-2), 2),
    "MultiSteps": lambda: zoo.MultiSteps(zoo.adam(1e-2), 2).gradient_transformation(),
    "inject_hyperparams": lambda: zoo.inject_hyperparams(zoo.adamw)(learning_rate=1e-2),
    "lookahead": lambda: zoo.lookahead(zoo.sgd(0.1, momentum=0.9)),
    "masked": lambda: zoo.masked(zoo.adam(1e-2), lambda p: jax.tree.map(lambda _: True, p)),
    "chain": lambda: zoo.chain(zoo.clip_by_global_norm(1.0), zoo.trace(0.9), zoo.scale(-0.1)),
    "record_norms": lambda: zoo.record_norms(zoo.adam(1e-2)),
    "reduce_on_plateau": lambda: zoo.chain(zoo.adam(1e-2), zoo.reduce_on_plateau()),
}
ALL = {**{n: (lambda n=n: make(n)) for n in NAMES}, **WRAPPERS}


# Members whose state holds nothing shaped like the params (a count, a key): a state made for
# other params is a valid state for these; the test checks that claim instead.
NO_PARAM_STATE = {"fromage", "noisy_sgd", "polyak_sgd", "sign_sgd"}


@pytest.mark.parametrize("name", sorted(ALL))
def test_state_from_other_params_shows_both_structures(name):
    tx = ALL[name]()
    params = floats()
    other = {"v": params["v"], "w": params["m"], "s": params["s"]}  # one key renamed
    state = tx.init(other)
    if name in NO_PARAM_STATE:
        assert jax.tree.structure(state) == jax.tree.structure(tx.init(params)), name
        return
    grads = jax.grad(loss)(params)
    with pytest.raises(ValueError) as info:
        tx.update(grads, state, params)
    message = str(info.value)
    assert message.startswith("jaxopt_zoo."), message
    assert str(jax.tree.structure(params)) in message and str(jax.tree.structure(other)) in message, message


@pytest.mark.parametrize("name", ["adam", "sgd", "adafactor", "schedule_free_adamw", "lion"])
def test_an_extra_leaf_in_the_updates_shows_both_structures(name):
    tx = make(name)
    params = floats()
    state = tx.init(params)
    more = {**params, "extra": jnp.ones(2)}
    with pytest.raises(ValueError, match=r"(?s)^jaxopt_zoo\..*'extra'"):
        tx.update(jax.grad(loss)(more), state, more)


def run(tx, params, steps=2):
    """A few jitted steps; returns the final params and state."""

    @jax.jit
    def go(params):
        state = tx.init(params)
        for _ in range(steps):
            grads = jax.grad(loss, allow_int=True)(params)
            # integer/bool leaves get zero gradients of their own dtype (not float0)
            grads = jax.tree.map(lambda g, p: jnp.zeros_like(p) if g.dtype == jax.dtypes.float0 else g, grads, params)
            u, state = tx.update(grads, state, params, value=loss(params), value_fn=loss)  # value_fn: sophia's obj_fn
            params = zoo.apply_updates(params, u)
        return params, state

    return go(params)


# Members that do not take None, integer or bool leaves or empty trees (not done), and why.
NO_ODD_LEAVES = {
    "lbfgs": "optax's L-BFGS: inner products over the whole tree, value_fn evaluated at params + step * "
             "direction (integer leaves would turn float) and a value dtype read from the first leaf; "
             "optax's fails on these trees too",
    "sophia": "its Hutchinson estimator differentiates obj_fn in every leaf (jax.jvp refuses integer leaves, "
              "as in optax's); an empty tree has nothing to estimate and the walker passes no obj_fn there",
    "dpsgd": "the noise of every leaf comes from one key split into 1 + number of leaves (optax's draw), so "
             "extra leaves change the float leaves' noise; an empty tree has no batch (per-example gradients)",
}


def odd_params():
    base = floats()
    return {
        **base,
        "frozen": None,
        "nested": {"n": None, "count": jnp.array([3, -4], jnp.int32), "flag": jnp.array([True, False])},
        "step": jnp.array(7, jnp.int32),
    }


@pytest.fixture(scope="module")
def odd_leaf_runs(request):
    """Every collected member's steps from the float tree and from the tree with odd leaves, 8
    members a compiled program (tests/_batched.py), LLVM -O0 (2 steps compared to 1e-12)."""
    names = _batched.collected_params(request, "test_none_integer_and_bool_leaves_pass_through")
    return _batched.run_each(names, lambda name, base, odd: (run(ALL[name](), base), run(ALL[name](), odd)),
                             floats(), odd_params(), compiler_options=_batched.LLVM_O0)


@pytest.mark.parametrize("name", sorted(set(ALL) - set(NO_ODD_LEAVES)))
def test_none_integer_and_bool_leaves_pass_through(name, odd_leaf_runs):
    base, odd = floats(), odd_params()
    (want, _), (got, state) = _batched.result(odd_leaf_runs, name)
    assert got["frozen"] is None and got["nested"]["n"] is None
    np.testing.assert_array_equal(got["nested"]["count"], odd["nested"]["count"])
    np.testing.assert_array_equal(got["nested"]["flag"], odd["nested"]["flag"])
    assert got["nested"]["count"].dtype == jnp.int32 and got["nested"]["flag"].dtype == jnp.bool_
    assert int(got["step"]) == 7
    for k in base:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-14, err_msg=f"{name}: leaf {k}", equal_nan=False)
    assert None not in jax.tree.leaves(state)


@pytest.mark.parametrize("name", sorted(set(ALL) - set(NO_ODD_LEAVES)))
def test_empty_trees_pass_through(name):
    tx = ALL[name]()
    empties = ({}, [], (), None)
    states = [tx.init(empty) for empty in empties]
    # The four empty trees' updates in one jitted program (one compile for the member, not four).
    steps = jax.jit(lambda ss: [tx.update(e, s, e, value=jnp.array(1.0)) for e, s in zip(empties, ss)])(states)
    for empty, (updates, _) in zip(empties, steps):
        assert jax.tree.structure(updates) == jax.tree.structure(empty)
        assert zoo.apply_updates(empty, updates) == empty


def test_apply_updates_keeps_integer_params():
    params = {"w": jnp.ones(2), "i": jnp.array([1, 2]), "b": jnp.array(True)}
    out = zoo.apply_updates(params, {"w": jnp.ones(2), "i": jnp.array([5, 5]), "b": jnp.array(False)})
    np.testing.assert_array_equal(out["i"], [1, 2])
    assert bool(out["b"]) and out["w"][0] == 2.0
