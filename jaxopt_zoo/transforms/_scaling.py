"""Scaling updates by a constant, a learning rate or a schedule."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation, ScalarOrSchedule, Schedule, identity


ScaleState = EmptyState  # the state of ``scale``: optax's name, the very same class


class ScaleByScheduleState(NamedTuple):
    """State of ``scale_by_schedule``: how many updates have been made."""

    count: jax.Array  # int32 scalar


def scale(step_size: Any) -> GradientTransformation:
    """Multiply updates by a constant: ``u <- step_size * u``.

    Args:
      step_size: the factor (a float or a scalar array).

    Returns:
      A stateless ``GradientTransformation``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.scale_by_adam(), zoo.scale(-1e-3))
      >>> import jax.numpy as jnp
      >>> g = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(g, tx.init(g), g)
      >>> print([round(float(u), 6) for u in updates])
      [-0.001, 0.001]
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(lambda g: step_size * g, updates), state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    """Multiply updates by a schedule of the step count: ``u <- s(t) * u``.

    The first update uses ``s(0)``; the count saturates at the int32 maximum.

    Args:
      step_size_fn: a callable ``count -> scalar`` that works on a traced int32 count.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByScheduleState``.

    Raises:
      TypeError: if ``step_size_fn`` is not callable.
    """
    if not callable(step_size_fn):
        _validate.fail("scale_by_schedule", "step_size_fn", step_size_fn, "must be a callable", TypeError)

    def init_fn(params):
        del params
        return ScaleByScheduleState(count=_numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        step_size = step_size_fn(state.count)
        updates = jax.tree.map(lambda g: jnp.array(step_size, dtype=g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=_numerics.safe_increment(state.count))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def scale_by_learning_rate(learning_rate: ScalarOrSchedule | None = None, *, flip_sign: bool = True) -> GradientTransformation:
    """Multiply updates by ``-learning_rate`` (a float or a schedule).

    Args:
      learning_rate: a float >= 0, or a schedule ``count -> lr``; ``None`` means no scaling.
      flip_sign: multiply by ``-learning_rate`` (default, for descent) or ``+learning_rate``.

    Returns:
      ``scale(-lr)`` for a float, ``scale_by_schedule(-lr(t))`` for a schedule.

    Raises:
      ValueError: if a concrete ``learning_rate`` is negative or NaN.
    """
    if learning_rate is None:
        return identity()
    _validate.check_learning_rate("scale_by_learning_rate", learning_rate)
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)
