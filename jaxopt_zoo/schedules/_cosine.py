r"""Cosine schedules: cosine decay, warmup + cosine, SGDR and PyTorch's warm restarts.

Cosine decay over ``T`` steps from ``v_0``:

.. math::

   s(t) = v_0 \Big(\alpha + (1-\alpha)\big[\tfrac12(1 + \cos(\pi \min(t, T)/T))\big]^{p}\Big).
"""

from __future__ import annotations

from typing import Any, Iterable

import jax.numpy as jnp
import numpy as np

from .. import _validate
from .._base import Schedule
from ._join import join_schedules
from ._simple import float_step, linear_schedule


def cosine_interpolate(start: Any, end: Any, fraction: Any) -> Any:
    r"""Half a cosine from ``start`` (fraction 0) to ``end`` (fraction 1):
    :math:`end + (start - end)\,\tfrac12\big(1 + \cos(\pi \cdot fraction)\big)`."""
    return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * fraction) + 1)


def cosine_decay_schedule(init_value: Any, decay_steps: int, alpha: Any = 0.0, exponent: Any = 1.0) -> Schedule:
    r"""Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps``.

    Args:
      init_value: ``s(0)``.
      decay_steps: ``T``, > 0; the value stays at ``alpha * init_value`` after it.
      alpha: the final value as a fraction of ``init_value``.
      exponent: ``p``, the power of the cosine factor.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``decay_steps`` is not a positive integer.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.cosine_decay_schedule(0.1, decay_steps=100)
      >>> round(float(s(50)), 6)
      0.05

    References:
      Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.
    """
    _validate.check_int("cosine_decay_schedule", "decay_steps", decay_steps, lo=1)
    _validate.check_nonnegative("cosine_decay_schedule", "alpha", alpha)
    return _cosine_decay(init_value, decay_steps, alpha, exponent)


def _cosine_decay(init_value: Any, decay_steps: int, alpha: Any, exponent: Any) -> Schedule:
    """The cosine decay without argument checks (its callers check theirs)."""

    def schedule(count):
        count = jnp.minimum(float_step(count), float(decay_steps))
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * count / float(decay_steps)))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def warmup_cosine_decay_schedule(
    init_value: Any, peak_value: Any, warmup_steps: int, decay_steps: int, end_value: Any = 0.0, exponent: Any = 1.0
) -> Schedule:
    r"""Linear warmup from ``init_value`` to ``peak_value``, then cosine decay to ``end_value``.

    ``decay_steps`` counts the warmup too: the value reaches ``end_value`` at step
    ``decay_steps`` (optax's convention).

    Args:
      init_value: ``s(0)``.
      peak_value: the value at the end of the warmup.
      warmup_steps: the length of the warmup, >= 0.
      decay_steps: the total length of warmup + decay, > ``warmup_steps``.
      end_value: the final value (any sign, as in optax).
      exponent: the power of the cosine factor.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``warmup_steps`` < 0 or ``decay_steps <= warmup_steps``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.warmup_cosine_decay_schedule(0.0, 3e-4, warmup_steps=1_000, decay_steps=100_000)
      >>> print([round(float(s(t)), 6) for t in (0, 500, 1000, 50500, 100000)])
      [0.0, 0.00015, 0.0003, 0.00015, 0.0]

    References:
      Goyal et al., `Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour
      <https://arxiv.org/abs/1706.02677>`_, 2017.
    """
    fn = "warmup_cosine_decay_schedule"
    _validate.check_int(fn, "warmup_steps", warmup_steps, lo=0)
    _validate.check_int(fn, "decay_steps", decay_steps, lo=warmup_steps + 1)
    peak = _validate.concrete_float(peak_value)
    if peak is not None:
        alpha = 0.0 if peak == 0.0 else end_value / peak_value
    else:
        alpha = jnp.where(peak_value == 0.0, 0.0, end_value / jnp.where(peak_value == 0.0, 1.0, peak_value))
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            _cosine_decay(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


def sgdr_schedule(cosine_kwargs: Iterable[dict]) -> Schedule:
    """SGDR: warm restarts, one ``warmup_cosine_decay_schedule`` after another.

    Args:
      cosine_kwargs: one dict of ``warmup_cosine_decay_schedule`` arguments per cycle;
        each cycle lasts its ``decay_steps``.

    Returns:
      A schedule.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> cycle = dict(init_value=0.0, peak_value=0.1, warmup_steps=10, decay_steps=100)
      >>> s = zoo.sgdr_schedule([cycle] * 3)
      >>> print([round(float(s(t)), 6) for t in (0, 10, 60, 110, 120)])
      [0.0, 0.1, 0.041318, 0.1, 0.096985]

    References:
      Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.
    """
    schedules, boundaries, step = [], [], 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += kwargs["decay_steps"]
        boundaries.append(step)
    return join_schedules(schedules, boundaries[:-1])


def cosine_warm_restarts_schedule(init_value: Any, t_0: int, t_mult: int = 1, eta_min: Any = 0.0) -> Schedule:
    r"""PyTorch's CosineAnnealingWarmRestarts: cosine cycles of length ``t_0 \cdot t_{mult}^i``.

    Within cycle ``i`` (starting at step :math:`b_i = t_0 (t_{mult}^i - 1)/(t_{mult} - 1)`,
    or :math:`i\,t_0` when :math:`t_{mult} = 1`), with :math:`T_i = t_0 t_{mult}^i`,

    .. math::

       s(t) = \eta_{min} + (v_0 - \eta_{min})\,\tfrac12\big(1 + \cos(\pi (t - b_i)/T_i)\big).

    Cycle starts are found with exact integer arithmetic, so they never drift.

    Args:
      init_value: the value at each restart (torch's base lr).
      t_0: the length of the first cycle, an integer >= 1.
      t_mult: the growth factor of the cycle length, an integer >= 1.
      eta_min: the lowest value, >= 0.

    Returns:
      A schedule equal to torch's lr after ``t`` calls of ``scheduler.step()``.

    Raises:
      ValueError: if ``t_0`` or ``t_mult`` is not an integer >= 1, or ``eta_min`` is negative.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.cosine_warm_restarts_schedule(0.1, t_0=10, t_mult=2)
      >>> print([round(float(s(t)), 6) for t in (0, 5, 10, 20, 30)])
      [0.1, 0.05, 0.1, 0.05, 0.1]

    References:
      Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.
    """
    fn = "cosine_warm_restarts_schedule"
    _validate.check_int(fn, "t_0", t_0, lo=1)
    _validate.check_int(fn, "t_mult", t_mult, lo=1)
    _validate.check_nonnegative(fn, "eta_min", eta_min)
    # Cycle starts up to the int32 range, computed exactly in Python integers.
    starts, lengths, start, length = [], [], 0, t_0
    while start < 2**31 and len(starts) < 100_000:
        starts.append(start)
        lengths.append(length)
        start, length = start + length, length * t_mult
    if t_mult == 1:
        starts, lengths = None, None
    else:
        starts, lengths = np.asarray(starts, np.int32), np.asarray(lengths, np.float64)

    def schedule(count):
        count = jnp.asarray(count)
        if starts is None:
            t_cur, t_i = float_step(count % t_0), float(t_0)
        else:
            i = jnp.searchsorted(jnp.asarray(starts), count, side="right") - 1
            t_cur, t_i = float_step(count - jnp.asarray(starts)[i]), jnp.asarray(lengths)[i]
        return cosine_interpolate(init_value, eta_min, t_cur / t_i)

    return schedule
