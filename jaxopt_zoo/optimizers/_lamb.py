r"""LAMB: Adam's direction with decoupled weight decay, rescaled layer by layer.

.. math::

   r = \frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon} + \lambda p, \qquad
   p \leftarrow p - \eta \frac{\|p\|}{\|r\|}\, r \quad \text{(per leaf)}.
"""

from __future__ import annotations

from typing import Any

from .. import _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._trust_ratio import scale_by_trust_ratio
from ..transforms._weight_decay import add_decayed_weights
from ._adam import _check_adam_args, scale_by_adam


def lamb(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-6,
    eps_root: Any = 0.0,
    weight_decay: Any = 0.0,
    mask: Any = None,
) -> GradientTransformation:
    r"""LAMB (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root: as in ``scale_by_adam`` (LAMB's eps default is 1e-6).
      weight_decay: decoupled decay, >= 0.
      mask: where to apply the decay (exclude biases and normalisation scales).

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or decay, or a bad Adam argument.

    Example:
      >>> import jax, jaxopt_zoo as zoo
      >>> tx = zoo.lamb(1e-3, weight_decay=1e-2, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p))
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.998419, -1.998419]

    References:
      You et al., `Large Batch Optimization for Deep Learning: Training BERT in 76 minutes
      <https://arxiv.org/abs/1904.00962>`_, 2020.
    """
    _validate.check_learning_rate("lamb", learning_rate)
    _check_adam_args("lamb", b1, b2, eps, eps_root)
    _validate.check_nonnegative("lamb", "weight_decay", weight_decay)
    return _packable.named(chain(
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    ), "lamb")
