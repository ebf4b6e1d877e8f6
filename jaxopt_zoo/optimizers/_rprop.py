r"""Rprop: per-coordinate step sizes adapted from the sign of successive gradients.

Each coordinate keeps a step size :math:`\Delta` (starting at ``learning_rate``) and the
previous gradient :math:`g^-`. With :math:`s = \operatorname{sign}(g\, g^-)`:

.. math::

   \Delta \leftarrow \operatorname{clip}\big(\Delta \cdot
      \{\eta_+ \text{ if } s>0;\ \eta_- \text{ if } s<0;\ 1\},\ \Delta_{min}, \Delta_{max}\big),

   g \leftarrow 0 \text{ where } s < 0, \qquad p \leftarrow p - \operatorname{sign}(g)\,\Delta,
   \qquad g^- \leftarrow g.

This is ``torch.optim.Rprop``: ``scale_by_rprop`` (optax's signature and state) returns
:math:`\operatorname{sign}(g)\,\Delta` and ``rprop`` is ``chain(scale_by_rprop(...),
scale(-1))``, as in optax. optax's ``scale_by_rprop`` returns the *previous* step's
:math:`\operatorname{sign}(g^-)\,\Delta^-` (zero where the sign flips), so it moves one step
behind torch and the paper; this one matches torch (its lag is pinned by a test).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, chain
from .._tree import tree_map, unzip
from ..transforms._scaling import scale


class ScaleByRpropState(NamedTuple):
    """State of ``scale_by_rprop`` (optax's fields)."""

    step_sizes: Any  # per-coordinate step sizes
    prev_updates: Any  # the previous gradient, zeroed where its sign flipped


def _check(fn: str, learning_rate: Any, eta_minus: Any, eta_plus: Any, min_step_size: Any, max_step_size: Any) -> None:
    if callable(learning_rate):
        _validate.fail(fn, "learning_rate", learning_rate,
                       "must be a float: it is only the initial step size of each coordinate", TypeError)
    _validate.check_positive(fn, "learning_rate", learning_rate)
    _validate.check_range(fn, "eta_minus", eta_minus, 0.0, 1.0, lo_open=True, hi_open=True)
    _validate.check_range(fn, "eta_plus", eta_plus, 1.0, lo_open=True)
    _validate.check_nonnegative(fn, "min_step_size", min_step_size)
    _validate.check_range(fn, "max_step_size", max_step_size, _validate.concrete_float(min_step_size) or 0.0)


def scale_by_rprop(
    learning_rate: Any,
    eta_minus: Any = 0.5,
    eta_plus: Any = 1.2,
    min_step_size: Any = 1e-6,
    max_step_size: Any = 50.0,
) -> GradientTransformation:
    r"""Rprop's scaling: ``sign(g) * Delta`` with the adapted step sizes (see module docstring).

    Args:
      learning_rate: the initial step size of every coordinate, a float > 0.
      eta_minus: factor on a sign change, in (0, 1).
      eta_plus: factor when the sign is kept, > 1.
      min_step_size, max_step_size: the step-size bounds.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByRpropState``; its updates point
      uphill (follow it with ``scale(-1)``, as ``rprop`` does).

    Raises:
      ValueError: for an argument outside its range.
      TypeError: if ``learning_rate`` is a schedule.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_rprop(0.1)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, -2.0]), state)
      >>> u, state = tx.update(jnp.array([3.0, 2.0]), state)  # same sign: x1.2; flipped: x0.5, no move
      >>> print(u)
      [0.12 0.  ]

    References:
      Riedmiller & Braun, `A Direct Adaptive Method for Faster Backpropagation Learning: The
      RPROP Algorithm <https://doi.org/10.1109/ICNN.1993.298623>`_, 1993.
    """
    fn = "scale_by_rprop"
    _check(fn, learning_rate, eta_minus, eta_plus, min_step_size, max_step_size)

    def init_fn(params):
        return ScaleByRpropState(_numerics.full_like(params, learning_rate), _numerics.zeros_like(params))

    def leaf(g, step, prev):
        if not _numerics.is_trained(g):  # integer/bool leaves are not trained
            return jnp.zeros_like(g), step, prev
        sign = jnp.sign(g * prev)
        factor = jnp.where(sign > 0, eta_plus, jnp.where(sign < 0, eta_minus, 1.0)).astype(step.dtype)
        step = jnp.clip(step * factor, min_step_size, max_step_size).astype(step.dtype)
        g = jnp.where(sign < 0, jnp.zeros_like(g), g)
        return jnp.sign(g) * step, step, g.astype(prev.dtype)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        out = tree_map(leaf, updates, state.step_sizes, state.prev_updates, where=fn,
                       names=("updates", "state.step_sizes", "state.prev_updates"))
        updates, steps, prev = unzip(out, 3)
        return updates, ScaleByRpropState(steps, prev)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


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

    ``chain(scale_by_rprop(...), scale(-1.0))`` (``scale(1.0)`` with ``maximize``).

    Args:
      learning_rate: the initial step size of every coordinate, a float > 0 (torch's
        ``lr``). Rprop has no global learning rate to schedule: a schedule is refused.
      eta_minus: factor on a sign change, in (0, 1) (torch's ``etas[0]``).
      eta_plus: factor when the sign is kept, > 1 (torch's ``etas[1]``).
      min_step_size, max_step_size: the step-size bounds (torch's ``step_sizes``).
      maximize: ascend instead of descend.

    Returns:
      A ``GradientTransformation``.

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
    _check("rprop", learning_rate, eta_minus, eta_plus, min_step_size, max_step_size)
    return chain(scale_by_rprop(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size),
                 scale(1.0 if maximize else -1.0))
