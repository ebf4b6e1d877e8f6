r"""optax's warmup-constant and one-cycle schedules.

* ``warmup_constant_schedule``: linear from ``init_value`` to ``peak_value`` over
  ``warmup_steps``, then constant.
* ``cosine_onecycle_schedule`` (:math:`T` = ``transition_steps``, :math:`v_0` =
  ``peak_value / div_factor``): half-cosine from :math:`v_0` up to ``peak_value`` over
  :math:`\lfloor \text{pct\_start}\cdot T\rfloor` steps, then half-cosine down to
  :math:`v_0 / \text{final\_div\_factor}` at :math:`T`, constant after.
* ``linear_onecycle_schedule``: linear from :math:`v_0` up to ``peak_value`` at
  :math:`\lfloor \text{pct\_start}\cdot T\rfloor`, linear back down to :math:`v_0` at
  :math:`\lfloor \text{pct\_final}\cdot T\rfloor`, linear to
  :math:`v_0 / \text{final\_div\_factor}` at :math:`T`, constant after.

All three equal optax's values at every step (tested). Unlike optax, arguments whose phase
boundaries coincide (for instance ``pct_start = 1`` or ``pct_start = pct_final``) raise an
error: optax builds these schedules from a ``{step: scale}`` dict, where two phases ending at
the same step silently overwrite each other's scale and the schedule is no longer the one
described. The cosine form is Smith & Topin's one-cycle policy (PyTorch's ``OneCycleLR``
differs in its step indexing: see ``one_cycle_schedule`` for torch's values).
"""

from __future__ import annotations

from typing import Any

from .. import _validate
from .._base import Schedule
from ._join import piecewise_interpolate_schedule
from ._simple import linear_schedule

def warmup_constant_schedule(init_value: Any, peak_value: Any, warmup_steps: int) -> Schedule:
    r"""Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``, then constant.

    Args:
      init_value: the value at step 0.
      peak_value: the value from ``warmup_steps`` on.
      warmup_steps: the length of the warmup, an integer >= 0 (0: constant ``peak_value``).

    Returns:
      A schedule.

    Raises:
      ValueError: if ``warmup_steps`` is not an integer >= 0.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.warmup_constant_schedule(0.0, 1.0, warmup_steps=4)
      >>> print([round(float(s(t)), 2) for t in range(6)])
      [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]

    References:
      Goyal et al., `Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour
      <https://arxiv.org/abs/1706.02677>`_, 2017.
    """
    _validate.check_int("warmup_constant_schedule", "warmup_steps", warmup_steps, lo=0)
    return linear_schedule(init_value, peak_value, warmup_steps)


def _check_onecycle(fn: str, transition_steps: int, pct: dict, div_factor: Any, final_div_factor: Any) -> None:
    _validate.check_int(fn, "transition_steps", transition_steps, lo=1)
    for arg, value in pct.items():
        _validate.check_range(fn, arg, value, 0.0, 1.0)
    _validate.check_positive(fn, "div_factor", div_factor)
    _validate.check_positive(fn, "final_div_factor", final_div_factor)


def _distinct(fn: str, boundaries: list[tuple[str, Any, int]]) -> None:
    """Two phases may not end at the same step (optax's dict would drop one of them)."""
    for (a_arg, a_val, a_step), (b_arg, _, b_step) in zip(boundaries, boundaries[1:]):
        if a_step >= b_step:
            _validate.fail(fn, a_arg, a_val, f"ends its phase at step {a_step}, which must come before "
                           f"the end of the `{b_arg}` phase at step {b_step} (phases must not coincide)")


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: Any,
    pct_start: float = 0.3,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
) -> Schedule:
    r"""One-cycle with half-cosine phases (see module docstring), optax's values.

    Args:
      transition_steps: :math:`T`, the length of the cycle, an integer >= 1.
      peak_value: the value at step :math:`\lfloor \text{pct\_start} \cdot T \rfloor`.
      pct_start: the fraction of the cycle spent rising, in [0, 1).
      div_factor: the start value is ``peak_value / div_factor``, > 0.
      final_div_factor: the end value is ``peak_value / (div_factor * final_div_factor)``, > 0.

    Returns:
      A schedule.

    Raises:
      ValueError: for an argument out of range, or when the rising phase would end at
        ``transition_steps`` (``floor(pct_start * T) == T``).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.cosine_onecycle_schedule(100, peak_value=1.0, div_factor=10.0, final_div_factor=100.0)
      >>> print(round(float(s(0)), 4), round(float(s(30)), 4), round(float(s(100)), 4))
      0.1 1.0 0.001

    References:
      Smith & Topin, `Super-Convergence: Very Fast Training of Neural Networks Using Large
      Learning Rates <https://arxiv.org/abs/1708.07120>`_, 2018.
    """
    fn = "cosine_onecycle_schedule"
    _check_onecycle(fn, transition_steps, {"pct_start": pct_start}, div_factor, final_div_factor)
    peak_step = int(pct_start * transition_steps)
    _distinct(fn, [("pct_start", pct_start, peak_step), ("transition_steps", transition_steps, int(transition_steps))])
    return piecewise_interpolate_schedule(
        "cosine", peak_value / div_factor,
        {peak_step: div_factor, int(transition_steps): 1.0 / (div_factor * final_div_factor)},
    )


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: Any,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
) -> Schedule:
    r"""One-cycle with three linear phases (see module docstring), optax's values.

    Args:
      transition_steps: :math:`T`, the length of the cycle, an integer >= 1.
      peak_value: the value at step :math:`\lfloor \text{pct\_start} \cdot T \rfloor`.
      pct_start: the fraction of the cycle spent rising, in [0, 1].
      pct_final: the fraction at which the value is back at the start value, in [0, 1],
        after ``pct_start``.
      div_factor: the start value is ``peak_value / div_factor``, > 0.
      final_div_factor: the end value is ``peak_value / (div_factor * final_div_factor)``, > 0.

    Returns:
      A schedule.

    Raises:
      ValueError: for an argument out of range, or phases that end at the same step
        (``floor(pct_start T) < floor(pct_final T) < T`` is required).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.linear_onecycle_schedule(100, peak_value=1.0, div_factor=10.0, final_div_factor=100.0)
      >>> print([round(float(s(t)), 4) for t in (0, 15, 30, 85, 100)])
      [0.1, 0.55, 1.0, 0.1, 0.001]

    References:
      Smith & Topin, `Super-Convergence: Very Fast Training of Neural Networks Using Large
      Learning Rates <https://arxiv.org/abs/1708.07120>`_, 2018.
    """
    fn = "linear_onecycle_schedule"
    _check_onecycle(fn, transition_steps, {"pct_start": pct_start, "pct_final": pct_final}, div_factor, final_div_factor)
    start, final = int(pct_start * transition_steps), int(pct_final * transition_steps)
    _distinct(fn, [("pct_start", pct_start, start), ("pct_final", pct_final, final),
                   ("transition_steps", transition_steps, int(transition_steps))])
    return piecewise_interpolate_schedule(
        "linear", peak_value / div_factor,
        {start: div_factor, final: 1.0 / div_factor, int(transition_steps): 1.0 / final_div_factor},
    )
