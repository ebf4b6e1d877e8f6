r"""``torch.optim.Adam`` and ``torch.optim.AdamW``.

With :math:`g` the gradient (negated when ``maximize``; plus ``weight_decay * p`` when the
decay is coupled, Adam's default) and step :math:`k \ge 1`:

.. math::

   m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,

   p_k = p_{k-1} - \eta_k \Big( \frac{m_k / (1-\beta_1^k)}{\sqrt{\bar v_k} / \sqrt{1-\beta_2^k} + \epsilon}
         + \lambda\, p_{k-1} \,[\text{decoupled}] \Big)

with :math:`\bar v_k = v_k`, or with ``amsgrad`` the running maximum of the *raw* :math:`v`
(torch's AMSGrad; optax's takes the maximum of the bias-corrected :math:`\hat v`, which
differs once :math:`1-\beta_2^k` has moved). AdamW is Adam with ``decoupled_weight_decay``
and weight decay 1e-2 by default: the decay is multiplied by the (scheduled) lr,
``p <- p (1 - lr * weight_decay)``. A scheduled :math:`\beta_1` enters the bias correction as
torch's does: :math:`1 - \beta_{1,k}^k` with the current value.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics
from .._base import GradientTransformation, chain
from .._tree import tree_map
from ..optimizers._adam import ScaleByAdamState
from . import _common
from ._groups import with_param_groups


class ScaleByTorchAmsgradState(NamedTuple):
    """State of ``scale_by_torch_adam`` with ``amsgrad``."""

    count: jax.Array
    mu: Any  # exp_avg
    nu: Any  # exp_avg_sq
    nu_max: Any  # max_exp_avg_sq: running maximum of the raw second moment


def scale_by_torch_adam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, amsgrad: bool = False) -> GradientTransformation:
    r"""torch's Adam scaling, in torch's order: ``(m / (\sqrt{\bar v} / \sqrt{1-\beta_2^k} + eps)) / (1-\beta_1^k)``.

    ``m`` is updated with torch's ``lerp``; ``\bar v`` is ``v``, or with ``amsgrad`` the running
    maximum of the raw ``v``. The bias corrections are torch's double-precision scalars to the
    precision of the params (``_numerics.one_minus_power``), cast to each leaf's dtype as torch
    casts a Python float.

    Args:
      b1, b2: the moment decays (traced values allowed).
      eps: added outside the root, after the bias correction.
      amsgrad: torch's AMSGrad.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdamState`` (``ScaleByTorchAmsgradState``
      with ``amsgrad``).
    """
    fn = "torch_compat.Adam"

    def init_fn(params):
        z = _numerics.zeros_like
        if amsgrad:
            return ScaleByTorchAmsgradState(_numerics.zero_count(), z(params), z(params), z(params))
        return ScaleByAdamState(_numerics.zero_count(), z(params), z(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _numerics.safe_increment(state.count)
        mu = tree_map(lambda g, m: _numerics.lerp(m, g, (1 - b1)).astype(m.dtype), updates, state.mu,
                      where=fn, names=("updates", "state.mu"))
        nu = _numerics.keep_dtype(_numerics.update_moment_per_elem_norm(updates, state.nu, b2, 2, where=fn), state.nu)
        nu_bar = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else nu
        bc1 = _numerics.one_minus_power(b1, count)
        root_bc2 = jnp.sqrt(_numerics.one_minus_power(b2, count))

        def leaf(m, v):
            return m / (jnp.sqrt(v) / root_bc2.astype(v.dtype) + eps) / bc1.astype(m.dtype)

        out = tree_map(leaf, mu, nu_bar)
        if amsgrad:
            return out, ScaleByTorchAmsgradState(count, mu, nu, nu_bar)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init_fn, update_fn)


def _adam(fn, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled):
    _common.check_lr(fn, lr)
    _common.check_betas(fn, betas)
    _common.check_constant(fn, "eps", eps)
    _common.check_constant(fn, "weight_decay", weight_decay)
    b1, b2 = betas

    def core(h):
        return chain(*_common.grad_prelude(maximize, weight_decay, decoupled), scale_by_torch_adam(h["beta1"], b2, eps, amsgrad),
                     *_common.lr_epilogue(h["lr"], weight_decay, decoupled))

    return _common.make({"lr": lr, "beta1": b1}, core)


@with_param_groups("torch_compat.Adam")
def Adam(lr: Any = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
         amsgrad: bool = False, *, foreach: Any = None, maximize: bool = False, capturable: bool = False,
         differentiable: bool = False, fused: Any = None, decoupled_weight_decay: bool = False) -> GradientTransformation:
    r"""``torch.optim.Adam`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``.
      betas: ``(beta1, beta2)`` in [0, 1); ``beta1`` may be a schedule (OneCycleLR's momentum).
      eps: added to the bias-corrected root, outside it, >= 0.
      weight_decay: L2 decay added to the gradient (or decoupled, see below), >= 0.
      amsgrad: divide by the root of the running maximum of the raw second moment.
      maximize: ascend the objective.
      decoupled_weight_decay: AdamW's decay ``p <- p (1 - lr * weight_decay)``.
      foreach, capturable, differentiable, fused: accepted and ignored.

    Returns:
      A ``GradientTransformation``; ``zoo.current_hyperparams(state)`` gives ``lr`` and ``beta1``.

    Raises:
      ValueError: for a negative lr, eps or weight decay, or a beta outside [0, 1).

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Adam(lr=1e-3, betas=(0.9, 0.99), amsgrad=True)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.999]

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization <https://arxiv.org/abs/1412.6980>`_, 2015.
      Reddi, Kale & Kumar, `On the Convergence of Adam and Beyond
      <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018.
    """
    del foreach, capturable, differentiable, fused
    return _adam("torch_compat.Adam", lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay)


@with_param_groups("torch_compat.AdamW")
def AdamW(lr: Any = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
          amsgrad: bool = False, *, maximize: bool = False, foreach: Any = None, capturable: bool = False,
          differentiable: bool = False, fused: Any = None) -> GradientTransformation:
    r"""``torch.optim.AdamW``: Adam with decoupled weight decay, default 1e-2 (optax's is 1e-4).

    ``p <- p (1 - lr * weight_decay)``, then the Adam step (see module docstring).

    Args:
      lr, betas, eps, amsgrad, maximize: as in ``Adam``.
      weight_decay: the decoupled decay rate, >= 0 (multiplied by the current lr).
      foreach, capturable, differentiable, fused: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: as ``Adam``.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.AdamW(lr=3e-4, weight_decay=0.05)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999685, -1.99967]

    References:
      Loshchilov & Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    del foreach, capturable, differentiable, fused
    return _adam("torch_compat.AdamW", lr, betas, eps, weight_decay, amsgrad, maximize, True)
