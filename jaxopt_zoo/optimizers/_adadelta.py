r"""AdaDelta: step sizes from the ratio of past update and gradient magnitudes.

.. math::

   E[g^2]_k = \rho E[g^2]_{k-1} + (1-\rho) g_k^2, \qquad
   \Delta_k = \frac{\sqrt{E[\Delta^2]_{k-1} + \epsilon}}{\sqrt{E[g^2]_k + \epsilon}}\, g_k,

   E[\Delta^2]_k = \rho E[\Delta^2]_{k-1} + (1-\rho) \Delta_k^2, \qquad
   p_k = p_{k-1} - \eta_k (\Delta_k + \lambda p_{k-1}).

Zeiler's method needs no learning rate: ``learning_rate=1.0`` (our default, and
PyTorch's) is the paper's algorithm. optax's ``adadelta`` defaults to ``None``, which adds
the update *without* a sign flip and so moves uphill; ours matches
``optax.adadelta(learning_rate=...)`` for every given learning rate.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._weight_decay import add_decayed_weights


class ScaleByAdaDeltaState(NamedTuple):
    """State of ``scale_by_adadelta``: running averages of squared gradients and updates."""

    e_g: Any
    e_x: Any


def scale_by_adadelta(rho: Any = 0.9, eps: Any = 1e-6) -> GradientTransformation:
    r"""AdaDelta's rescaling: ``u <- \sqrt{E[\Delta^2] + eps} / \sqrt{E[g^2] + eps} * g``.

    Args:
      rho: decay of both running averages, in [0, 1).
      eps: added inside both roots, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdaDeltaState``.

    Raises:
      ValueError: if a concrete ``rho`` is outside [0, 1) or ``eps`` < 0.

    References:
      Zeiler, `ADADELTA: An Adaptive Learning Rate Method
      <https://arxiv.org/abs/1212.5701>`_, 2012.
    """
    _validate.check_decay("scale_by_adadelta", "rho", rho)
    _validate.check_nonnegative("scale_by_adadelta", "eps", eps)

    def init_fn(params):
        return ScaleByAdaDeltaState(e_g=_numerics.zeros_like(params), e_x=_numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        e_g = _numerics.update_moment(updates, state.e_g, rho, 2, where="scale_by_adadelta")
        updates = tree_map(
            lambda g, eg, ex: (jnp.sqrt(ex + eps) / jnp.sqrt(eg + eps)) * g,
            updates, e_g, state.e_x, where="scale_by_adadelta",
            names=("updates", "state.e_g", "state.e_x"),
        )
        e_x = _numerics.update_moment(updates, state.e_x, rho, 2, where="scale_by_adadelta")
        return updates, ScaleByAdaDeltaState(_numerics.keep_dtype(e_g, state.e_g), _numerics.keep_dtype(e_x, state.e_x))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def adadelta(
    learning_rate: ScalarOrSchedule = 1.0,
    rho: Any = 0.9,
    eps: Any = 1e-6,
    weight_decay: Any = 0.0,
    weight_decay_mask: Any = None,
) -> GradientTransformation:
    r"""AdaDelta (see module docstring); the default ``learning_rate=1.0`` is the paper's.

    Args:
      learning_rate: a float >= 0 or a schedule (default 1.0, unlike optax's ``None``).
      rho: decay of the running averages, in [0, 1).
      eps: added inside the roots, >= 0.
      weight_decay: L2 penalty added to the gradient before the rescaling, >= 0.
      weight_decay_mask: where to apply it, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate, weight decay or eps, or rho outside [0, 1).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adadelta()
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.996838, -1.996838]

    References:
      Zeiler, `ADADELTA: An Adaptive Learning Rate Method
      <https://arxiv.org/abs/1212.5701>`_, 2012.
    """
    _validate.check_learning_rate("adadelta", learning_rate)
    _validate.check_nonnegative("adadelta", "weight_decay", weight_decay)
    _validate.check_decay("adadelta", "rho", rho)
    _validate.check_nonnegative("adadelta", "eps", eps)
    return chain(
        add_decayed_weights(weight_decay, weight_decay_mask),
        scale_by_adadelta(rho, eps),
        scale_by_learning_rate(learning_rate),
    )
