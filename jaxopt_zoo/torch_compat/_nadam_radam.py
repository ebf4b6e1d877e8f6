r"""``torch.optim.NAdam`` (with its momentum-decay schedule) and ``torch.optim.RAdam``.

Both start from :math:`g` (negated when ``maximize``; plus ``weight_decay * p`` unless the
decay is decoupled, in which case ``p <- p (1 - lr * weight_decay)``), the moments
:math:`m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k`, :math:`v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2`
and step :math:`k \ge 1`.

**NAdam** (Dozat) warms the momentum up with ``momentum_decay`` :math:`\psi`:

.. math::

   \mu_k = \beta_1 \big(1 - \tfrac12\, 0.96^{k\psi}\big), \qquad \Pi_k = \prod_{s \le k} \mu_s,
   \qquad d_k = \sqrt{v_k / (1-\beta_2^k)} + \epsilon,

   p_k = p_{k-1} - \eta_k \Big( \frac{1-\mu_k}{1-\Pi_k} \frac{g_k}{d_k}
         + \frac{\mu_{k+1}}{1-\Pi_k \mu_{k+1}} \frac{m_k}{d_k} \Big).

torch keeps :math:`\Pi_k` in its default dtype (float32 unless
``torch.set_default_dtype(torch.float64)``), rounding it every step; ``scalar_dtype`` does
the same here, so float64 trajectories agree to the last bits. optax's ``nadam`` has no
:math:`\mu_k` schedule (it is Adam with the Nesterov form of :math:`\hat m`).

**RAdam** (Liu et al.) rectifies the adaptive step once the variance of :math:`v` is tractable:

.. math::

   \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad \rho_k = \rho_\infty - \frac{2k\beta_2^k}{1-\beta_2^k},
   \qquad r_k = \sqrt{\frac{(\rho_k-4)(\rho_k-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_k}},

   p_k = p_{k-1} - \eta_k \frac{m_k}{1-\beta_1^k} \cdot
         \begin{cases} r_k \sqrt{1-\beta_2^k} / (\sqrt{v_k} + \epsilon) & \rho_k > 5 \\ 1 & \text{else.} \end{cases}

eps is added to the raw :math:`\sqrt{v_k}`; optax's ``radam`` adds it to the bias-corrected root.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics
from .._base import GradientTransformation, chain
from .._tree import tree_map
from . import _common
from ._groups import with_param_groups


class ScaleByTorchNAdamState(NamedTuple):
    """State of ``scale_by_torch_nadam``."""

    count: jax.Array
    mu_product: jax.Array  # torch's ``state['mu_product']``, in ``scalar_dtype``
    mu: Any  # exp_avg
    nu: Any  # exp_avg_sq


class ScaleByTorchRAdamState(NamedTuple):
    """State of ``scale_by_torch_radam``."""

    count: jax.Array
    mu: Any
    nu: Any


def _moments(updates, state, b1, b2, fn):
    mu = _numerics.update_moment(updates, state.mu, b1, 1, where=fn)
    nu = _numerics.update_moment_per_elem_norm(updates, state.nu, b2, 2, where=fn)
    return mu, nu


def scale_by_torch_nadam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, momentum_decay: Any = 4e-3,
                         scalar_dtype: Any = jnp.float32) -> GradientTransformation:
    r"""torch's NAdam direction (see module docstring), without the lr.

    Args:
      b1, b2: the moment decays (traced values allowed; ``b1`` scales the ``mu_k`` schedule).
      eps: added outside the bias-corrected root.
      momentum_decay: :math:`\psi`.
      scalar_dtype: the dtype of the running product :math:`\Pi_k` (torch's default dtype).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByTorchNAdamState``.
    """

    def init_fn(params):
        z = _numerics.zeros_like
        return ScaleByTorchNAdamState(_numerics.zero_count(), jnp.ones([], scalar_dtype), z(params), z(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _numerics.safe_increment(state.count)
        dt = jnp.result_type(b1, b2, float)
        step = count.astype(dt)
        mu_k = b1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        mu_product = state.mu_product * mu_k.astype(scalar_dtype)
        mu_product_next = mu_product.astype(dt) * mu_next
        c_grad = (1.0 - mu_k) / (1.0 - mu_product.astype(dt))
        c_avg = mu_next / (1.0 - mu_product_next)
        bc2 = _numerics.one_minus_power(b2, count)  # torch's double, to the params' precision
        mu, nu = _moments(updates, state, b1, b2, "torch_compat.NAdam")

        def leaf(g, m, v):
            d = jnp.sqrt(v / bc2.astype(v.dtype)) + eps
            return c_grad.astype(g.dtype) * g / d + c_avg.astype(m.dtype) * m / d

        out = tree_map(leaf, updates, mu, nu)
        keep = _numerics.keep_dtype
        return out, ScaleByTorchNAdamState(count, mu_product.astype(scalar_dtype), keep(mu, state.mu), keep(nu, state.nu))

    return GradientTransformation(init_fn, update_fn)


def scale_by_torch_radam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    r"""torch's RAdam direction (see module docstring), without the lr; rectified when :math:`\rho_k > 5`.

    Args:
      b1, b2: the moment decays (traced values allowed).
      eps: added to the raw root of the second moment.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByTorchRAdamState``.
    """

    def init_fn(params):
        return ScaleByTorchRAdamState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _numerics.safe_increment(state.count)
        # torch's scalars are Python doubles; these keep that precision in float32 too
        bc1, bc2 = _numerics.one_minus_power(b1, count), _numerics.one_minus_power(b2, count)
        rho = _numerics.radam_rho(b2, count, precise=True)
        rectify, rect = _numerics.radam_rectifier(rho, _numerics.radam_rho_inf(b2), 5.0, strict=True)
        mu, nu = _moments(updates, state, b1, b2, "torch_compat.RAdam")

        def leaf(m, v):
            m_hat = m / bc1.astype(m.dtype)
            adaptive = jnp.sqrt(bc2).astype(v.dtype) / (jnp.sqrt(v) + eps)
            return jnp.where(rectify, m_hat * adaptive * rect.astype(m.dtype), m_hat)

        out = tree_map(leaf, mu, nu)
        keep = _numerics.keep_dtype
        return out, ScaleByTorchRAdamState(count, keep(mu, state.mu), keep(nu, state.nu))

    return GradientTransformation(init_fn, update_fn)


@with_param_groups("torch_compat.NAdam")
def NAdam(lr: Any = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
          momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach: Any = None,
          maximize: bool = False, capturable: bool = False, differentiable: bool = False,
          scalar_dtype: Any = jnp.float32) -> GradientTransformation:
    r"""``torch.optim.NAdam`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau`` (default 2e-3).
      betas: ``(beta1, beta2)`` in [0, 1); ``beta1`` may be a schedule.
      eps: added outside the bias-corrected root, >= 0.
      weight_decay: L2 decay, >= 0 (coupled, or decoupled: ``p <- p (1 - lr * weight_decay)``).
      momentum_decay: :math:`\psi` of the momentum warm-up, >= 0.
      decoupled_weight_decay: NAdamW's decoupled decay.
      maximize: ascend the objective.
      scalar_dtype: the dtype of the running momentum product; torch keeps it in its default
        dtype (float32 unless ``torch.set_default_dtype(torch.float64)``). Not a torch keyword.
      foreach, capturable, differentiable: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative lr, eps, weight decay or momentum decay, or a beta outside [0, 1).

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.NAdam(lr=2e-3, momentum_decay=4e-3, decoupled_weight_decay=True, weight_decay=1e-2)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.997867, -1.997847]

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/pdf?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.
    """
    del foreach, capturable, differentiable
    fn = "torch_compat.NAdam"
    _common.check_lr(fn, lr)
    _common.check_betas(fn, betas)
    for arg, v in (("eps", eps), ("weight_decay", weight_decay), ("momentum_decay", momentum_decay)):
        _common.check_constant(fn, arg, v)
    decoupled = decoupled_weight_decay

    def core(h):
        return chain(*_common.grad_prelude(maximize, weight_decay, decoupled),
                     scale_by_torch_nadam(h["beta1"], betas[1], eps, momentum_decay, scalar_dtype),
                     *_common.lr_epilogue(h["lr"], weight_decay, decoupled))

    return _common.make({"lr": lr, "beta1": betas[0]}, core)


@with_param_groups("torch_compat.RAdam")
def RAdam(lr: Any = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
          decoupled_weight_decay: bool = False, *, foreach: Any = None, maximize: bool = False,
          capturable: bool = False, differentiable: bool = False) -> GradientTransformation:
    r"""``torch.optim.RAdam`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``.
      betas: ``(beta1, beta2)`` in [0, 1); ``beta1`` may be a schedule.
      eps: added to the raw root of the second moment, >= 0.
      weight_decay: L2 decay, >= 0 (coupled, or decoupled: ``p <- p (1 - lr * weight_decay)``).
      decoupled_weight_decay: RAdamW's decoupled decay.
      maximize: ascend the objective.
      foreach, capturable, differentiable: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative lr, eps or weight decay, or a beta outside [0, 1).

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.RAdam(lr=1e-3, decoupled_weight_decay=True, weight_decay=1e-2)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.99899, -1.99798]

    References:
      Liu, Jiang, He, Chen, Liu, Gao & Han, `On the Variance of the Adaptive Learning Rate and
      Beyond <https://arxiv.org/abs/1908.03265>`_, 2020.
    """
    del foreach, capturable, differentiable
    fn = "torch_compat.RAdam"
    _common.check_lr(fn, lr)
    _common.check_betas(fn, betas)
    _common.check_constant(fn, "eps", eps)
    _common.check_constant(fn, "weight_decay", weight_decay)
    decoupled = decoupled_weight_decay

    def core(h):
        return chain(*_common.grad_prelude(maximize, weight_decay, decoupled),
                     scale_by_torch_radam(h["beta1"], betas[1], eps),
                     *_common.lr_epilogue(h["lr"], weight_decay, decoupled))

    return _common.make({"lr": lr, "beta1": betas[0]}, core)
