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

Optax's call (``rtol=``, ``atol=`` or ``accumulation_size=`` given) gets optax's rule instead,
that of ``optax.contrib.reduce_on_plateau``: values are averaged over windows of
``accumulation_size``; at the end of a window ``avg`` is better when
``avg < (1 - rtol) * best - atol``; the scale is reduced on the ``patience``-th bad window
(torch's rule: on the ``patience + 1``-th), ``scale <- max(scale * factor, min_scale)``; the
cooldown is torch's. The two styles do not mix: torch's ``threshold``, ``threshold_mode``,
``mode`` or ``eps`` together with one of optax's raises.
"""

from __future__ import annotations

import functools
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
    count: jax.Array  # int32: torch's rule: values received; optax's: values in the current window
    avg_value: jax.Array  # optax's rule: mean of the current window's values (torch's: 0)


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
        avg_value=state.avg_value,
    )


def optax_plateau_step(state: ReduceLROnPlateauState, value: Any, *, factor, patience, rtol, atol,
                       cooldown, accumulation_size, min_scale) -> ReduceLROnPlateauState:
    """One value under optax.contrib.reduce_on_plateau's rule (the module docstring)."""
    count = state.count + 1
    avg = (state.count * state.avg_value + jnp.asarray(value, state.avg_value.dtype)) / count
    avg = avg.astype(state.avg_value.dtype)
    window_done = count == accumulation_size
    best = state.best_value
    better = avg < (1 - rtol) * best - atol
    bad = jnp.where(better, 0, state.plateau_count + 1)
    in_cooldown = state.cooldown_count > 0
    reduce = ~in_cooldown & (bad == patience)
    scale = jnp.maximum(jnp.where(reduce, state.scale * factor, state.scale), min_scale)
    scale = jnp.where(in_cooldown, state.scale, scale)
    cooldown_left = jnp.where(in_cooldown, state.cooldown_count - 1, jnp.where(reduce, cooldown, 0))
    bad = jnp.where(in_cooldown | reduce, 0, bad)

    def pick(done, kept):
        return jnp.where(window_done, done, kept).astype(jnp.asarray(kept).dtype)

    return ReduceLROnPlateauState(
        scale=pick(scale, state.scale),
        best_value=pick(jnp.where(better, avg, best), best),
        plateau_count=pick(bad, state.plateau_count),
        cooldown_count=pick(cooldown_left, state.cooldown_count),
        count=pick(0, count),
        avg_value=pick(0.0, avg),
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
        avg_value=jnp.zeros([], dtype),
    )


class _Unset:
    """Marks a default the call left alone (it prints, compares and computes as the value)."""

    __slots__ = ()


class _UnsetFloat(_Unset, float):
    __slots__ = ()


class _UnsetInt(_Unset, int):
    __slots__ = ()


class _UnsetStr(_Unset, str):
    __slots__ = ()


# The defaults, as values the call did not override (optax's, then torch's).
_RTOL, _ATOL, _ACCUMULATION_SIZE = _UnsetFloat(1e-4), _UnsetFloat(0.0), _UnsetInt(1)
_THRESHOLD, _THRESHOLD_MODE, _MODE, _EPS = _UnsetFloat(1e-4), _UnsetStr("rel"), _UnsetStr("min"), _UnsetFloat(1e-8)


def _plain(value):
    """An unset default as its plain value; anything else (a traced value too) as it is."""
    if isinstance(value, _Unset):
        return type(value).__mro__[2](value)
    return value


_TORCH_ARGS = ("threshold", "threshold_mode", "mode", "eps")
_OPTAX_ARGS = ("rtol", "atol", "accumulation_size")


def reduce_on_plateau(
    factor: Any = 0.1,
    patience: int = 10,
    rtol: Any = _RTOL,
    atol: Any = _ATOL,
    cooldown: int = 0,
    accumulation_size: int = _ACCUMULATION_SIZE,
    min_scale: Any = 0.0,
    *,
    threshold: Any = _THRESHOLD,
    threshold_mode: str = _THRESHOLD_MODE,
    mode: str = _MODE,
    eps: Any = _EPS,
) -> GradientTransformation:
    """Scale updates down when the metric passed as ``value=`` plateaus (see module docstring).

    Torch's rule (ReduceLROnPlateau) unless one of optax's ``rtol``, ``atol``,
    ``accumulation_size`` is given: then optax.contrib.reduce_on_plateau's rule. The
    defaults of both are theirs; a call without either's keywords gets torch's rule.

    Args:
      factor: the factor applied on a plateau, in [0, 1).
      patience: torch's rule: bad steps tolerated before reducing, an integer >= 0;
        optax's rule: the bad window that reduces, an integer >= 1.
      rtol: optax's rule: the least relative improvement, in [0, 1].
      atol: optax's rule: the least absolute improvement, >= 0 (not both 0).
      cooldown: steps after a reduction during which bad steps are not counted, >= 0.
      accumulation_size: optax's rule: values averaged per plateau step, an integer >= 1.
      min_scale: the lowest scale (torch's ``min_lr / base_lr``), >= 0.
      threshold: keyword only, torch's rule: the least relative/absolute change that
        counts as better, >= 0.
      threshold_mode: keyword only, torch's rule: ``'rel'`` or ``'abs'``.
      mode: keyword only, torch's rule: ``'min'`` (a loss) or ``'max'`` (an accuracy).
      eps: keyword only, torch's rule: reductions smaller than this (on the scale) are
        skipped, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ReduceLROnPlateauState``; its update takes
      the keyword ``value=`` (no value: no plateau step).

    Raises:
      ValueError: for an argument outside its range or an unknown mode, or torch's and
        optax's keywords in one call.

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
    fn = "reduce_on_plateau"
    given = dict(rtol=rtol, atol=atol, accumulation_size=accumulation_size, threshold=threshold,
                 threshold_mode=threshold_mode, mode=mode, eps=eps)
    given = {k: v for k, v in given.items() if not isinstance(v, _Unset)}
    torch_given = [k for k in _TORCH_ARGS if k in given]
    optax_given = [k for k in _OPTAX_ARGS if k in given]
    if torch_given and optax_given:
        _validate.fail(fn, torch_given[0], given[torch_given[0]],
                       f"is torch's rule and `{optax_given[0]}` optax's; the two do not mix: "
                       "give threshold/threshold_mode/mode/eps (torch) or rtol/atol/accumulation_size (optax)")
    if optax_given:
        _validate.check_range(fn, "factor", factor, 0.0, 1.0, hi_open=True)
        _validate.check_int(fn, "patience", patience, lo=1)
        _validate.check_range(fn, "rtol", rtol, 0.0, 1.0)
        _validate.check_nonnegative(fn, "atol", atol)
        if _validate.concrete_float(rtol) == 0.0 and _validate.concrete_float(atol) == 0.0:
            _validate.fail(fn, "atol", atol, "must be > 0 when `rtol` is 0 (optax's rule needs a tolerance)")
        _validate.check_int(fn, "cooldown", cooldown, lo=0)
        _validate.check_int(fn, "accumulation_size", accumulation_size, lo=1)
        _validate.check_nonnegative(fn, "min_scale", min_scale)
        step = functools.partial(
            optax_plateau_step, factor=factor, patience=patience, rtol=_plain(rtol), atol=_plain(atol),
            cooldown=cooldown, accumulation_size=_plain(accumulation_size), min_scale=min_scale)
    else:
        check_plateau_args(fn, factor, patience, threshold, threshold_mode, cooldown, mode, eps,
                           "min_scale", min_scale)
        step = functools.partial(
            plateau_step, factor=factor, patience=patience, threshold=_plain(threshold),
            threshold_mode=_plain(threshold_mode), cooldown=cooldown, min_scale=min_scale, mode=_plain(mode),
            eps=_plain(eps))
    mode = _plain(mode)

    def init_fn(params):
        del params
        return init_plateau_state(mode)

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is not None:
            state = step(state, value)
        updates = jax.tree.map(lambda u: (state.scale * u).astype(u.dtype), updates)
        return updates, state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
