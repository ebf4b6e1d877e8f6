r"""``torch.optim.RMSprop``: eps outside the root, centered, momentum applied before the lr.

With :math:`g` the gradient (negated when ``maximize``) plus ``weight_decay * p``:

.. math::

   v_k = \alpha v_{k-1} + (1-\alpha) g_k^2, \qquad
   d_k = \sqrt{v_k - [\text{centered}]\, \bar g_k^2} + \epsilon, \qquad
   \bar g_k = \alpha \bar g_{k-1} + (1-\alpha) g_k,

   b_k = \mu\, b_{k-1} + g_k / d_k, \qquad p_k = p_{k-1} - \eta_k\, b_k

(without momentum, :math:`p_k = p_{k-1} - \eta_k g_k / d_k`). The lr multiplies the momentum
buffer; optax's ``rmsprop`` puts the lr inside the buffer (``trace`` after the lr), which is
the same for a constant lr but not under a schedule. optax's default also puts eps inside
the root.
"""

from __future__ import annotations

from typing import Any

from .._base import GradientTransformation, chain
from ..optimizers._rmsprop import scale_by_rms, scale_by_stddev
from . import _common
from ._sgd import dampened_trace
from ._groups import with_param_groups

_FN = "torch_compat.RMSprop"


@with_param_groups("torch_compat.RMSprop")
def RMSprop(lr: Any = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0, momentum: Any = 0.0,
            centered: bool = False, capturable: bool = False, foreach: Any = None, maximize: bool = False,
            differentiable: bool = False) -> GradientTransformation:
    r"""``torch.optim.RMSprop`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``.
      alpha: the decay of the running averages, in [0, 1).
      eps: added outside the root, >= 0.
      weight_decay: coupled L2 decay, >= 0.
      momentum: a float >= 0 or a schedule (taken as non-zero at every step).
      centered: divide by the running standard deviation instead of the RMS.
      maximize: ascend the objective.
      capturable, foreach, differentiable: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative lr, eps, weight decay or momentum, or alpha outside [0, 1).

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.RMSprop(lr=1e-3, momentum=0.9, centered=True)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.98995, -1.98995]

    References:
      Tieleman & Hinton, `Lecture 6.5 - RMSprop
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
      Graves, `Generating Sequences With Recurrent Neural Networks <https://arxiv.org/abs/1308.0850>`_, 2013.
    """
    del capturable, foreach, differentiable
    _common.check_lr(_FN, lr)
    _common.check_constant(_FN, "alpha", alpha)
    _common.check_schedulable(_FN, "alpha", alpha)
    _common.check_constant(_FN, "eps", eps)
    _common.check_constant(_FN, "weight_decay", weight_decay)
    _common.check_schedulable(_FN, "momentum", momentum, hi=float("inf"))
    use_momentum = not _common.is_zero(momentum)
    hyper = {"lr": lr, "momentum": momentum} if use_momentum else {"lr": lr}
    scaler = scale_by_stddev if centered else scale_by_rms

    def core(h):
        blocks = [*_common.grad_prelude(maximize, weight_decay), scaler(alpha, eps, 0.0, eps_in_sqrt=False)]
        if use_momentum:
            blocks.append(dampened_trace(h["momentum"], 0.0))  # torch takes momentum > 1 too
        return chain(*blocks, *_common.lr_epilogue(h["lr"]))

    return _common.make(hyper, core)
