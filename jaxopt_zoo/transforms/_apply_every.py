"""``apply_every``: accumulate updates and emit their sum every ``k`` steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from .. import _numerics, _validate
from .._base import GradientTransformation
from .._tree import tree_map


class ApplyEvery(NamedTuple):
    """State of ``apply_every`` (optax's name): the step within the period and the sum."""

    count: jax.Array  # int32, in [0, k)
    grad_acc: Any


def apply_every(k: Any = 1) -> GradientTransformation:
    """Sum the updates over ``k`` steps; output the sum at every ``k``-th step, zeros otherwise.

    At step ``t`` (from 0), ``acc <- g`` when ``t % k == 0`` else ``acc + g``; the output
    is ``acc`` when ``t % k == k - 1`` and zeros otherwise. Transformations before it in a
    chain still update their state at every step (``MultiSteps`` does not).

    Args:
      k: the period, an integer >= 1.

    Returns:
      A ``GradientTransformation`` with state ``ApplyEvery``.

    Raises:
      ValueError: if a concrete ``k`` is not an integer >= 1.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.apply_every(2)
      >>> state = tx.init(jnp.zeros(1))
      >>> for g in (1.0, 2.0, 3.0, 4.0):
      ...     u, state = tx.update(jnp.array([g]), state)
      ...     print(u)
      [0.]
      [3.]
      [0.]
      [7.]
    """
    x = _validate.concrete_float(k)
    if x is not None and not (x >= 1 and float(x).is_integer()):
        _validate.fail("apply_every", "k", k, "must be an integer >= 1")

    def init_fn(params):
        return ApplyEvery(count=_numerics.zero_count(), grad_acc=_numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        c = state.count % k
        acc = c != 0
        grad_acc = tree_map(lambda g, ga: acc * ga + g, updates, state.grad_acc,
                            where="apply_every", names=("updates", "state.grad_acc"))
        emit = c == (k - 1)
        out = tree_map(lambda ga: emit * ga, grad_acc)
        count = _numerics.safe_increment(state.count) % k
        return out, ApplyEvery(count=count, grad_acc=_numerics.keep_dtype(grad_acc, state.grad_acc))

    return GradientTransformation(init_fn, update_fn)
