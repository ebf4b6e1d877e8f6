r"""Cyclical schedules with a companion momentum schedule: one-cycle and CyclicLR.

Both follow PyTorch's definitions (OneCycleLR, CyclicLR) and return a callable schedule
with a ``.momentum`` attribute: the schedule torch writes into ``momentum`` (SGD) or
``betas[0]`` (Adam). Feed it to a momentum hyperparameter through ``inject_hyperparams``
or to a ``torch_compat`` optimizer's ``momentum=`` / ``betas=``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp

from .. import _validate
from .._base import Schedule
from ._cosine import cosine_interpolate
from ._simple import float_step


class CyclicalSchedule:
    """A learning-rate schedule with its companion momentum schedule.

    Calling it gives the learning rate at a step; ``.momentum`` is a schedule too.
    """

    def __init__(self, value: Callable, momentum: Callable, name: str):
        self._value = value
        self.momentum: Schedule = momentum
        self.__name__ = name

    def __call__(self, count):
        return self._value(count)

    def __repr__(self) -> str:
        return f"<{self.__name__} schedule with .momentum>"


def triangle_wave(count, step_size_up, step_size_down=None):
    """CyclicLR's triangle: ``(factor, cycle, t)`` at step ``count``.

    ``factor`` rises from 0 to 1 over ``step_size_up`` steps and falls back over
    ``step_size_down`` (default ``step_size_up``); ``cycle`` is the 1-based cycle number and
    ``t`` the step, both as floats of the default precision.
    """
    up = float(step_size_up)
    total = up + (float(step_size_down) if step_size_down is not None else up)
    ratio = up / total
    t = float_step(count)
    cycle = jnp.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    factor = jnp.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
    return factor, cycle, t


def _linear_anneal(start, end, pct):
    return (end - start) * pct + start


def one_cycle_schedule(
    max_value: Any,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    *,
    base_momentum: Any = 0.85,
    max_momentum: Any = 0.95,
) -> CyclicalSchedule:
    r"""The 1cycle policy with PyTorch's OneCycleLR phase boundaries.

    With :math:`v_0 = max/div` and :math:`v_{min} = v_0/final\_div`, the value rises from
    :math:`v_0` to ``max_value`` until step ``pct_start * total_steps - 1``, then falls to
    :math:`v_{min}` at step ``total_steps - 1`` (``three_phase``: falls back to
    :math:`v_0` at ``2 * pct_start * total_steps - 2`` first, then to :math:`v_{min}`),
    annealing each phase with a half cosine or linearly. The momentum moves the opposite
    way between ``max_momentum`` and ``base_momentum``. PyTorch raises after
    ``total_steps`` steps; this schedule holds its value at step ``total_steps``.
    (optax's ``cosine_onecycle_schedule`` puts the boundaries elsewhere.)

    Args:
      max_value: the peak learning rate.
      total_steps: the length of the cycle, an integer >= 1.
      pct_start: the fraction of the cycle spent rising, in (0, 1).
      anneal_strategy: ``'cos'`` or ``'linear'``.
      div_factor: ``max_value / initial value``, > 0.
      final_div_factor: ``initial value / final value``, > 0.
      three_phase: use the three-phase variant.
      base_momentum: the momentum at the peak learning rate.
      max_momentum: the momentum at the start and end.

    Returns:
      A ``CyclicalSchedule``: ``s(t)`` is torch's lr after ``t`` steps; ``s.momentum(t)``
      its momentum.

    Raises:
      ValueError: for a bad ``total_steps``, ``pct_start``, ``anneal_strategy`` or factor.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.one_cycle_schedule(0.1, total_steps=1000)
      >>> tx = zoo.inject_hyperparams(zoo.sgd)(learning_rate=s, momentum=s.momentum)
      >>> print([round(float(s(t)), 6) for t in (0, 299, 999)])
      [0.004, 0.1, 0.0]
      >>> print([round(float(s.momentum(t)), 6) for t in (0, 299, 999)])
      [0.95, 0.85, 0.95]

    References:
      Smith & Topin, `Super-Convergence: Very Fast Training of Neural Networks Using Large
      Learning Rates <https://arxiv.org/abs/1708.07120>`_, 2018.
    """
    fn = "one_cycle_schedule"
    _validate.check_int(fn, "total_steps", total_steps, lo=1)
    _validate.check_range(fn, "pct_start", pct_start, 0.0, 1.0, lo_open=True, hi_open=True)
    _validate.check_choice(fn, "anneal_strategy", anneal_strategy, ("cos", "linear"))
    _validate.check_positive(fn, "div_factor", div_factor)
    _validate.check_positive(fn, "final_div_factor", final_div_factor)
    _validate.check_range(fn, "base_momentum", base_momentum, 0.0, 1.0)
    _validate.check_range(fn, "max_momentum", max_momentum, 0.0, 1.0)
    anneal = cosine_interpolate if anneal_strategy == "cos" else _linear_anneal
    initial = max_value / div_factor
    minimum = initial / final_div_factor
    rise_end = float(pct_start * total_steps) - 1
    if three_phase:
        phases = [
            (rise_end, (initial, max_value), (max_momentum, base_momentum)),
            (float(2 * pct_start * total_steps) - 2, (max_value, initial), (base_momentum, max_momentum)),
            (total_steps - 1, (initial, minimum), (max_momentum, max_momentum)),
        ]
    else:
        phases = [
            (rise_end, (initial, max_value), (max_momentum, base_momentum)),
            (total_steps - 1, (max_value, minimum), (base_momentum, max_momentum)),
        ]

    def make(which: int):
        def schedule(count):
            t = jnp.minimum(float_step(count), total_steps)
            starts = [0.0] + [end for end, _, _ in phases[:-1]]
            values = []
            for start, (end, lr_pair, mom_pair) in zip(starts, phases):
                a, b = (lr_pair, mom_pair)[which]
                width = end - start
                pct = (t - start) / (width if width != 0 else 1.0)
                values.append(anneal(a, b, pct))
            out = values[-1]
            for (end, _, _), v in reversed(list(zip(phases[:-1], values[:-1]))):
                out = jnp.where(t <= end, v, out)
            return out

        return schedule

    return CyclicalSchedule(make(0), make(1), "one_cycle_schedule")


def cyclic_schedule(
    base_value: Any,
    max_value: Any,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: Any = 1.0,
    *,
    base_momentum: Any = 0.8,
    max_momentum: Any = 0.9,
) -> CyclicalSchedule:
    r"""PyTorch's CyclicLR: the value cycles between ``base_value`` and ``max_value``.

    With :math:`L = up + down`, cycle :math:`c = \lfloor 1 + t/L \rfloor`,
    :math:`x = 1 + t/L - c` and :math:`r = up/L`, the height factor is :math:`x/r` while
    rising and :math:`(x-1)/(r-1)` while falling, and

    .. math::

       s(t) = base + (max - base)\cdot factor \cdot scale, \qquad
       scale = \begin{cases} 1 & \text{triangular} \\ 2^{1-c} & \text{triangular2} \\
                             \gamma^{t} & \text{exp\_range} \end{cases}

    The momentum cycles the opposite way: ``max_momentum - (max_momentum -
    base_momentum) * factor * scale``.

    Args:
      base_value: the lower bound (torch's ``base_lr``).
      max_value: the upper bound (torch's ``max_lr``).
      step_size_up: steps in the rising half, >= 1.
      step_size_down: steps in the falling half (default: ``step_size_up``).
      mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'``.
      gamma: the decay of ``'exp_range'``, in (0, 1].
      base_momentum, max_momentum: the momentum bounds.

    Returns:
      A ``CyclicalSchedule``: ``s(t)`` is torch's lr after ``t`` steps; ``s.momentum(t)``
      its momentum.

    Raises:
      ValueError: for a bad step size or an unknown ``mode``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.cyclic_schedule(1e-3, 6e-3, step_size_up=500, mode="triangular2")
      >>> print([round(float(s(t)), 6) for t in (0, 250, 500, 1000, 1500, 2000)])
      [0.001, 0.0035, 0.006, 0.001, 0.0035, 0.001]

    References:
      Smith, `Cyclical Learning Rates for Training Neural Networks
      <https://arxiv.org/abs/1506.01186>`_, 2017.
    """
    fn = "cyclic_schedule"
    _validate.check_choice(fn, "mode", mode, ("triangular", "triangular2", "exp_range"))
    _validate.check_int(fn, "step_size_up", step_size_up, lo=1)
    if step_size_down is not None:
        _validate.check_int(fn, "step_size_down", step_size_down, lo=1)
    _validate.check_range(fn, "gamma", gamma, 0.0, 1.0, lo_open=True)
    _validate.check_range(fn, "base_momentum", base_momentum, 0.0, 1.0)
    _validate.check_range(fn, "max_momentum", max_momentum, 0.0, 1.0)

    def factor_and_scale(count):
        factor, cycle, t = triangle_wave(count, step_size_up, step_size_down)
        if mode == "triangular":
            scale = 1.0
        elif mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = gamma**t
        return factor, scale

    def value(count):
        factor, scale = factor_and_scale(count)
        return base_value + (max_value - base_value) * factor * scale

    def momentum(count):
        factor, scale = factor_and_scale(count)
        return max_momentum - (max_momentum - base_momentum) * factor * scale

    return CyclicalSchedule(value, momentum, "cyclic_schedule")
