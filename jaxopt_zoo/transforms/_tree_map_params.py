"""``tree_map_params``: map a function over every copy of the params inside a state.

The trick (optax's): ``init`` is called on a placeholder, an empty pytree node standing for
"the params"; wherever the placeholder lands in the resulting state, that part of the real
state is a tree shaped like the params, and ``f`` is mapped over it. Everything else (step
counters, hyperparameters) is left alone or given to ``transform_non_params``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from .. import _validate


@jax.tree_util.register_pytree_node_class
class _ParamsPlaceholder:
    """Stands for the whole params tree during ``init``: a pytree node with no leaves."""

    def tree_flatten(self):
        return (), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        del aux, children
        return cls()


def is_placeholder(x: Any) -> bool:
    """Whether ``x`` is the params placeholder of ``tree_map_params`` (its init pass): the
    zoo's or ``optax.tree_utils.tree_map_params``'s."""
    kind = type(x)
    return isinstance(x, _ParamsPlaceholder) or (
        kind.__name__ == "_ParamsPlaceholder" and kind.__module__.startswith("optax"))


def tree_map_params(
    initable: Any,
    f: Callable[..., Any],
    state: Any,
    /,
    *rest: Any,
    transform_non_params: Callable[..., Any] | None = None,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` to every tree of the state that is shaped like the params.

    Useful to build a sharding (partition spec) for the optimizer state from the params' one,
    or to cast the moments of a state. Works with transformations whose ``init`` only maps
    over the params (zoo and optax alike; ``masked`` and ``partition`` included).

    Args:
      initable: a transformation (anything with ``init``) or an ``init`` function.
      f: applied leaf by leaf to each params-shaped tree of ``state`` (with the leaves of
        ``rest`` as further arguments).
      state: the state to map over (made by ``initable``'s ``init``).
      *rest: trees shaped like the params, passed to ``f`` as extra arguments.
      transform_non_params: applied to every other leaf of the state (default: kept).
      is_leaf: passed to ``jax.tree.map`` over the params-shaped trees (e.g. to stop at
        ``MaskedNode``).

    Returns:
      The state with ``f`` applied to its params-shaped parts.

    Raises:
      TypeError: if ``initable`` has no ``init`` and is not callable.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.adam(1e-3)
      >>> params = {"w": jnp.ones(3)}
      >>> state = tx.init(params)
      >>> state = zoo.tree_map_params(tx, lambda x: x + 1.0, state)
      >>> print(state[0].mu["w"], state[0].count)
      [1. 1. 1.] 0
    """
    init = getattr(initable, "init", initable)
    if not callable(init):
        _validate.fail("tree_map_params", "initable", initable, "must be a transformation or an init function",
                       error=TypeError)
    with_placeholders = init(_ParamsPlaceholder())

    def map_params(maybe_placeholder, value):
        if isinstance(maybe_placeholder, _ParamsPlaceholder):
            return jax.tree.map(f, value, *rest, is_leaf=is_leaf)
        if transform_non_params is not None:
            return transform_non_params(value)
        return value

    return jax.tree.map(map_params, with_placeholders, state, is_leaf=is_placeholder)
