"""Constraints on updates: keep the parameters non-negative, replace NaNs by zero."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _validate
from .._base import EmptyState, GradientTransformation
from .._tree import is_none, tree_map

NonNegativeParamsState = EmptyState


class ZeroNansState(NamedTuple):
    """State of ``zero_nans``: per leaf, whether the last updates had a NaN (bool scalar)."""

    found_nan: Any


def keep_params_nonnegative() -> GradientTransformation:
    """Change the updates so that ``params + updates >= 0``.

    ``u <- -p`` where ``p + u < 0``, else ``u`` unchanged: a step that would cross zero
    stops at zero. Put it last in a chain. Parameters that are already negative are moved
    to zero.

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``; its update needs ``params``.

    Raises:
      ValueError: at ``update`` when ``params`` is not given.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.sgd(1.0), zoo.keep_params_nonnegative())
      >>> params = jnp.array([0.5, 2.0])
      >>> u, _ = tx.update(jnp.array([1.0, 1.0]), tx.init(params), params)
      >>> print(zoo.apply_updates(params, u))
      [0. 1.]
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("keep_params_nonnegative", params, updates)
        updates = tree_map(lambda u, p: jnp.where((p + u) < 0.0, -p, u), updates, params,
                           where="keep_params_nonnegative", names=("updates", "params"))
        return updates, state

    return GradientTransformation(init_fn, update_fn)


def zero_nans() -> GradientTransformation:
    """Replace NaNs in the updates by zeros, and record per leaf whether there were any.

    The state's ``found_nan`` (a bool per leaf, shaped like the params' tree) tells whether
    the last updates of that leaf had a NaN; it is only reported, not used. Infinities are
    kept (``apply_if_finite`` handles those).

    Returns:
      A ``GradientTransformation`` with state ``ZeroNansState``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.zero_nans()
      >>> g = {"w": jnp.array([1.0, jnp.nan]), "b": jnp.array([2.0])}
      >>> u, state = tx.update(g, tx.init(g))
      >>> print(u["w"], state.found_nan["w"], state.found_nan["b"])
      [1. 0.] True False
    """

    def init_fn(params):
        return ZeroNansState(found_nan=jax.tree.map(lambda p: jnp.array(False), params))

    def update_fn(updates, state, params=None, **extra_args):
        del state, params, extra_args
        found = jax.tree.map(lambda u: None if u is None else jnp.any(jnp.isnan(u)), updates, is_leaf=is_none)
        updates = tree_map(lambda u: jnp.where(jnp.isnan(u), jnp.zeros_like(u), u), updates)
        return updates, ZeroNansState(found_nan=found)

    return GradientTransformation(init_fn, update_fn)
