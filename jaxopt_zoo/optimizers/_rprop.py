r"""Rprop: per-coordinate step sizes adapted from the sign of successive gradients.

Each coordinate keeps a step size :math:`\Delta` (starting at ``learning_rate``) and the
previous gradient :math:`g^-`. With :math:`s = \operatorname{sign}(g\, g^-)`:

.. math::

   \Delta \leftarrow \operatorname{clip}\big(\Delta \cdot
      \{\eta_+ \text{ if } s>0;\ \eta_- \text{ if } s<0;\ 1\},\ \Delta_{min}, \Delta_{max}\big),

   g \leftarrow 0 \text{ where } s < 0, \qquad p \leftarrow p - \operatorname{sign}(g)\,\Delta,
   \qquad g^- \leftarrow g.

This is ``torch.optim.Rprop``. optax's ``rprop`` multiplies the step size by the factor
*after* using it, so it moves one step behind torch; this one matches torch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import tree_map, unzip


class ScaleByRpropState(NamedTuple):
    """State of ``rprop``."""

    step_sizes: Any  # per-coordinate step sizes
    prev_updates: Any  # the previous (masked) gradient


def rprop(
    learning_rate: Any = 1e-2,
    eta_minus: Any = 0.5,
    eta_plus: Any = 1.2,
    min_step_size: Any = 1e-6,
    max_step_size: Any = 50.0,
    *,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Rprop as in ``torch.optim.Rprop`` (see module docstring).

    Args:
      learning_rate: the initial step size of every coordinate, a float > 0 (torch's
        ``lr``). Rprop has no global learning rate to schedule: a schedule is refused.
      eta_minus: factor on a sign change, in (0, 1) (torch's ``etas[0]``).
      eta_plus: factor when the sign is kept, > 1 (torch's ``etas[1]``).
      min_step_size, max_step_size: the step-size bounds (torch's ``step_sizes``).
      maximize: ascend instead of descend.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByRpropState``.

    Raises:
      ValueError: for an argument outside its range.
      TypeError: if ``learning_rate`` is a schedule.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.rprop(1e-2)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.99, -1.99]

    References:
      Riedmiller & Braun, `A Direct Adaptive Method for Faster Backpropagation Learning: The
      RPROP Algorithm <https://doi.org/10.1109/ICNN.1993.298623>`_, 1993.
    """
    if callable(learning_rate):
        _validate.fail("rprop", "learning_rate", learning_rate,
                       "must be a float: it is only the initial step size of each coordinate", TypeError)
    _validate.check_positive("rprop", "learning_rate", learning_rate)
    _validate.check_range("rprop", "eta_minus", eta_minus, 0.0, 1.0, lo_open=True, hi_open=True)
    _validate.check_range("rprop", "eta_plus", eta_plus, 1.0, lo_open=True)
    _validate.check_nonnegative("rprop", "min_step_size", min_step_size)
    _validate.check_range("rprop", "max_step_size", max_step_size, _validate.concrete_float(min_step_size) or 0.0)

    def init_fn(params):
        return ScaleByRpropState(_numerics.full_like(params, learning_rate), _numerics.zeros_like(params))

    def leaf(g, step, prev):
        if not jnp.issubdtype(g.dtype, jnp.inexact):  # integer/bool leaves are not trained
            return jnp.zeros_like(g), step, prev
        g = -g if maximize else g
        sign = jnp.sign(g * prev)
        factor = jnp.where(sign > 0, eta_plus, jnp.where(sign < 0, eta_minus, 1.0)).astype(step.dtype)
        step = jnp.clip(step * factor, min_step_size, max_step_size)
        g = jnp.where(sign < 0, jnp.zeros_like(g), g)
        return -jnp.sign(g) * step, step, g

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        out = tree_map(leaf, updates, state.step_sizes, state.prev_updates, where="rprop",
                       names=("updates", "state.step_sizes", "state.prev_updates"))
        updates, steps, prev = unzip(out, 3)
        return updates, ScaleByRpropState(steps, prev)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
