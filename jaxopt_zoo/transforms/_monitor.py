"""Watching the optimizer: gradient and update norms recorded in the state."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics
from .._base import GradientTransformation, identity


class MonitorState(NamedTuple):
    """State of ``monitor``: the norms of the most recent update."""

    count: jax.Array  # int32: updates seen
    grad_norm: jax.Array  # global norm of the incoming updates (the gradients)
    update_norm: jax.Array  # global norm of the outgoing updates
    inner_state: Any


def monitor(inner: GradientTransformation | None = None) -> GradientTransformation:
    """Record the global norm of the gradients and of the resulting updates in the state.

    ``monitor(tx)`` runs ``tx`` and records ``||g||`` (what came in) and ``||u||`` (what
    ``tx`` made of it) at every step; ``monitor()`` alone, placed anywhere in a chain,
    records the norm of what reaches it (both fields then hold that norm). Read them from
    the state (``state.grad_norm``) inside or outside ``jit`` — for instance to watch the
    gradient norm during warmup.

    Args:
      inner: the transformation to watch (default: ``identity()``).

    Returns:
      A ``GradientTransformation`` with state ``MonitorState``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.monitor(zoo.adamw(zoo.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 1000)))
      >>> import jax.numpy as jnp
      >>> params = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(params, tx.init(params), params)
      >>> print(float(state.grad_norm), float(state.update_norm))  # the warmup's lr is 0 at step 0
      5.0 0.0
      >>> # after an update: state.grad_norm, state.update_norm
    """
    inner = inner if inner is not None else identity()

    def init_fn(params):
        zero = jnp.zeros([], jnp.result_type(float))
        return MonitorState(_numerics.zero_count(), zero, zero, inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        grad_norm = _numerics.global_norm(updates).astype(state.grad_norm.dtype)
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        update_norm = _numerics.global_norm(updates).astype(state.update_norm.dtype)
        return updates, MonitorState(_numerics.safe_increment(state.count), grad_norm, update_norm, inner_state)

    return GradientTransformation(init_fn, update_fn)
