"""Extra arguments of ``update`` (``value=``) reach zoo transformations inside every optax
combinator, inside ``zoo.chain`` around optax combinators, and through ``nnx.Optimizer``.

optax passes extra arguments only to transformations it recognises as
``optax.GradientTransformationExtraArgs``; anything else is wrapped so that they are dropped
without a word. A probe that records the ``value`` it received proves the value arrived.
"""

import subprocess
import sys
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxopt_zoo as zoo

MISSING = -1.0


class ProbeState(NamedTuple):
    seen: jax.Array  # the last `value` received, MISSING when none came


def probe():
    """A zoo transformation that records the ``value=`` it receives in its state."""

    def init_fn(params):
        del params
        return ProbeState(jnp.asarray(MISSING))

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        seen = jnp.asarray(MISSING) if value is None else jnp.asarray(value, jnp.result_type(float))
        return updates, ProbeState(seen)

    return zoo.GradientTransformation(init_fn, update_fn)


PARAMS = {"a": jnp.ones(3), "b": jnp.ones((2, 2))}


def _seen(state):
    found = [s.seen for s in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, ProbeState)) if isinstance(s, ProbeState)]
    assert found, "no probe state in the tree"
    return [float(x) for x in found]


COMBINATORS = {
    "optax.chain": lambda: optax.chain(zoo.sgd(0.1), probe()),
    "optax.named_chain": lambda: optax.named_chain(("sgd", zoo.sgd(0.1)), ("probe", probe())),
    "optax.partition": lambda: optax.partition({"x": probe(), "y": zoo.chain(zoo.sgd(0.1), probe())}, {"a": "x", "b": "y"}),
    "optax.multi_transform": lambda: optax.multi_transform({"x": probe(), "y": probe()}, {"a": "x", "b": "y"}),
    "optax.masked": lambda: optax.masked(probe(), {"a": True, "b": False}),
    "optax.MultiSteps": lambda: optax.MultiSteps(zoo.chain(zoo.sgd(0.1), probe()), every_k_schedule=1).gradient_transformation(),
    "optax.apply_if_finite": lambda: optax.apply_if_finite(probe(), max_consecutive_errors=2),
    "optax.inject_hyperparams": lambda: optax.inject_hyperparams(lambda learning_rate: optax.chain(zoo.sgd(learning_rate), probe()))(learning_rate=0.1),
    "zoo.chain(optax.chain)": lambda: zoo.chain(optax.chain(zoo.sgd(0.1), probe())),
    "zoo.chain(optax.partition)": lambda: zoo.chain(zoo.scale(1.0), optax.partition({"x": probe(), "y": probe()}, {"a": "x", "b": "y"})),
}


@pytest.mark.parametrize("name", sorted(COMBINATORS))
def test_value_reaches_zoo_member_inside(name):
    tx = COMBINATORS[name]()
    state = tx.init(PARAMS)
    _, state = tx.update(PARAMS, state, PARAMS, value=jnp.asarray(2.5))
    assert _seen(state) == [2.5] * len(_seen(state)), name
    # without a value the probe sees none (so the check above can fail)
    _, state = tx.update(PARAMS, state, PARAMS)
    assert _seen(state) == [MISSING] * len(_seen(state)), name


def test_optax_chain_reduce_on_plateau_reduces_the_scale():
    tx = optax.chain(zoo.sgd(1.0), zoo.reduce_on_plateau(factor=0.5, patience=0))
    state = tx.init(PARAMS)
    for v in (1.0, 2.0, 3.0):  # never improves after the first: two reductions
        updates, state = jax.jit(tx.update)(PARAMS, state, PARAMS, value=jnp.asarray(v))
    assert float(state[1].scale) == pytest.approx(0.25)
    np.testing.assert_allclose(updates["a"], -0.25 * np.ones(3))


def test_optax_sees_zoo_transformations_as_extra_args_ones():
    assert isinstance(zoo.adam(1e-3), optax.GradientTransformationExtraArgs)
    assert isinstance(zoo.chain(zoo.sgd(1.0)), optax.GradientTransformation)
    assert optax.with_extra_args_support(zoo.sgd(1.0)) is not None
    tx = zoo.sgd(1.0)
    assert optax.with_extra_args_support(tx) is tx
    # the zoo's fields and tuple behaviour are unchanged
    init, update = tx
    assert (init, update) == (tx.init, tx.update)
    assert type(tx._replace(init=init)) is type(tx)


def test_zoo_with_extra_args_support():
    def plain_update(updates, state, params=None):
        return updates, state

    plain = optax.GradientTransformation(lambda p: (), plain_update)
    wrapped = zoo.with_extra_args_support(plain)
    assert isinstance(wrapped, zoo.GradientTransformationExtraArgs)
    updates, _ = wrapped.update(PARAMS, (), PARAMS, value=1.0, other=2)
    assert updates is PARAMS
    tx = zoo.sgd(1.0)
    assert zoo.with_extra_args_support(tx) is tx
    with pytest.raises(TypeError, match="with_extra_args_support"):
        zoo.with_extra_args_support(3)


class _Model(nnx.Module):
    def __init__(self, rngs):
        self.linear = nnx.Linear(2, 1, rngs=rngs)

    def __call__(self, x):
        return self.linear(x)


def test_nnx_optimizer_passes_value():
    model = _Model(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.chain(zoo.sgd(1.0), zoo.reduce_on_plateau(factor=0.5, patience=0)), wrt=nnx.Param)
    grads = nnx.grad(lambda m: jnp.sum(m(jnp.ones((1, 2)))))(model)
    for v in (1.0, 2.0, 3.0):
        optimizer.update(model, grads, value=jnp.asarray(v))
    assert float(optimizer.opt_state[1].scale[...]) == pytest.approx(0.25)
    probed = nnx.Optimizer(model, zoo.chain(zoo.sgd(0.1), probe()), wrt=nnx.Param)
    probed.update(model, grads, value=jnp.asarray(4.0))
    assert float(probed.opt_state[1].seen[...]) == 4.0


def test_without_optax_the_protocol_is_a_plain_namedtuple():
    code = (
        "import sys; sys.modules['optax'] = None\n"
        "import jax.numpy as jnp, jaxopt_zoo as zoo\n"
        "tx = zoo.chain(zoo.sgd(1.0), zoo.reduce_on_plateau(patience=0))\n"
        "assert zoo.GradientTransformation.__mro__[1] is tuple, zoo.GradientTransformation.__mro__\n"
        "assert zoo.GradientTransformation._fields == ('init', 'update')\n"
        "s = tx.init(jnp.ones(2))\n"
        "for v in (1.0, 2.0): u, s = tx.update(jnp.ones(2), s, value=v)\n"
        "assert float(s[1].scale) < 1.0\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
