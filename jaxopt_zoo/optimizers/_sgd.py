r"""Stochastic gradient descent, with heavy-ball or Nesterov momentum.

.. math::

   t_k = g_k + \mu t_{k-1}, \qquad
   p_k = p_{k-1} - \eta_k \cdot \begin{cases} t_k & \text{(momentum)} \\
                                        g_k + \mu t_k & \text{(Nesterov)} \end{cases}

Without momentum, :math:`p_k = p_{k-1} - \eta_k g_k`. This is optax's (and PyTorch's,
with ``dampening=0``) formulation: the learning rate multiplies the momentum buffer
rather than being folded into it, so a scheduled learning rate acts immediately.
"""

from __future__ import annotations

from typing import Any

from .. import _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain, identity
from ..transforms._momentum import trace
from ..transforms._scaling import scale_by_learning_rate


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: Any = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
) -> GradientTransformation:
    r"""SGD: ``p <- p - lr * g``, with optional (Nesterov) momentum (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      momentum: the momentum coefficient in [0, 1), or ``None`` for plain SGD.
      nesterov: use Nesterov momentum (needs ``momentum``).
      accumulator_dtype: dtype of the momentum buffer (``None``: that of the params).

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a momentum outside [0, 1).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.sgd(0.1, momentum=0.9, nesterov=True)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.81, -1.62]

    References:
      Robbins & Monro, `A Stochastic Approximation Method
      <https://doi.org/10.1214/aoms/1177729586>`_, 1951.
      Sutskever, Martens, Dahl & Hinton, `On the importance of initialization and momentum
      in deep learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.
    """
    _validate.check_learning_rate("sgd", learning_rate)
    if momentum is not None:
        _validate.check_decay("sgd", "momentum", momentum)
    return chain(
        trace(momentum, nesterov, accumulator_dtype) if momentum is not None else identity(),
        scale_by_learning_rate(learning_rate),
    )
