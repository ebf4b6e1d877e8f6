r"""reduce_on_plateau: shrink the updates when a monitored metric stops improving.

PyTorch's ReduceLROnPlateau as a gradient transformation. It multiplies the updates by a
``scale`` that starts at 1. Each ``update(..., value=metric)`` is one plateau step, exactly
one ``scheduler.step(metric)`` of torch, taken *before* the scale is applied (so that update
already uses the new scale):

* ``value`` is better than ``best`` when (mode/threshold_mode)
  min/rel: ``value < best * (1 - threshold)``, min/abs: ``value < best - threshold``,
  max/rel: ``value > best * (1 + threshold)``, max/abs: ``value > best + threshold``;
  better resets the count of bad steps, anything else adds one;
* during a cooldown the count of bad steps is held at 0;
* when the count exceeds ``patience``, ``scale <- max(scale * factor, min_scale)`` (only if
  that lowers it by more than ``eps``), a cooldown starts and the count is reset.

An update without ``value`` keeps the scale. After ``k`` values, ``scale * base_lr`` equals
torch's lr after ``k`` steps with ``min_lr = min_scale * base_lr`` (``eps`` is compared on the
scale; ``torch_compat.lr_scheduler.ReduceLROnPlateau`` converts torch's lr-valued eps).
These are torch's rules for every sign of the metric: a negative loss is handled as torch
handles it (optax's ``contrib.reduce_on_plateau`` is not).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation


class ReduceLROnPlateauState(NamedTuple):
    """State of ``reduce_on_plateau``."""

    scale: jax.Array  # the factor applied to the updates
    best_value: jax.Array  # best metric so far (+inf / -inf before the first)
    plateau_count: jax.Array  # int32: bad steps since the last improvement (torch's num_bad_epochs)
    cooldown_count: jax.Array  # int32: cooldown steps left
    count: jax.Array  # int32: plateau steps taken (values received)


def plateau_step(state: ReduceLROnPlateauState, value: Any, *, factor, patience, threshold,
                 threshold_mode, cooldown, min_scale, mode, eps) -> ReduceLROnPlateauState:
    """One ``scheduler.step(value)`` of torch's ReduceLROnPlateau, on the scale."""
    value = jnp.asarray(value, dtype=state.best_value.dtype)
    best = state.best_value
    if mode == "min":
        better = value < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
    else:
        better = value > (best * (threshold + 1) if threshold_mode == "rel" else best + threshold)
    best = jnp.where(better, value, best)
    bad = jnp.where(better, 0, state.plateau_count + 1)
    in_cooldown = state.cooldown_count > 0
    cooldown_left = jnp.where(in_cooldown, state.cooldown_count - 1, state.cooldown_count)
    bad = jnp.where(in_cooldown, 0, bad)
    reduce = bad > patience
    reduced = jnp.maximum(state.scale * factor, min_scale)
    scale = jnp.where(reduce & (state.scale - reduced > eps), reduced, state.scale)
    return ReduceLROnPlateauState(
        scale=scale.astype(state.scale.dtype),
        best_value=best,
        plateau_count=jnp.where(reduce, 0, bad).astype(jnp.int32),
        cooldown_count=jnp.where(reduce, cooldown, cooldown_left).astype(jnp.int32),
        count=_numerics.safe_increment(state.count),
    )


def check_plateau_args(fn: str, factor, patience, threshold, threshold_mode, cooldown, mode, eps,
                       min_arg: str = "min_scale", min_value=0.0) -> None:
    _validate.check_range(fn, "factor", factor, 0.0, 1.0, hi_open=True)
    _validate.check_int(fn, "patience", patience, lo=0)
    _validate.check_nonnegative(fn, "threshold", threshold)
    _validate.check_choice(fn, "threshold_mode", threshold_mode, ("rel", "abs"))
    _validate.check_int(fn, "cooldown", cooldown, lo=0)
    _validate.check_choice(fn, "mode", mode, ("min", "max"))
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, min_arg, min_value)


def init_plateau_state(mode: str, dtype=None) -> ReduceLROnPlateauState:
    dtype = dtype or jnp.result_type(float)
    return ReduceLROnPlateauState(
        scale=jnp.ones([], dtype),
        best_value=jnp.asarray(jnp.inf if mode == "min" else -jnp.inf, dtype),
        plateau_count=_numerics.zero_count(),
        cooldown_count=_numerics.zero_count(),
        count=_numerics.zero_count(),
    )


def reduce_on_plateau(
    factor: Any = 0.1,
    patience: int = 10,
    threshold: Any = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int = 0,
    min_scale: Any = 0.0,
    mode: str = "min",
    eps: Any = 1e-8,
) -> GradientTransformation:
    """Scale updates down when the metric passed as ``value=`` plateaus (see module docstring).

    Args:
      factor: the factor applied on a plateau, in [0, 1).
      patience: bad steps tolerated before reducing, an integer >= 0.
      threshold: the least relative/absolute change that counts as better, >= 0.
      threshold_mode: ``'rel'`` or ``'abs'``.
      cooldown: steps after a reduction during which bad steps are not counted, >= 0.
      min_scale: the lowest scale (torch's ``min_lr / base_lr``), >= 0.
      mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
      eps: reductions smaller than this (on the scale) are skipped, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ReduceLROnPlateauState``; its update takes
      the keyword ``value=`` (no value: no plateau step).

    Raises:
      ValueError: for an argument outside its range or an unknown mode.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.adam(1e-3), zoo.reduce_on_plateau(patience=5, factor=0.5))
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0]); state = tx.init(params)
      >>> for loss in [1.0] * 8:  # no improvement after the first value
      ...     updates, state = tx.update(params, state, params, value=loss)
      >>> print(float(state[1].scale))
      0.5
      >>> # in the train step: updates, state = tx.update(grads, state, params, value=loss)
    """
    check_plateau_args("reduce_on_plateau", factor, patience, threshold, threshold_mode, cooldown, mode, eps,
                       "min_scale", min_scale)
    rules = dict(factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
                 cooldown=cooldown, min_scale=min_scale, mode=mode, eps=eps)

    def init_fn(params):
        del params
        return init_plateau_state(mode)

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is not None:
            state = plateau_step(state, value, **rules)
        updates = jax.tree.map(lambda u: (state.scale * u).astype(u.dtype), updates)
        return updates, state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
