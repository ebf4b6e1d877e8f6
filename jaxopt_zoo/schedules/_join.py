"""Joining schedules one after another, piecewise schedules built from boundaries, and a
linear warmup joined to an exponential decay."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

from .. import _validate
from .._base import Schedule
from ._simple import exponential_decay, float_step, linear_schedule


def _check_increasing(fn: str, arg: str, values: Sequence[Any], strict: bool = False) -> None:
    values = list(values)
    ordered = all((a < b) if strict else (a <= b) for a, b in zip(values, values[1:]))
    if not ordered:
        _validate.fail(fn, arg, values, "must be in increasing order")


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[i]`` from ``boundaries[i-1]`` on, each restarted at its own step 0.

    Args:
      schedules: the schedules, in order.
      boundaries: ``len(schedules) - 1`` increasing steps at which the next one starts.

    Returns:
      A schedule.

    Raises:
      ValueError: if the lengths do not fit or the boundaries are not increasing.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.join_schedules([zoo.linear_schedule(0.0, 1.0, 10), zoo.constant_schedule(1.0)], [10])
      >>> print([round(float(s(t)), 6) for t in (0, 5, 10, 20)])
      [0.0, 0.5, 1.0, 1.0]
    """
    schedules, boundaries = list(schedules), list(boundaries)
    if len(boundaries) != len(schedules) - 1:
        _validate.fail("join_schedules", "boundaries", boundaries,
                       f"must have one entry fewer than `schedules` ({len(schedules)})")
    _check_increasing("join_schedules", "boundaries", boundaries)

    def schedule(step):
        out = schedules[0](step)
        for boundary, s in zip(boundaries, schedules[1:]):
            out = jnp.where(step < boundary, out, s(step - boundary))
        return out

    return schedule


def _boundaries_and_scales(fn: str, boundaries_and_scales: dict | None):
    items = sorted((boundaries_and_scales or {}).items())
    for boundary, factor in items:
        _validate.check_int(fn, "boundaries_and_scales", boundary, lo=0)
        _validate.check_nonnegative(fn, "boundaries_and_scales", factor)
    return items


def piecewise_constant_schedule(init_value: Any, boundaries_and_scales: dict[int, Any] | None = None) -> Schedule:
    """Multiply the value by ``scale`` at each boundary step: ``{boundary: scale}``.

    ``s(t) = init_value * prod(scale_b for b <= t)``: the scale of boundary ``b`` applies
    from step ``b`` on (optax's convention).

    Args:
      init_value: the starting value.
      boundaries_and_scales: a dict ``{step: factor}``, steps >= 0, factors >= 0.

    Returns:
      A schedule.

    Raises:
      ValueError: for a negative step or factor.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.piecewise_constant_schedule(0.1, {100: 0.1, 200: 0.1})
      >>> print([round(float(s(t)), 6) for t in (0, 100, 200)])
      [0.1, 0.01, 0.001]
    """
    items = _boundaries_and_scales("piecewise_constant_schedule", boundaries_and_scales)

    def schedule(count):
        v = init_value
        for boundary, factor in items:
            passed = jnp.maximum(0.0, jnp.sign(boundary - count))
            v = v * passed + (1 - passed) * factor * v
        return v

    return schedule


def piecewise_interpolate_schedule(
    interpolate_type: str, init_value: Any, boundaries_and_scales: dict[int, Any] | None = None
) -> Schedule:
    """Interpolate (linearly or with a half cosine) between values set at boundaries.

    The value at boundary ``b_i`` is ``init_value * prod(scales up to i)``; between two
    boundaries it is interpolated, after the last it is constant.

    Args:
      interpolate_type: ``'linear'`` or ``'cosine'``.
      init_value: the value at step 0.
      boundaries_and_scales: a dict ``{step: factor}``, steps >= 0, factors >= 0.

    Returns:
      A schedule.

    Raises:
      ValueError: for an unknown ``interpolate_type`` or a negative step or factor.
    """
    _validate.check_choice("piecewise_interpolate_schedule", "interpolate_type", interpolate_type, ("linear", "cosine"))
    items = _boundaries_and_scales("piecewise_interpolate_schedule", boundaries_and_scales)
    if interpolate_type == "linear":
        interpolate = lambda a, b, pct: a + pct * (b - a)  # noqa: E731
    else:
        interpolate = lambda a, b, pct: b + (a - b) / 2.0 * (jnp.cos(jnp.pi * pct) + 1)  # noqa: E731
    boundaries = [b for b, _ in items]
    scales = [s for _, s in items]

    def schedule(count):
        count = float_step(count)
        bounds = jnp.stack([jnp.asarray(0)] + [jnp.asarray(b) for b in boundaries])
        values = jnp.cumprod(jnp.stack([jnp.asarray(init_value)] + [jnp.asarray(s) for s in scales]))
        sizes = jnp.maximum(bounds[1:] - bounds[:-1], 1)
        inside = jnp.logical_and(bounds[:-1] <= count, count < bounds[1:])
        pct = (count - bounds[:-1]) / sizes
        return inside.dot(interpolate(values[:-1], values[1:], pct)) + (bounds[-1] <= count) * values[-1]

    return schedule


def warmup_exponential_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: Any,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Any = None,
) -> Schedule:
    r"""Linear warmup from ``init_value`` to ``peak_value``, then ``exponential_decay``.

    The decay starts (at its own step 0) when the warmup ends.

    Args:
      init_value: ``s(0)``.
      peak_value: the value at the end of the warmup.
      warmup_steps: the length of the warmup, >= 0.
      transition_steps, decay_rate, transition_begin, staircase, end_value: as in
        ``exponential_decay`` (with ``init_value=peak_value``).

    Returns:
      A schedule.

    Raises:
      ValueError: for a negative ``warmup_steps`` or a bad decay argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.warmup_exponential_decay_schedule(0.0, 1e-3, 100, transition_steps=1000, decay_rate=0.5)
      >>> print([round(float(s(t)), 6) for t in (0, 50, 100, 1100)])
      [0.0, 0.0005, 0.001, 0.0005]
    """
    fn = "warmup_exponential_decay_schedule"
    _validate.check_int(fn, "warmup_steps", warmup_steps, lo=0)
    _validate.check_int(fn, "transition_steps", transition_steps, lo=1)
    _validate.check_int(fn, "transition_begin", transition_begin, lo=0)
    _validate.check_nonnegative(fn, "decay_rate", decay_rate)
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            exponential_decay(peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value),
        ],
        [warmup_steps],
    )
