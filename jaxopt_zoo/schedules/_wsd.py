r"""Warmup-stable-decay (WSD) and inverse-square-root schedules.

``wsd_schedule`` (:math:`W, S, D` = warmup, stable and decay steps, :math:`v_0, v_p, v_e` =
``init_value``, ``peak_value``, ``end_value``):

.. math::

   s(t) = \begin{cases}
     v_0 + (v_p - v_0)\, w(t / W) & t < W \\
     v_p & W \le t < W + S \\
     v_e + (v_p - v_e)\, d\big((t - W - S) / D\big) & W + S \le t < W + S + D \\
     v_e & t \ge W + S + D
   \end{cases}

with the warmup shape :math:`w(p)` = :math:`p` ('linear'), :math:`(1 - \cos \pi p) / 2`
('cosine') or :math:`1 - \sqrt{1 - p}` ('1-sqrt'), and the decay shape :math:`d(p)` =
:math:`1 - p` ('linear'), :math:`(1 + \cos \pi p) / 2` ('cosine'), :math:`1 - \sqrt{p}`
('1-sqrt', Hägele et al.'s cooldown) or :math:`1 - p^2` ('1-square'). With ``init_value =
end_value = r * peak_value`` and a decay type other than '1-square' it equals Hugging Face's
``get_wsd_schedule(..., min_lr_ratio=r)`` (tested).

``inverse_sqrt_schedule`` (:math:`W` = ``warmup_steps``, :math:`\tau` = ``timescale``):

.. math::

   s(t) = \begin{cases} v_p\, t / \max(1, W) & t < W \\
                        v_p / \sqrt{(t + \tau - W) / \tau} & t \ge W \end{cases}

the Transformer's schedule (Vaswani et al.) in the form of big_vision and Hugging Face's
``get_inverse_sqrt_schedule`` (tested equal): :math:`v_p` at the end of the warmup, then
:math:`\propto 1/\sqrt{t}`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .. import _validate
from .._base import Schedule
from ._simple import float_step

_WARMUP_TYPES = ("linear", "cosine", "1-sqrt")
_DECAY_TYPES = ("linear", "cosine", "1-sqrt", "1-square")


def _warmup_shape(kind: str, p):
    if kind == "linear":
        return p
    if kind == "cosine":
        return 0.5 * (1.0 - jnp.cos(jnp.pi * p))
    return 1.0 - jnp.sqrt(1.0 - p)


def _decay_shape(kind: str, p):
    if kind == "linear":
        return 1.0 - p
    if kind == "cosine":
        return 0.5 * (1.0 + jnp.cos(jnp.pi * p))
    if kind == "1-sqrt":
        return 1.0 - jnp.sqrt(p)
    return 1.0 - p * p


def wsd_schedule(
    peak_value: Any,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    init_value: Any = 0.0,
    end_value: Any = 0.0,
    warmup_type: str = "linear",
    decay_type: str = "linear",
) -> Schedule:
    r"""Warmup-stable-decay: warmup to ``peak_value``, hold it, decay to ``end_value`` (see module docstring).

    Args:
      peak_value: the value held during the stable phase.
      warmup_steps: :math:`W`, the length of the warmup, an integer >= 0.
      stable_steps: :math:`S`, the length of the stable phase, an integer >= 0.
      decay_steps: :math:`D`, the length of the decay, an integer >= 1.
      init_value: the value at step 0 (when ``warmup_steps > 0``).
      end_value: the value at step :math:`W + S + D` and after.
      warmup_type: 'linear', 'cosine' or '1-sqrt'.
      decay_type: 'linear', 'cosine', '1-sqrt' or '1-square'.

    Returns:
      A schedule.

    Raises:
      ValueError: for a negative or non-integer phase length, ``decay_steps`` < 1 or an unknown type.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.wsd_schedule(1.0, warmup_steps=2, stable_steps=2, decay_steps=4, decay_type="1-sqrt")
      >>> print([round(float(s(t)), 4) for t in range(9)])
      [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.2929, 0.134, 0.0]

    References:
      Hu et al., `MiniCPM: Unveiling the Potential of Small Language Models with Scalable
      Training Strategies <https://arxiv.org/abs/2404.06395>`_, 2024.

      Hägele et al., `Scaling Laws and Compute-Optimal Training Beyond Fixed Training
      Durations <https://arxiv.org/abs/2405.18392>`_, 2024 (the '1-sqrt' cooldown).
    """
    fn = "wsd_schedule"
    _validate.check_int(fn, "warmup_steps", warmup_steps, lo=0)
    _validate.check_int(fn, "stable_steps", stable_steps, lo=0)
    _validate.check_int(fn, "decay_steps", decay_steps, lo=1)
    _validate.check_choice(fn, "warmup_type", warmup_type, _WARMUP_TYPES)
    _validate.check_choice(fn, "decay_type", decay_type, _DECAY_TYPES)
    warmup_steps, stable_steps, decay_steps = int(warmup_steps), int(stable_steps), int(decay_steps)
    decay_begin = warmup_steps + stable_steps
    decay_end = decay_begin + decay_steps

    def schedule(count):
        t = float_step(count)
        p_warm = jnp.clip(t / max(1, warmup_steps), 0.0, 1.0)
        p_decay = jnp.clip((t - decay_begin) / max(1, decay_steps), 0.0, 1.0)
        warm = init_value + (peak_value - init_value) * _warmup_shape(warmup_type, p_warm)
        decay = end_value + (peak_value - end_value) * _decay_shape(decay_type, p_decay)
        return jnp.where(t < warmup_steps, warm,
                         jnp.where(t < decay_begin, peak_value, jnp.where(t < decay_end, decay, end_value)))

    return schedule


def inverse_sqrt_schedule(peak_value: Any, warmup_steps: int, timescale: int | None = None) -> Schedule:
    r"""Linear warmup from 0, then ``peak_value / sqrt((t + timescale - warmup_steps) / timescale)``.

    Args:
      peak_value: the value at the end of the warmup.
      warmup_steps: :math:`W`, an integer >= 0.
      timescale: :math:`\tau`, an integer >= 1; default ``warmup_steps`` (10,000 when that
        is 0), as Hugging Face's.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``warmup_steps`` < 0 or ``timescale`` < 1.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.inverse_sqrt_schedule(1.0, warmup_steps=4)
      >>> print([round(float(s(t)), 4) for t in (0, 2, 4, 16, 64)])
      [0.0, 0.5, 1.0, 0.5, 0.25]

    References:
      Vaswani et al., `Attention Is All You Need <https://arxiv.org/abs/1706.03762>`_, 2017.
    """
    fn = "inverse_sqrt_schedule"
    _validate.check_int(fn, "warmup_steps", warmup_steps, lo=0)
    warmup_steps = int(warmup_steps)
    if timescale is None:
        timescale = warmup_steps or 10_000
    _validate.check_int(fn, "timescale", timescale, lo=1)
    timescale = int(timescale)

    def schedule(count):
        t = float_step(count)
        warm = t / max(1, warmup_steps)
        decay = 1.0 / jnp.sqrt(jnp.maximum(t + (timescale - warmup_steps), 1.0) / timescale)
        return peak_value * jnp.where(t < warmup_steps, warm, decay)

    return schedule
