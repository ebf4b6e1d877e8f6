"""Running a transformation only at some steps: ``conditionally_transform`` passes the
updates through unchanged at the other steps, ``conditionally_mask`` zeroes them.

At every call a step counter (int32, starting at 0, saturating) is given to
``should_transform_fn``; when it returns ``False`` the inner transformation is not run and
its state is kept as it was.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation, _accepted_kwargs


class ConditionallyTransformState(NamedTuple):
    """State of ``conditionally_transform``: the inner state and the call counter."""

    inner_state: Any
    step: jax.Array  # int32


class ConditionallyMaskState(NamedTuple):
    """State of ``conditionally_mask``: the call counter and the inner state."""

    step: jax.Array  # int32
    inner_state: Any


def _check(fn: str, inner: Any, should_transform_fn: Any) -> None:
    if not (callable(getattr(inner, "init", None)) and callable(getattr(inner, "update", None))):
        _validate.fail(fn, "inner", inner, "must be a GradientTransformation", error=TypeError)
    if not callable(should_transform_fn):
        _validate.fail(fn, "should_transform_fn", should_transform_fn, "must be a callable", error=TypeError)


def _conditional_update(inner, should_transform_fn, forward_extra_args, otherwise):
    """The shared update: ``lax.cond`` between the inner update and ``otherwise``."""
    keep = _accepted_kwargs(inner.update)

    def run(updates, inner_state, step, params, extra_args):
        def do_update(_):
            return inner.update(updates, inner_state, params, **keep(extra_args))

        def reject_update(_):
            return otherwise(updates), inner_state

        condition_kwargs = extra_args if forward_extra_args else {}
        return jax.lax.cond(should_transform_fn(step, **condition_kwargs), do_update, reject_update, None)

    return run


def conditionally_transform(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool = False,
) -> GradientTransformation:
    """Run ``inner`` only when ``should_transform_fn(step)`` is true; else pass the updates
    through unchanged (and keep the inner state).

    Args:
      inner: the transformation to run at some steps.
      should_transform_fn: ``step -> bool scalar``, ``step`` being the number of earlier
        calls (int32). With ``forward_extra_args`` it is called as
        ``should_transform_fn(step, **extra_args)``.
      forward_extra_args: give ``update``'s extra keyword arguments to
        ``should_transform_fn`` too (they always reach ``inner`` when it takes them).

    Returns:
      A ``GradientTransformation`` with state ``ConditionallyTransformState``.

    Raises:
      TypeError: if ``inner`` is not a transformation or ``should_transform_fn`` is not
        callable.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.conditionally_transform(zoo.scale(10.0), lambda step: step % 2 == 0)
      >>> state = tx.init(jnp.zeros(2))
      >>> for _ in range(3):
      ...     u, state = tx.update(jnp.ones(2), state)
      ...     print(u)
      [10. 10.]
      [1. 1.]
      [10. 10.]
    """
    _check("conditionally_transform", inner, should_transform_fn)
    run = _conditional_update(inner, should_transform_fn, forward_extra_args, lambda u: u)

    def init_fn(params):
        return ConditionallyTransformState(inner_state=inner.init(params), step=_numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        updates, inner_state = run(updates, state.inner_state, state.step, params, extra_args)
        return updates, ConditionallyTransformState(inner_state, _numerics.safe_increment(state.step))

    return GradientTransformation(init_fn, update_fn)


def conditionally_mask(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool = False,
) -> GradientTransformation:
    """Run ``inner`` only when ``should_transform_fn(step)`` is true; else output zeros
    (and keep the inner state).

    Args:
      inner: the transformation to run at some steps.
      should_transform_fn: ``step -> bool scalar``, ``step`` being the number of earlier
        calls (int32). With ``forward_extra_args`` it is called as
        ``should_transform_fn(step, **extra_args)``.
      forward_extra_args: give ``update``'s extra keyword arguments to
        ``should_transform_fn`` too (they always reach ``inner`` when it takes them).

    Returns:
      A ``GradientTransformation`` with state ``ConditionallyMaskState``.

    Raises:
      TypeError: if ``inner`` is not a transformation or ``should_transform_fn`` is not
        callable.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.conditionally_mask(zoo.scale(10.0), lambda step: step % 2 == 0)
      >>> state = tx.init(jnp.zeros(2))
      >>> for _ in range(3):
      ...     u, state = tx.update(jnp.ones(2), state)
      ...     print(u)
      [10. 10.]
      [0. 0.]
      [10. 10.]
    """
    _check("conditionally_mask", inner, should_transform_fn)
    run = _conditional_update(inner, should_transform_fn, forward_extra_args,
                              lambda u: jax.tree.map(jnp.zeros_like, u))

    def init_fn(params):
        return ConditionallyMaskState(step=_numerics.zero_count(), inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        updates, inner_state = run(updates, state.inner_state, state.step, params, extra_args)
        return updates, ConditionallyMaskState(step=_numerics.safe_increment(state.step), inner_state=inner_state)

    return GradientTransformation(init_fn, update_fn)
