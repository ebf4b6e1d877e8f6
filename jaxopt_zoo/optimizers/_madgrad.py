r"""MADGRAD: a momentumized, dual-averaged AdaGrad with a cube-root denominator.

With :math:`\lambda_k = (\eta_k + \epsilon)\sqrt{k+1}`,

.. math::

   \nu_k = \nu_{k-1} + \lambda_k g_k^2, \qquad s_k = s_{k-1} + \lambda_k g_k, \qquad
   z_k = x_0 - \frac{s_k}{\sqrt[3]{\nu_k} + \epsilon},

   x_{k+1} = (1 - \mu)\, z_k + \mu\, x_k,

where :math:`x_0` are the starting parameters (kept in the state). Weight decay is added
to the gradient first. This is optax.contrib.madgrad's formulation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map
from ..transforms._weight_decay import add_decayed_weights


class MadgradState(NamedTuple):
    """State of ``scale_by_madgrad``."""

    count: jax.Array
    grad_sum_sq: Any  # nu_k
    s: Any  # s_k
    x0: Any  # the starting parameters


def scale_by_madgrad(learning_rate: ScalarOrSchedule, momentum: Any = 0.9, eps: Any = 1e-6) -> GradientTransformation:
    r"""MADGRAD's step as an update ``x_{k+1} - x_k`` (see module docstring).

    The learning rate is part of the algorithm (it weights the dual average), so this
    transformation takes it and outputs the final update.

    Args:
      learning_rate: a float >= 0 or a schedule.
      momentum: :math:`\mu`, in [0, 1).
      eps: stabiliser, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``MadgradState``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument, or when ``params`` is missing.

    References:
      Defazio & Jelassi, `Adaptivity without Compromise: A Momentumized, Adaptive, Dual
      Averaged Gradient Method for Stochastic Optimization <https://arxiv.org/abs/2101.11075>`_, 2021.
    """
    _validate.check_learning_rate("scale_by_madgrad", learning_rate)
    _validate.check_decay("scale_by_madgrad", "momentum", momentum)
    _validate.check_nonnegative("scale_by_madgrad", "eps", eps)

    def init_fn(params):
        return MadgradState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params),
                            _numerics.copy_tree(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("scale_by_madgrad", params, updates)
        lr = _numerics.value_at(learning_rate, state.count)
        lam = (lr + eps) * jnp.sqrt(state.count.astype(jnp.float32) + 1)  # float32 as optax; no int32 overflow
        sq = tree_map(lambda a, g: a + (lam * g**2).astype(g.dtype), state.grad_sum_sq, updates,
                      where="scale_by_madgrad", names=("state.grad_sum_sq", "updates"))
        s = jax.tree.map(lambda a, g: a + (lam * g).astype(g.dtype), state.s, updates)
        z = jax.tree.map(lambda x0, si, v: x0 - si / (jnp.cbrt(v) + eps), state.x0, s, sq)
        new_x = jax.tree.map(lambda zi, x: (1 - momentum) * zi + momentum * x, z, params)
        updates = jax.tree.map(lambda n, x: n - x, new_x, params)
        return updates, MadgradState(_numerics.safe_increment(state.count), sq, s, state.x0)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def madgrad(learning_rate: ScalarOrSchedule, momentum: Any = 0.9, weight_decay: Any = 0.0, eps: Any = 1e-6) -> GradientTransformation:
    r"""MADGRAD (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      momentum: in [0, 1).
      weight_decay: L2 decay added to the gradient, >= 0.
      eps: stabiliser, >= 0.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.madgrad(1e-2)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.995358, -1.994152]

    References:
      Defazio & Jelassi, `Adaptivity without Compromise: A Momentumized, Adaptive, Dual
      Averaged Gradient Method for Stochastic Optimization <https://arxiv.org/abs/2101.11075>`_, 2021.
    """
    _validate.check_learning_rate("madgrad", learning_rate)
    _validate.check_decay("madgrad", "momentum", momentum)
    _validate.check_nonnegative("madgrad", "eps", eps)
    _validate.check_nonnegative("madgrad", "weight_decay", weight_decay)
    return chain(add_decayed_weights(weight_decay), scale_by_madgrad(learning_rate, momentum, eps))
