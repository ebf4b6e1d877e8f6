r"""torch's multiplicative schedulers and LambdaLR, as schedules ``t -> lr``.

With base lr :math:`\eta_0` and ``e`` scheduler steps (torch's ``last_epoch``):

- LambdaLR: :math:`\eta_0\,\lambda(e)`
- MultiplicativeLR: :math:`\eta_0 \prod_{k=1}^{e} \lambda(k)` (torch never applies
  :math:`\lambda(0)`)
- StepLR: :math:`\eta_0\,\gamma^{\lfloor e / step\_size \rfloor}`
- MultiStepLR: :math:`\eta_0\,\gamma^{\#\{m \in milestones : m \le e\}}`
- ConstantLR: :math:`\eta_0 \cdot factor` while :math:`e < total\_iters`, then :math:`\eta_0`
- LinearLR: :math:`\eta_0\,(s + (f - s)\min(e, T)/T)`
- ExponentialLR: :math:`\eta_0\,\gamma^{e}`
- PolynomialLR: :math:`\eta_0\,(1 - \min(e, T)/T)^{power}`

torch computes these recursively (``lr *= ratio`` at each step); the closed forms telescope
those products and agree with torch to rounding (about ``e`` ulps).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax.numpy as jnp

from .. import _validate
from ..schedules._join import _check_increasing
from ..schedules._simple import float_step, polynomial_schedule
from ..schedules._step import multistep_decay_schedule, step_decay_schedule
from ._sched_base import Fold, OverwritingScheduler, TorchLRScheduler, call_user_fn, check_callable


class LambdaLR(OverwritingScheduler):
    r"""torch's LambdaLR: ``lr * lr_lambda(e)`` after ``e`` scheduler steps.

    Args:
      lr: the base learning rate (torch: the optimizer's lr).
      lr_lambda: a callable of the integer step. A jnp-traceable one receives an int array
        of the default int dtype (possibly traced) and is compiled into the step; one with
        Python control flow on the step (``lambda e: min(1.0, (e + 1) / 5)``, ``if e < w``)
        is called on the host with a Python ``int``, as torch calls it (``jax.pure_callback``:
        the same values under ``jit``, one host round trip per step; write it with
        ``jnp.minimum`` / ``jnp.where`` to keep it on the device).
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr``, a non-callable ``lr_lambda`` or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.LambdaLR(0.1, lambda e: 0.95 ** e)
      >>> round(float(s(2)), 6)
      0.09025
    """

    def __init__(self, lr: Any, lr_lambda: Callable, *, steps_per_epoch: int = 1):
        super().__init__("LambdaLR", lr, steps_per_epoch)
        check_callable(self._fn, "lr_lambda", lr_lambda)
        self.lr_lambda = lr_lambda

    def _value(self, e):
        return self.lr * call_user_fn(self.lr_lambda, e)


class MultiplicativeLR(TorchLRScheduler):
    r"""torch's MultiplicativeLR: ``lr * prod(lr_lambda(k) for k in 1..e)``.

    The product has no closed form for an arbitrary ``lr_lambda``: it is tabulated every 1024
    steps at the first call (up to 2^20 steps, ``lr_lambda`` evaluated there once) and each
    call multiplies at most 1024 factors after the nearest entry.

    Args:
      lr: the base learning rate.
      lr_lambda: a callable of the integer step: jnp-traceable (applied elementwise through
        ``jax.vmap``) or Python code on a Python ``int`` (run on the host, see ``LambdaLR``).
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr``, a non-callable ``lr_lambda`` or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.MultiplicativeLR(0.1, lambda e: 0.9)
      >>> round(float(s(2)), 6)
      0.081
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, lr_lambda: Callable, *, steps_per_epoch: int = 1):
        super().__init__("MultiplicativeLR", lr, steps_per_epoch)
        check_callable(self._fn, "lr_lambda", lr_lambda)
        self.lr_lambda = lr_lambda
        self._fold = Fold(self._step_map, 1.0)

    def _value(self, e):
        return self.lr * self._factor(e)

    def _step_ratio(self, ks):
        return call_user_fn(self.lr_lambda, ks)

    def _step_map(self, ks):
        return self._step_ratio(ks), jnp.zeros(ks.shape)

    def _factor(self, j):
        return self._fold(j)

    def _restart_value(self, prev):
        # torch has no closed form here: _update_lr(0) multiplies the current lr by lambda(0).
        return prev() * call_user_fn(self.lr_lambda, 0)


class StepLR(TorchLRScheduler):
    r"""torch's StepLR: ``lr * gamma ** (e // step_size)``.

    Reuses ``zoo.step_decay_schedule``.

    Args:
      lr: the base learning rate.
      step_size: the period, an integer >= 1.
      gamma: the factor, >= 0.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr`` or ``gamma``, ``step_size < 1`` or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.StepLR(0.1, step_size=30, gamma=0.1, steps_per_epoch=100)  # per epoch
      >>> round(float(s(3000)), 6)
      0.01
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, step_size: int, gamma: Any = 0.1, *, steps_per_epoch: int = 1):
        super().__init__("StepLR", lr, steps_per_epoch)
        _validate.check_int(self._fn, "step_size", step_size, lo=1)
        _validate.check_nonnegative(self._fn, "gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        self._closed = step_decay_schedule(lr, step_size, gamma)

    def _value(self, e):
        return self._closed(e)

    def _step_map(self, ks):
        return jnp.where(ks % self.step_size == 0, self.gamma, 1.0), jnp.zeros(ks.shape)

    def _factor(self, j):
        return jnp.power(self.gamma, jnp.floor_divide(j, self.step_size))


class MultiStepLR(TorchLRScheduler):
    r"""torch's MultiStepLR: ``lr * gamma ** (number of milestones <= e)``.

    ``milestones`` is a multiset, as torch's ``Counter``: a milestone given twice decays
    twice. Reuses ``zoo.multistep_decay_schedule``.

    Args:
      lr: the base learning rate.
      milestones: scheduler steps, integers >= 0 in non-decreasing order.
      gamma: the factor, >= 0.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr``, ``gamma`` or milestone, milestones out of order
        (torch would sort them silently) or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.MultiStepLR(0.1, milestones=[30, 80], gamma=0.1)
      >>> print([round(float(s(t)), 6) for t in (0, 30, 80)])
      [0.1, 0.01, 0.001]
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, milestones: Sequence[int], gamma: Any = 0.1, *, steps_per_epoch: int = 1):
        super().__init__("MultiStepLR", lr, steps_per_epoch)
        milestones = list(milestones)
        for m in milestones:
            _validate.check_int(self._fn, "milestones", m, lo=0)
        _check_increasing(self._fn, "milestones", milestones)
        _validate.check_nonnegative(self._fn, "gamma", gamma)
        self.milestones, self.gamma = milestones, gamma
        self._closed = multistep_decay_schedule(lr, milestones, gamma)

    def _value(self, e):
        return self._closed(e)

    def _count(self, ks, cmp):
        return sum((cmp(ks, m)).astype(jnp.int32) for m in self.milestones if m >= 1) if self.milestones else 0

    def _init_map(self):
        return self.gamma ** self.milestones.count(0), 0.0

    def _step_map(self, ks):
        return jnp.power(self.gamma, self._count(ks, jnp.equal)) * jnp.ones(ks.shape), jnp.zeros(ks.shape)

    def _factor(self, j):
        return jnp.power(self.gamma, self._count(jnp.asarray(j), jnp.greater_equal))


class ConstantLR(TorchLRScheduler):
    r"""torch's ConstantLR: ``lr * factor`` for the first ``total_iters`` steps, then ``lr``.

    Args:
      lr: the base learning rate.
      factor: in (0, 1] (torch also takes 0, then divides by it at ``total_iters``).
      total_iters: the number of steps at ``lr * factor``, an integer >= 1.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr``, ``factor`` outside (0, 1], ``total_iters < 1`` or
        ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.ConstantLR(0.1, factor=0.5, total_iters=4)
      >>> print([round(float(s(t)), 6) for t in (0, 3, 4)])
      [0.05, 0.05, 0.1]
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, factor: Any = 1.0 / 3, total_iters: int = 5, *, steps_per_epoch: int = 1):
        super().__init__("ConstantLR", lr, steps_per_epoch)
        _validate.check_range(self._fn, "factor", factor, 0.0, 1.0, lo_open=True)
        _validate.check_int(self._fn, "total_iters", total_iters, lo=1)
        self.factor, self.total_iters = factor, total_iters

    def _value(self, e):
        return self.lr * self.factor * self._factor(e)

    def _init_map(self):
        return self.factor, 0.0

    def _step_map(self, ks):
        return jnp.where(ks == self.total_iters, 1.0 / self.factor, 1.0), jnp.zeros(ks.shape)

    def _factor(self, j):
        return jnp.where(jnp.asarray(j) >= self.total_iters, 1.0 / self.factor, 1.0)


class LinearLR(TorchLRScheduler):
    r"""torch's LinearLR: the factor moves linearly from ``start_factor`` to ``end_factor``.

    ``lr * (s + (f - s) * min(e, T) / T)`` with ``s = start_factor``, ``f = end_factor``,
    ``T = total_iters``.

    Args:
      lr: the base learning rate.
      start_factor: in (0, 1].
      end_factor: in [0, 1].
      total_iters: the length of the ramp, an integer >= 1.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr``, a factor out of range, ``total_iters < 1`` or
        ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> warmup = L.LinearLR(0.1, start_factor=0.01, total_iters=10)
      >>> print([round(float(warmup(t)), 6) for t in (0, 5, 10)])
      [0.001, 0.0505, 0.1]
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, start_factor: Any = 1.0 / 3, end_factor: Any = 1.0, total_iters: int = 5, *,
                 steps_per_epoch: int = 1):
        super().__init__("LinearLR", lr, steps_per_epoch)
        _validate.check_range(self._fn, "start_factor", start_factor, 0.0, 1.0, lo_open=True)
        _validate.check_range(self._fn, "end_factor", end_factor, 0.0, 1.0)
        _validate.check_int(self._fn, "total_iters", total_iters, lo=1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters

    def _value(self, e):
        return self.lr * self.start_factor * self._factor(e)

    def _init_map(self):
        return self.start_factor, 0.0

    def _step_map(self, ks):
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        ratio = 1.0 + (f - s) / (n * s + (float_step(ks) - 1) * (f - s))
        return jnp.where(ks > n, 1.0, ratio), jnp.zeros(ks.shape)

    def _factor(self, j):
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        return (s + (f - s) * jnp.minimum(float_step(j), n) / n) / s


class ExponentialLR(TorchLRScheduler):
    r"""torch's ExponentialLR: ``lr * gamma ** e``.

    Args:
      lr: the base learning rate.
      gamma: the factor per step, >= 0.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr`` or ``gamma``, or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.ExponentialLR(0.1, gamma=0.9)
      >>> print([round(float(s(t)), 6) for t in (0, 1, 2, 10)])
      [0.1, 0.09, 0.081, 0.034868]
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, gamma: Any, *, steps_per_epoch: int = 1):
        super().__init__("ExponentialLR", lr, steps_per_epoch)
        _validate.check_nonnegative(self._fn, "gamma", gamma)
        self.gamma = gamma

    def _value(self, e):
        return self.lr * self._factor(e)

    def _step_map(self, ks):
        return self.gamma * jnp.ones(ks.shape), jnp.zeros(ks.shape)

    def _factor(self, j):
        return jnp.power(self.gamma, jnp.asarray(j))


class PolynomialLR(TorchLRScheduler):
    r"""torch's PolynomialLR: ``lr * (1 - min(e, T) / T) ** power``.

    Reuses ``zoo.polynomial_schedule`` (to 0 over ``total_iters`` steps).

    Args:
      lr: the base learning rate.
      total_iters: the length of the decay, an integer >= 1.
      power: the exponent, >= 0.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr`` or ``power``, ``total_iters < 1`` or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.PolynomialLR(0.1, total_iters=100, power=2.0)
      >>> print([round(float(s(t)), 6) for t in (0, 50, 100)])
      [0.1, 0.025, 0.0]
    """

    _chain_kind = "mul"

    def __init__(self, lr: Any, total_iters: int = 5, power: Any = 1.0, *, steps_per_epoch: int = 1):
        super().__init__("PolynomialLR", lr, steps_per_epoch)
        _validate.check_int(self._fn, "total_iters", total_iters, lo=1)
        _validate.check_nonnegative(self._fn, "power", power)
        self.total_iters, self.power = total_iters, power
        self._closed = polynomial_schedule(1.0, 0.0, power, total_iters)

    def _value(self, e):
        return self.lr * self._factor(e)

    def _step_map(self, ks):
        n, k = self.total_iters, float_step(ks)
        safe = jnp.where(ks > n, 0.0, k)
        ratio = ((1.0 - safe / n) / (1.0 - (safe - 1) / n)) ** self.power
        return jnp.where(ks > n, 1.0, ratio), jnp.zeros(ks.shape)

    def _factor(self, j):
        if _validate.concrete_float(self.power) == 0.0:  # torch: 0.0 ** 0 == 1, the lr never moves
            return jnp.ones(jnp.shape(j))
        return self._closed(j)
