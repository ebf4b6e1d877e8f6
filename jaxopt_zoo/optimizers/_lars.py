r"""LARS: SGD with momentum and a layer-wise trust ratio, for very large batches.

.. math::

   u = g + \lambda p, \qquad u \leftarrow \tau \frac{\|p\|}{\|u\| + \epsilon}\, u
   \text{ (per leaf)}, \qquad t = -\eta\, u + \mu t, \qquad p \leftarrow p + t

(optax's order: decay, trust ratio, learning rate, then momentum).
"""

from __future__ import annotations

from typing import Any

from .. import _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from ..transforms._masking import masked
from ..transforms._momentum import trace
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._trust_ratio import scale_by_trust_ratio
from ..transforms._weight_decay import add_decayed_weights


def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: Any = 0.0,
    weight_decay_mask: Any = True,
    trust_coefficient: Any = 0.001,
    eps: Any = 0.0,
    trust_ratio_mask: Any = True,
    momentum: Any = 0.9,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""LARS (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      weight_decay: L2 decay added before the trust ratio, >= 0.
      weight_decay_mask: where to decay (a bool, pytree of bools or callable); usually
        ``False`` for biases and normalisation scales.
      trust_coefficient: :math:`\tau`, >= 0.
      eps: added to the update norm, >= 0.
      trust_ratio_mask: where to apply the trust ratio (same forms as the decay mask).
      momentum: momentum coefficient in [0, 1).
      nesterov: Nesterov momentum.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate, decay, coefficient or eps, or a momentum
        outside [0, 1).

    Example:
      >>> import jax, jaxopt_zoo as zoo
      >>> not_bias = lambda p: jax.tree.map(lambda x: x.ndim > 1, p)
      >>> tx = zoo.lars(0.1, weight_decay=1e-4, weight_decay_mask=not_bias, trust_ratio_mask=not_bias)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.9, -1.8]

    References:
      You, Gitman & Ginsburg, `Large Batch Training of Convolutional Networks
      <https://arxiv.org/abs/1708.03888>`_, 2017.
    """
    _validate.check_learning_rate("lars", learning_rate)
    _validate.check_nonnegative("lars", "weight_decay", weight_decay)
    _validate.check_nonnegative("lars", "trust_coefficient", trust_coefficient)
    _validate.check_nonnegative("lars", "eps", eps)
    _validate.check_decay("lars", "momentum", momentum)
    return _packable.named(chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        masked(scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps), trust_ratio_mask),
        scale_by_learning_rate(learning_rate),
        trace(momentum, nesterov),
    ), "lars")
