r"""PyTorch-style step schedules and the BERT warmup-then-linear-decay schedule."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

from .. import _validate
from .._base import Schedule
from ._join import _check_increasing
from ._simple import float_step


def step_decay_schedule(init_value: Any, step_size: int, gamma: Any = 0.1) -> Schedule:
    r"""Multiply by ``gamma`` every ``step_size`` steps: ``s(t) = v_0 \gamma^{\lfloor t / step\_size \rfloor}``.

    PyTorch's StepLR (per optimizer step; use ``torch_compat.lr_scheduler.StepLR`` with
    ``steps_per_epoch`` for per-epoch stepping).

    Args:
      init_value: ``s(0)``.
      step_size: the period, an integer >= 1.
      gamma: the factor, >= 0.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``step_size`` < 1 or ``gamma`` < 0.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.step_decay_schedule(0.1, step_size=30, gamma=0.1)
      >>> round(float(s(30)), 6)
      0.01
    """
    _validate.check_int("step_decay_schedule", "step_size", step_size, lo=1)
    _validate.check_nonnegative("step_decay_schedule", "gamma", gamma)

    def schedule(count):
        return init_value * jnp.power(gamma, jnp.floor_divide(jnp.asarray(count), step_size))

    return schedule


def multistep_decay_schedule(init_value: Any, milestones: Sequence[int], gamma: Any = 0.1) -> Schedule:
    r"""Multiply by ``gamma`` at each milestone: ``s(t) = v_0 \gamma^{\#\{m \le t\}}``.

    PyTorch's MultiStepLR (a milestone given twice decays twice, as in torch).

    Args:
      init_value: ``s(0)``.
      milestones: steps in non-decreasing order, each >= 0.
      gamma: the factor, >= 0.

    Returns:
      A schedule.

    Raises:
      ValueError: if the milestones are not in order or negative, or ``gamma`` < 0.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.multistep_decay_schedule(0.1, milestones=[50, 80], gamma=0.1)
      >>> print([round(float(s(t)), 6) for t in (0, 50, 80)])
      [0.1, 0.01, 0.001]
    """
    milestones = list(milestones)
    for m in milestones:
        _validate.check_int("multistep_decay_schedule", "milestones", m, lo=0)
    _check_increasing("multistep_decay_schedule", "milestones", milestones)
    _validate.check_nonnegative("multistep_decay_schedule", "gamma", gamma)

    def schedule(count):
        count = jnp.asarray(count)
        passed = sum((count >= m).astype(jnp.int32) for m in milestones) if milestones else 0
        return init_value * jnp.power(gamma, passed)

    return schedule


def warmup_linear_decay_schedule(peak_value: Any, warmup_steps: int, total_steps: int) -> Schedule:
    r"""Linear warmup from 0 to ``peak_value``, then linear decay to 0 at ``total_steps``.

    .. math::

       s(t) = v \cdot \begin{cases} t / \max(1, W) & t < W \\
                                    \max\big(0, (N - t) / \max(1, N - W)\big) & t \ge W \end{cases}

    The usual BERT fine-tuning schedule (Hugging Face's
    ``get_linear_schedule_with_warmup``, a ``LambdaLR`` in PyTorch).

    Args:
      peak_value: the value at the end of the warmup.
      warmup_steps: ``W``, >= 0.
      total_steps: ``N``, >= ``warmup_steps``.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``warmup_steps`` < 0 or ``total_steps < warmup_steps``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.warmup_linear_decay_schedule(5e-5, warmup_steps=100, total_steps=1000)
      >>> print([round(float(s(t)), 6) for t in (0, 50, 100, 550, 1000)])
      [0.0, 2.5e-05, 5e-05, 2.5e-05, 0.0]

    References:
      Devlin et al., `BERT: Pre-training of Deep Bidirectional Transformers for Language
      Understanding <https://arxiv.org/abs/1810.04805>`_, 2019.
    """
    _validate.check_int("warmup_linear_decay_schedule", "warmup_steps", warmup_steps, lo=0)
    _validate.check_int("warmup_linear_decay_schedule", "total_steps", total_steps, lo=warmup_steps)

    def schedule(count):
        count = float_step(count)
        warm = count / max(1, warmup_steps)
        decay = jnp.maximum(0.0, (total_steps - count) / max(1, total_steps - warmup_steps))
        return peak_value * jnp.where(count < warmup_steps, warm, decay)

    return schedule
