"""Stateless transformations from a plain function (optax's ``stateless`` helpers).

``stateless(f)`` turns ``f(updates, params) -> updates`` into a transformation whose state
is ``EmptyState()``; ``stateless_with_tree_map(f)`` does the same for a per-array
``f(update, param) -> update`` mapped over the tree.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from .. import _validate
from .._base import EmptyState, GradientTransformation


def _empty_init(params):
    del params
    return EmptyState()


def _check_callable(fn: str, arg: str, f: Any) -> None:
    if not callable(f):
        _validate.fail(fn, arg, f, "must be a callable", error=TypeError)


def stateless(f: Callable[[Any, Any], Any]) -> GradientTransformation:
    """A stateless transformation from ``f(updates, params) -> updates``.

    ``update(u, state, params)`` returns ``(f(u, params), EmptyState())``; ``params`` may be
    ``None``. Extra keyword arguments given to ``update`` are accepted and ignored.

    Args:
      f: a function of the whole update tree and the params (or ``None``).

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``.

    Raises:
      TypeError: if ``f`` is not callable.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.stateless(lambda u, p: jax.tree.map(lambda g: 2.0 * g, u))
      >>> u, _ = tx.update({"w": jnp.array([1.0, -3.0])}, tx.init(None))
      >>> print(u["w"])
      [ 2. -6.]
    """
    _check_callable("stateless", "f", f)

    def update_fn(updates, state, params=None, **extra_args):
        del state, extra_args
        return f(updates, params), EmptyState()

    return GradientTransformation(_empty_init, update_fn)


def stateless_with_tree_map(f: Callable[[Any, Any], Any]) -> GradientTransformation:
    """A stateless transformation from a per-array ``f(update, param) -> update``.

    ``f`` is mapped over the update tree together with the params; when ``params`` is
    ``None`` it is called as ``f(update, None)``. Extra keyword arguments given to
    ``update`` are accepted and ignored.

    Args:
      f: a function of one update array and its parameter array (or ``None``).

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``.

    Raises:
      TypeError: if ``f`` is not callable.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.stateless_with_tree_map(lambda g, p: g + 0.1 * p)
      >>> params = {"w": jnp.array([1.0, 2.0])}
      >>> u, _ = tx.update({"w": jnp.array([1.0, 1.0])}, tx.init(params), params)
      >>> print(u["w"])
      [1.1 1.2]
    """
    _check_callable("stateless_with_tree_map", "f", f)

    def update_fn(updates, state, params=None, **extra_args):
        del state, extra_args
        if params is None:
            return jax.tree.map(lambda u: f(u, None), updates), EmptyState()
        return jax.tree.map(f, updates, params), EmptyState()

    return GradientTransformation(_empty_init, update_fn)
