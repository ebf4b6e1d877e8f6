r"""Fromage: Frobenius-matched gradient descent.

Per leaf (layer), with :math:`\eta_t` the learning rate:

.. math::

   p_{t} = \frac{1}{\sqrt{1 + \eta_t^2}}
           \left(p_{t-1} - \eta_t \frac{\|p_{t-1}\|}{\|g_t\|}\, g_t\right),

norms taken per leaf and bounded below by ``min_norm`` (a zero norm leaves the gradient
unscaled). The step moves each layer by a fixed fraction of its own size (the "deep relative
trust" of the paper) and the :math:`1/\sqrt{1+\eta^2}` factor keeps the norm of the weights
from growing. This is the paper's Algorithm 1 and equals ``optax.fromage`` (which writes it as
``scale_by_trust_ratio``, the scaled learning rate, and a negative "weight decay"
:math:`1/\sqrt{1+\eta^2} - 1`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map
from ..transforms._scaling import ScaleByScheduleState
from ..transforms._trust_ratio import scale_by_trust_ratio


def _shrink_step(fn: str, learning_rate: ScalarOrSchedule) -> GradientTransformation:
    """``u <- -lr m u + (m - 1) p`` with ``m = 1 / sqrt(1 + lr^2)`` (the second half of Fromage)."""

    def init_fn(params):
        del params
        return ScaleByScheduleState(count=_numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None and jax.tree.leaves(updates):
            raise ValueError(f"{_validate.PREFIX}{fn}: update needs `params`; call tx.update(updates, state, params).")
        if callable(learning_rate):
            lr = learning_rate(state.count)
            mult = 1 / (1 + lr**2) ** 0.5
            step = lambda g: jnp.array(-(mult * lr), dtype=g.dtype) * g  # noqa: E731
        else:
            mult = 1 / (1 + learning_rate**2) ** 0.5
            step = lambda g: -(learning_rate * mult) * g  # noqa: E731
        out = tree_map(lambda g, p: step(g) + (mult - 1) * p, updates, params, where=fn, names=("updates", "params"))
        return out, ScaleByScheduleState(count=_numerics.safe_increment(state.count))

    return GradientTransformation(init_fn, update_fn)


def fromage(learning_rate: ScalarOrSchedule, min_norm: Any = 1e-6) -> GradientTransformation:
    r"""Fromage: ``p <- (p - lr * (||p|| / ||g||) g) / sqrt(1 + lr^2)`` per leaf (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule (the paper suggests 0.01).
      min_norm: the smallest norm of a parameter or gradient leaf used in the ratio, >= 0.

    Returns:
      A ``GradientTransformation`` whose update needs ``params``; its state is
      ``(EmptyState(), ScaleByScheduleState)``.

    Raises:
      ValueError: for a negative ``learning_rate`` or ``min_norm``, or when ``params`` is missing.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.array([3.0, 4.0])}
      >>> tx = zoo.fromage(0.75)
      >>> u, _ = tx.update({"w": jnp.array([1.0, 0.0])}, tx.init(params), params)
      >>> print([round(float(x), 4) for x in zoo.apply_updates(params, u)["w"]])  # (p - 0.75 * 5 * g) / 1.25
      [-0.6, 3.2]

    References:
      Bernstein, Vahdat, Yue & Liu, `On the distance between two neural networks and the
      stability of learning <https://arxiv.org/abs/2002.03432>`_, 2020.
    """
    _validate.check_learning_rate("fromage", learning_rate)
    _validate.check_nonnegative("fromage", "min_norm", min_norm)
    return chain(scale_by_trust_ratio(min_norm), _shrink_step("fromage", learning_rate))
