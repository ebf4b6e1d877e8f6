r"""Lion: the sign of an interpolated momentum, found by symbolic program search.

.. math::

   u_t = \operatorname{sign}\big(\beta_1 m_{t-1} + (1-\beta_1) g_t\big), \qquad
   m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t, \qquad
   p_t = p_{t-1} - \eta\,(u_t + \lambda p_{t-1}).

Every coordinate moves by exactly the learning rate, so Lion wants a learning rate 3-10x
smaller than AdamW's and a proportionally larger weight decay; it keeps one moment, not two.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._alias import adaptive_alias


class ScaleByLionState(NamedTuple):
    """State of ``scale_by_lion``."""

    count: jax.Array
    mu: Any


def scale_by_lion(
    b1: Any = 0.9, b2: Any = 0.99, mu_dtype: Any = None, *, mode: str = "hard", smooth_beta: Any = 1.0
) -> GradientTransformation:
    r"""Lion's direction ``sign(b1 * m + (1 - b1) * g)``, then ``m <- b2 * m + (1 - b2) * g``.

    With ``x = b1 * m + (1 - b1) * g``, ``mode`` chooses the sign variant (optax's):
    ``'hard'`` is ``sign(x)``, ``'smooth'`` is ``tanh(smooth_beta * x)``, ``'refined'`` is
    ``x`` where ``|x| < 1`` and ``sign(x)`` elsewhere.

    Args:
      b1: interpolation for the update direction, in [0, 1).
      b2: decay of the momentum, in [0, 1).
      mu_dtype: dtype of the momentum (``None``: that of the params).
      mode: ``'hard'``, ``'smooth'`` or ``'refined'``.
      smooth_beta: the tanh's slope for ``mode='smooth'``, > 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByLionState``.

    Raises:
      ValueError: for a decay outside [0, 1), an unknown ``mode`` or ``smooth_beta <= 0``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_lion(mode="smooth", smooth_beta=2.0)
      >>> g = jnp.array([0.1, -5.0])
      >>> updates, _ = tx.update(g, tx.init(g))
      >>> print([round(float(u), 4) for u in updates])
      [0.02, -0.7616]

    References:
      Chen et al., `Symbolic Discovery of Optimization Algorithms
      <https://arxiv.org/abs/2302.06675>`_, 2023.
    """
    _validate.check_decay("scale_by_lion", "b1", b1)
    _validate.check_decay("scale_by_lion", "b2", b2)
    _validate.check_choice("scale_by_lion", "mode", mode, ("hard", "smooth", "refined"))
    _validate.check_positive("scale_by_lion", "smooth_beta", smooth_beta)
    sign = {
        "hard": jnp.sign,
        "smooth": lambda x: jnp.tanh(smooth_beta * x),
        "refined": lambda x: jnp.where(jnp.abs(x) < 1.0, x, jnp.sign(x)),
    }[mode]
    mu_dtype = _numerics.canonical_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByLionState(_numerics.zero_count(), _numerics.zeros_like(params, mu_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        direction = tree_map(lambda g, m: sign((1.0 - b1) * g + b1 * m), updates, state.mu,
                             where="scale_by_lion", names=("updates", "state.mu"))
        mu = _numerics.update_moment(updates, state.mu, b2, 1, where="scale_by_lion")
        return direction, ScaleByLionState(_numerics.safe_increment(state.count), _numerics.keep_dtype(mu, state.mu))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def lion(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.99,
    mu_dtype: Any = None,
    weight_decay: Any = 1e-3,
    mask: Any = None,
) -> GradientTransformation:
    r"""Lion (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, mu_dtype: as in ``scale_by_lion``.
      weight_decay: decoupled decay, >= 0.
      mask: where to apply the decay.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or decay, or a beta outside [0, 1).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.lion(1e-4, weight_decay=1e-2)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999899, -1.999898]

    References:
      Chen et al., `Symbolic Discovery of Optimization Algorithms
      <https://arxiv.org/abs/2302.06675>`_, 2023.
    """
    _validate.check_learning_rate("lion", learning_rate)
    _validate.check_nonnegative("lion", "weight_decay", weight_decay)
    _validate.check_decay("lion", "b1", b1)
    _validate.check_decay("lion", "b2", b2)
    return adaptive_alias(scale_by_lion(b1, b2, mu_dtype), learning_rate, weight_decay, mask)
