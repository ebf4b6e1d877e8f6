r"""Closed-form schedules: constant, polynomial, linear, exponential and inverse-time decay.

Every schedule is a pure callable ``step -> value`` that works on a Python int and on a
traced int32 step; the first update of an optimizer uses ``schedule(0)``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .. import _validate
from .._base import Schedule


def float_step(count):
    """The step as a float of the default precision (int32 steps divide in float32 otherwise)."""
    return jnp.asarray(count, dtype=jnp.result_type(float))


def constant_schedule(value: Any) -> Schedule:
    """``s(t) = value``.

    Args:
      value: the constant.

    Returns:
      A schedule.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> float(zoo.constant_schedule(0.1)(1000))
      0.1
    """

    def schedule(count):
        del count
        return value

    return schedule


def polynomial_schedule(
    init_value: Any, end_value: Any, power: Any, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    r"""Polynomial interpolation from ``init_value`` to ``end_value``.

    .. math::

       s(t) = (v_0 - v_1)\,\Big(1 - \frac{\min(\max(t - t_b, 0), T)}{T}\Big)^{p} + v_1

    and ``end_value`` from ``transition_begin + transition_steps`` on. Unlike optax's,
    the derivative stays finite past the end for ``0 < power < 1`` (optax's is NaN there:
    it differentiates ``0**power``).

    Args:
      init_value: the value up to ``transition_begin``.
      end_value: the value from ``transition_begin + transition_steps`` on.
      power: the exponent ``p`` (1 is linear), >= 0 (optax takes a negative one and returns
        inf at the end of the transition).
      transition_steps: the length ``T`` of the transition, >= 0 (0 gives a constant
        ``init_value``, as in optax).
      transition_begin: the step ``t_b`` at which the transition starts, >= 0.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``power``, ``transition_steps`` or ``transition_begin`` is negative.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.polynomial_schedule(1.0, 0.0, power=2, transition_steps=10)
      >>> float(s(5))
      0.25
    """
    _validate.check_nonnegative("polynomial_schedule", "power", power)
    _validate.check_int("polynomial_schedule", "transition_steps", transition_steps, lo=0)
    _validate.check_int("polynomial_schedule", "transition_begin", transition_begin, lo=0)
    if transition_steps == 0:
        return constant_schedule(init_value)

    def schedule(count):
        count = jnp.clip(float_step(count) - transition_begin, 0, transition_steps)
        # At the end the value is exactly end_value. Deciding that on the (exact) count,
        # not on 1 - count/T (which XLA may round below 0), keeps the value finite, and
        # keeping 0**power out of the graph keeps the derivative finite for 0 < power < 1.
        done = count >= transition_steps
        frac = jnp.where(done, 1.0, 1 - count / transition_steps)
        return jnp.where(done, end_value, (init_value - end_value) * (frac**power) + end_value)

    return schedule


def linear_schedule(init_value: Any, end_value: Any, transition_steps: int, transition_begin: int = 0) -> Schedule:
    r"""Linear interpolation: ``polynomial_schedule`` with ``power=1``.

    Args:
      init_value, end_value, transition_steps, transition_begin: as in
        ``polynomial_schedule``.

    Returns:
      A schedule.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> warmup = zoo.linear_schedule(0.0, 1e-3, transition_steps=100)
      >>> print([round(float(warmup(t)), 6) for t in (0, 50, 100, 200)])
      [0.0, 0.0005, 0.001, 0.001]
    """
    _validate.check_int("linear_schedule", "transition_steps", transition_steps, lo=0)
    _validate.check_int("linear_schedule", "transition_begin", transition_begin, lo=0)
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def exponential_decay(
    init_value: Any,
    transition_steps: int,
    decay_rate: Any,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Any = None,
) -> Schedule:
    r"""Exponential decay: ``s(t) = v_0 \cdot r^{(t - t_b)/T}`` after ``transition_begin``.

    With ``staircase`` the exponent is rounded down (a step every ``T`` steps, like
    PyTorch's StepLR); ``end_value`` bounds the decay (a floor when ``r < 1``, a ceiling
    when ``r > 1``).

    Args:
      init_value: the value up to ``transition_begin``.
      transition_steps: ``T``, > 0.
      decay_rate: ``r``, >= 0 (a rate of 0 gives a constant ``init_value``, as in optax).
      transition_begin: ``t_b``, >= 0.
      staircase: decay in whole steps of ``T``.
      end_value: optional bound on the value.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``transition_steps`` <= 0, ``decay_rate`` < 0 or ``transition_begin`` < 0.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.exponential_decay(0.1, transition_steps=1000, decay_rate=0.5)
      >>> round(float(s(1000)), 6)
      0.05
    """
    _validate.check_int("exponential_decay", "transition_steps", transition_steps, lo=1)
    _validate.check_int("exponential_decay", "transition_begin", transition_begin, lo=0)
    _validate.check_nonnegative("exponential_decay", "decay_rate", decay_rate)
    if _validate.concrete_float(decay_rate) == 0.0:
        return constant_schedule(init_value)
    rate = _validate.concrete_float(decay_rate)
    bound = jnp.maximum if rate is None or rate < 1.0 else jnp.minimum

    def schedule(count):
        elapsed = float_step(count) - transition_begin
        p = elapsed / transition_steps
        if staircase:
            p = jnp.floor(p)
        value = jnp.where(elapsed <= 0, init_value, init_value * jnp.power(decay_rate, p))
        return value if end_value is None else bound(value, end_value)

    return schedule


def inverse_time_decay_schedule(init_value: Any, decay_rate: Any) -> Schedule:
    r"""Inverse-time (1/t) decay: ``s(t) = v_0 / (1 + decay\_rate \cdot t)``.

    The classic Robbins–Monro step size; in PyTorch it is
    ``LambdaLR(opt, lambda t: 1 / (1 + decay_rate * t))``.

    Args:
      init_value: ``s(0)``.
      decay_rate: >= 0.

    Returns:
      A schedule.

    Raises:
      ValueError: if ``decay_rate`` is negative.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> float(zoo.inverse_time_decay_schedule(1.0, 0.5)(2))
      0.5
    """
    _validate.check_nonnegative("inverse_time_decay_schedule", "decay_rate", decay_rate)

    def schedule(count):
        return init_value / (1 + decay_rate * float_step(count))

    return schedule

