r"""Sign descent: signSGD and Signum (signSGD with momentum).

.. math::

   \text{signSGD:}\quad u_t = -\eta_t\, \operatorname{sign}(g_t), \qquad
   \text{Signum:}\quad m_t = \beta m_{t-1} + (1-\beta) g_t,\quad u_t = -\eta_t\, \operatorname{sign}(m_t).

Signum's average needs no bias correction: only its sign is used. These are ``optax.sign_sgd``,
``optax.signum`` and ``optax.scale_by_sign`` (tested equal). The paper's Signum writes the
momentum as :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` too; ``sign(0) = 0`` (a zero gradient
coordinate does not move).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._numerics import is_trained
from .. import _packable, _validate
from .._base import EmptyState, GradientTransformation, ScalarOrSchedule, chain
from ..transforms._momentum import ema
from ..transforms._scaling import scale_by_learning_rate
from ._alias import adaptive_alias


def scale_by_sign() -> GradientTransformation:
    r"""Replace each update by its sign: ``u <- sign(u)``.

    Returns:
      A stateless ``GradientTransformation``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_sign()
      >>> u, _ = tx.update(jnp.array([0.3, -2.0, 0.0]), tx.init(None))
      >>> print(u)
      [ 1. -1.  0.]

    References:
      Bernstein, Wang, Azizzadenesheli & Anandkumar, `signSGD: Compressed Optimisation for
      Non-Convex Problems <https://arxiv.org/abs/1802.04434>`_, 2018.
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        # integer/bool leaves (not trained) pass as they are: jnp.sign rejects bool
        return jax.tree.map(lambda g: jnp.sign(g) if is_trained(g) else g, updates), state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    r"""signSGD: ``p <- p - lr_t * sign(g)``.

    Args:
      learning_rate: a float >= 0 or a schedule.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.sign_sgd(0.1)
      >>> u, _ = tx.update(jnp.array([0.3, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)
      [-0.1  0.1]

    References:
      Bernstein, Wang, Azizzadenesheli & Anandkumar, `signSGD: Compressed Optimisation for
      Non-Convex Problems <https://arxiv.org/abs/1802.04434>`_, 2018.
      Balles, Pedregosa & Le Roux, `The Geometry of Sign Gradient Descent
      <https://arxiv.org/abs/2002.08056>`_, 2020.
    """
    _validate.check_learning_rate("sign_sgd", learning_rate)
    return adaptive_alias(scale_by_sign(), learning_rate)


def signum(learning_rate: ScalarOrSchedule, beta: Any = 0.9, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Signum: ``m <- beta m + (1 - beta) g``; ``p <- p - lr_t * sign(m)``.

    ``chain(ema(beta, debias=False, accumulator_dtype), scale_by_sign(), scale_by_learning_rate(lr))``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      beta: the momentum decay, in [0, 1).
      accumulator_dtype: dtype of the average (``None``: that of the params).

    Returns:
      A ``GradientTransformation`` whose state holds an ``EmaState``.

    Raises:
      ValueError: for a negative learning rate or ``beta`` outside [0, 1).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.signum(0.1)
      >>> state = tx.init(jnp.zeros(2))
      >>> _, state = tx.update(jnp.array([1.0, 1.0]), state)
      >>> u, state = tx.update(jnp.array([-2.0, -0.05]), state)
      >>> print(u)  # the momentum outvotes the small negative gradient
      [ 0.1 -0.1]

    References:
      Bernstein, Wang, Azizzadenesheli & Anandkumar, `signSGD: Compressed Optimisation for
      Non-Convex Problems <https://arxiv.org/abs/1802.04434>`_, 2018.
      Zhao, Morwani, Brandfonbrener, Vyas & Kakade, `Deconstructing What Makes a Good
      Optimizer for Language Models <https://arxiv.org/abs/2407.07972>`_, 2024.
    """
    _validate.check_learning_rate("signum", learning_rate)
    _validate.check_decay("signum", "beta", beta)
    return chain(ema(beta, debias=False, accumulator_dtype=accumulator_dtype), scale_by_sign(),
                 scale_by_learning_rate(learning_rate))
