r"""torch's cosine schedulers: CosineAnnealingLR (with its values past ``T_max``) and
CosineAnnealingWarmRestarts.

CosineAnnealingLR after ``e`` scheduler steps, base lr :math:`\eta_0`:

.. math::

   \eta_e = \eta_{min} + (\eta_0 - \eta_{min})\,\tfrac12\big(1 + \cos(\pi e / T_{max})\big)

for every ``e``: past ``T_max`` torch does not hold :math:`\eta_{min}`. Its recursive
``get_lr`` (``\eta_{min} + r_e(\eta_{e-1} - \eta_{min})`` with
:math:`r_e = (1 + \cos(\pi e/T))/(1 + \cos(\pi (e-1)/T))`, and an additive step
:math:`\eta_{e-1} + (\eta_0 - \eta_{min})(1 - \cos(\pi/T))/2` at
``(e - 1 - T) % (2T) == 0``) climbs back to :math:`\eta_0` at ``2 T_max`` and keeps
oscillating with period ``2 T_max``; alone it equals the closed form above to rounding.
Inside ``ChainedScheduler`` the recursion acts on the chained lr and is reproduced step by
step.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .. import _validate
from ..schedules._cosine import cosine_interpolate, cosine_warm_restarts_schedule
from ..schedules._simple import float_step
from ._sched_base import OverwritingScheduler, TorchLRScheduler


class CosineAnnealingLR(TorchLRScheduler):
    r"""torch's CosineAnnealingLR, including its oscillation past ``T_max``.

    ``eta_min + (lr - eta_min) * (1 + cos(pi * e / T_max)) / 2`` after ``e`` scheduler steps,
    for every ``e`` (period ``2 T_max``, as torch's recursion; optax's cosine decay holds the
    end value instead).

    Args:
      lr: the base learning rate.
      T_max: the half period, an integer >= 1.
      eta_min: the lowest value, >= 0.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr`` or ``eta_min``, ``T_max < 1`` or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.CosineAnnealingLR(0.1, T_max=100, eta_min=1e-4)
      >>> print([round(float(s(t)), 6) for t in (0, 50, 100)])
      [0.1, 0.05005, 0.0001]

    References:
      Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.
    """

    _chain_kind = "affine"

    def __init__(self, lr: Any, T_max: int, eta_min: Any = 0.0, *, steps_per_epoch: int = 1):  # noqa: N803
        super().__init__("CosineAnnealingLR", lr, steps_per_epoch)
        _validate.check_int(self._fn, "T_max", T_max, lo=1)
        _validate.check_nonnegative(self._fn, "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min

    def _value(self, e):
        return cosine_interpolate(self.lr, self.eta_min, float_step(e) / self.T_max)

    def _step_map(self, ks):
        n, eta = self.T_max, self.eta_min
        k = float_step(ks)
        special = (ks - 1 - n) % (2 * n) == 0
        below = 1 + jnp.cos(jnp.pi * (k - 1) / n)
        ratio = (1 + jnp.cos(jnp.pi * k / n)) / jnp.where(special, 1.0, below)
        bump = (self.lr - eta) * (1 - jnp.cos(jnp.pi / n)) / 2
        return jnp.where(special, 1.0, ratio), jnp.where(special, bump, eta * (1 - ratio))

    def _restart_value(self, prev):
        return self._value(0)

    def _segment_value(self, v, j):
        return self._value(j)


class CosineAnnealingWarmRestarts(OverwritingScheduler):
    r"""torch's CosineAnnealingWarmRestarts: cosine cycles of length ``T_0 * T_mult**i``.

    Reuses ``zoo.cosine_warm_restarts_schedule`` (exact integer cycle starts).

    Args:
      lr: the base learning rate (the value at each restart).
      T_0: the length of the first cycle, an integer >= 1.
      T_mult: the growth of the cycle length, an integer >= 1.
      eta_min: the lowest value, >= 0.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr`` or ``eta_min``, ``T_0 < 1``, ``T_mult < 1`` or
        ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2)
      >>> print([round(float(s(t)), 6) for t in (0, 5, 10, 20, 30)])
      [0.1, 0.05, 0.1, 0.05, 0.1]

    References:
      Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.
    """

    def __init__(self, lr: Any, T_0: int, T_mult: int = 1, eta_min: Any = 0.0, *,  # noqa: N803
                 steps_per_epoch: int = 1):
        super().__init__("CosineAnnealingWarmRestarts", lr, steps_per_epoch)
        _validate.check_int(self._fn, "T_0", T_0, lo=1)
        _validate.check_int(self._fn, "T_mult", T_mult, lo=1)
        _validate.check_nonnegative(self._fn, "eta_min", eta_min)
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        self._closed = cosine_warm_restarts_schedule(lr, T_0, T_mult, eta_min)

    def _value(self, e):
        return self._closed(e)
