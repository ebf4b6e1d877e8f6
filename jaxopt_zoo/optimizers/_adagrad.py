r"""AdaGrad: per-coordinate step sizes from the sum of all past squared gradients.

.. math::

   s_k = s_{k-1} + g_k^2, \qquad p_k = p_{k-1} - \eta_k\, g_k / \sqrt{s_k + \epsilon}

with :math:`s_0` = ``initial_accumulator_value`` (optax's placement of eps: inside the root,
and a zero accumulator gives a zero step). Step sizes only shrink, which suits sparse
features and convex problems but stalls long non-convex runs (see RMSprop).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._alias import adaptive_alias


class ScaleByRssState(NamedTuple):
    """State of ``scale_by_rss``: the running sum of squared gradients."""

    sum_of_squares: Any


def scale_by_rss(initial_accumulator_value: Any = 0.1, eps: Any = 1e-7) -> GradientTransformation:
    r"""Divide updates by the root of the sum of squares: ``u <- g / \sqrt{s + eps}``.

    Args:
      initial_accumulator_value: the starting sum, >= 0.
      eps: added inside the root, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByRssState``.

    Raises:
      ValueError: if a concrete argument is negative.

    References:
      Duchi, Hazan & Singer, `Adaptive Subgradient Methods for Online Learning and
      Stochastic Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.
    """
    _validate.check_nonnegative("scale_by_rss", "initial_accumulator_value", initial_accumulator_value)
    _validate.check_nonnegative("scale_by_rss", "eps", eps)

    def init_fn(params):
        return ScaleByRssState(sum_of_squares=_numerics.full_like(params, initial_accumulator_value))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        sums = tree_map(lambda g, s: _numerics.abs_sq(g) + s, updates, state.sum_of_squares,
                        where="scale_by_rss", names=("updates", "state.sum_of_squares"))
        inv_root = jax.tree.map(lambda s: jnp.where(s > 0, jax.lax.rsqrt(s + eps), 0.0), sums)
        updates = jax.tree.map(lambda r, g: r * g, inv_root, updates)
        return updates, ScaleByRssState(sum_of_squares=sums)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: Any = 0.1, eps: Any = 1e-7
) -> GradientTransformation:
    r"""AdaGrad: ``p <- p - lr * g / \sqrt{s + eps}`` with ``s`` the sum of past ``g^2``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      initial_accumulator_value: the starting sum of squares, >= 0.
      eps: added inside the root, >= 0.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adagrad(0.1)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.904654, -1.901227]

    References:
      Duchi, Hazan & Singer, `Adaptive Subgradient Methods for Online Learning and
      Stochastic Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.
    """
    _validate.check_learning_rate("adagrad", learning_rate)
    _validate.check_nonnegative("adagrad", "initial_accumulator_value", initial_accumulator_value)
    _validate.check_nonnegative("adagrad", "eps", eps)
    return adaptive_alias(scale_by_rss(initial_accumulator_value, eps), learning_rate)
