r"""``torch.optim.Adadelta`` and ``torch.optim.Adamax``: the zoo's blocks in torch's order.

Adadelta, with :math:`g` the gradient (negated when ``maximize``) plus ``weight_decay * p``:

.. math::

   E[g^2]_k = \rho E[g^2]_{k-1} + (1-\rho) g_k^2, \qquad
   \Delta_k = \frac{\sqrt{E[\Delta^2]_{k-1} + \epsilon}}{\sqrt{E[g^2]_k + \epsilon}}\, g_k, \qquad
   p_k = p_{k-1} - \eta_k \Delta_k.

Adamax:

.. math::

   m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad u_k = \max(\beta_2 u_{k-1}, |g_k| + \epsilon), \qquad
   p_k = p_{k-1} - \frac{\eta_k}{1-\beta_1^k} \frac{m_k}{u_k}.
"""

from __future__ import annotations

from typing import Any

from .._base import GradientTransformation, chain
from ..optimizers._adadelta import scale_by_adadelta
from ..optimizers._adamax import scale_by_adamax
from . import _common
from ._groups import with_param_groups


@with_param_groups("torch_compat.Adadelta")
def Adadelta(lr: Any = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0, foreach: Any = None, *,
             capturable: bool = False, maximize: bool = False, differentiable: bool = False) -> GradientTransformation:
    r"""``torch.optim.Adadelta`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau`` (default 1.0).
      rho: the decay of the running averages, in [0, 1].
      eps: added inside both roots, >= 0.
      weight_decay: coupled L2 decay, >= 0.
      maximize: ascend the objective.
      foreach, capturable, differentiable: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative lr, eps or weight decay, or rho outside [0, 1].

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Adadelta(lr=1.0, rho=0.95)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.995528, -1.995528]

    References:
      Zeiler, `ADADELTA: An Adaptive Learning Rate Method <https://arxiv.org/abs/1212.5701>`_, 2012.
    """
    del foreach, capturable, differentiable
    fn = "torch_compat.Adadelta"
    _common.check_lr(fn, lr)
    _common.check_constant(fn, "rho", rho)
    _common.check_schedulable(fn, "rho", rho, hi_open=False)
    _common.check_constant(fn, "eps", eps)
    _common.check_constant(fn, "weight_decay", weight_decay)

    def core(h):
        return chain(*_common.grad_prelude(maximize, weight_decay), scale_by_adadelta(rho, eps),
                     *_common.lr_epilogue(h["lr"]))

    return _common.make({"lr": lr}, core)


@with_param_groups("torch_compat.Adamax")
def Adamax(lr: Any = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
           foreach: Any = None, *, maximize: bool = False, differentiable: bool = False,
           capturable: bool = False) -> GradientTransformation:
    r"""``torch.optim.Adamax`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau`` (default 2e-3).
      betas: ``(beta1, beta2)`` in [0, 1); ``beta1`` may be a schedule.
      eps: added to ``|g|`` inside the maximum, >= 0.
      weight_decay: coupled L2 decay, >= 0.
      maximize: ascend the objective.
      foreach, differentiable, capturable: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative lr, eps or weight decay, or a beta outside [0, 1).

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Adamax(lr=2e-3)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.998, -1.998]

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization (section 7.1)
      <https://arxiv.org/abs/1412.6980>`_, 2015.
    """
    del foreach, differentiable, capturable
    fn = "torch_compat.Adamax"
    _common.check_lr(fn, lr)
    _common.check_betas(fn, betas)
    _common.check_constant(fn, "eps", eps)
    _common.check_constant(fn, "weight_decay", weight_decay)

    def core(h):
        return chain(*_common.grad_prelude(maximize, weight_decay), scale_by_adamax(h["beta1"], betas[1], eps),
                     *_common.lr_epilogue(h["lr"]))

    return _common.make({"lr": lr, "beta1": betas[0]}, core)
