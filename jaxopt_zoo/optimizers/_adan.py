r"""Adan: adaptive Nesterov momentum, estimating the gradient difference.

With :math:`\Delta_k = g_k - g_{k-1}` (0 at the first step) and pytorch_optimizer's decay
names :math:`\beta_1, \beta_2, \beta_3` (0.98, 0.92, 0.99):

.. math::

   m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad
   d_k = \beta_2 d_{k-1} + (1-\beta_2) \Delta_k,

   n_k = \beta_3 n_{k-1} + (1-\beta_3)\,(g_k + \beta_2 \Delta_k)^2, \qquad
   \rho_k = \sqrt{n_k} / \sqrt{1-\beta_3^k} + \epsilon,

   p_{k} = \frac{p_{k-1} - \eta\,\frac{m_k}{(1-\beta_1^k)\rho_k}
           - \eta\beta_2\,\frac{d_k}{(1-\beta_2^k)\rho_k}}{1 + \eta\lambda}.

The division by :math:`1 + \eta\lambda` is the paper's proximal weight decay
(``weight_decouple=True`` multiplies by :math:`1 - \eta\lambda` first instead, AdamW-style).
Optional global-norm clipping of the gradient (``max_grad_norm``) comes first.

How this differs from ``optax.adan``: optax applies the learning rate and the decoupled decay
to a combined direction without the bias corrections above (and its ``b`` parameters are
the complements :math:`1-\beta`); this is the paper's Algorithm 1 as implemented by
``pytorch_optimizer.Adan``, which is what this function is tested against.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import tree_map, unzip


class AdanState(NamedTuple):
    """State of ``adan``."""

    count: jax.Array
    m: Any
    d: Any  # EMA of the gradient difference
    n: Any  # EMA of the squared corrected gradient
    prev_grad: Any  # the previous (clipped) gradient
    started: jax.Array  # bool: a previous gradient exists


def adan(
    learning_rate: Any = 1e-3,
    b1: Any = 0.98,
    b2: Any = 0.92,
    b3: Any = 0.99,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    weight_decouple: bool = False,
    max_grad_norm: Any = 0.0,
) -> GradientTransformation:
    r"""Adan (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, b3: the decays of the momentum, difference and second moment, in [0, 1).
      eps: added to the root, >= 0.
      weight_decay: >= 0; proximal (paper) or, with ``weight_decouple``, AdamW-style.
      weight_decouple: multiply by ``1 - lr * weight_decay`` instead of dividing by ``1 + lr * weight_decay``.
      max_grad_norm: clip the gradient's global norm to this first (0: no clipping).

    Returns:
      A ``GradientTransformation`` with state ``AdanState``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adan(1e-3, weight_decay=0.02)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.99898, -1.99896]

    References:
      Xie et al., `Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
      Models <https://arxiv.org/abs/2208.06677>`_, 2022.
    """
    fn = "adan"
    _validate.check_learning_rate(fn, learning_rate)
    for arg, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        _validate.check_decay(fn, arg, value)
    for arg, value in (("eps", eps), ("weight_decay", weight_decay), ("max_grad_norm", max_grad_norm)):
        _validate.check_nonnegative(fn, arg, value)
    # A concrete 0 turns clipping off when the transformation is built; a traced value
    # (inject_hyperparams under jit) decides inside the step, where 0 means no clipping too.
    clip = _validate.concrete_float(max_grad_norm) != 0.0

    def init_fn(params):
        z = lambda: _numerics.zeros_like(params)  # noqa: E731
        return AdanState(_numerics.zero_count(), z(), z(), z(), z(), jnp.zeros([], bool))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("adan", params, updates)
        count = _numerics.safe_increment(state.count)
        kf = count.astype(jnp.result_type(float))
        lr = _numerics.value_at(learning_rate, state.count)
        if clip:
            factor = jnp.minimum(max_grad_norm / (_numerics.global_norm(updates) + eps), 1.0)
            factor = jnp.where(jnp.asarray(max_grad_norm) > 0, factor, 1.0)
            updates = jax.tree.map(lambda g: g * factor.astype(g.dtype), updates)
        bc1, bc2 = 1 - b1**kf, 1 - b2**kf
        bc3_sqrt = jnp.sqrt(1 - b3**kf)

        def leaf(g, p, m, d, n, prev):
            if not jnp.issubdtype(p.dtype, jnp.inexact):  # integer/bool leaves are not trained
                return jnp.zeros_like(p), m, d, n, prev
            diff = jnp.where(state.started, g - prev, jnp.zeros_like(g))
            m = _numerics.lerp(m, g, 1.0 - b1)
            d = _numerics.lerp(d, diff, 1.0 - b2)
            corrected = diff * b2 + g
            n = n * b3 + (1.0 - b3) * corrected * corrected
            denom = jnp.sqrt(n) / bc3_sqrt + eps
            new_p = p * (1.0 - lr * weight_decay) if weight_decouple else p
            new_p = new_p + (-lr / bc1) * (m / denom)
            new_p = new_p + (-lr * b2 / bc2) * (d / denom)
            if not weight_decouple:
                new_p = new_p / (1.0 + lr * weight_decay)
            return (new_p - p).astype(p.dtype), m.astype(p.dtype), d.astype(p.dtype), n.astype(p.dtype), g

        out = tree_map(leaf, updates, params, state.m, state.d, state.n, state.prev_grad, where="adan",
                       names=("updates", "params", "state.m", "state.d", "state.n", "state.prev_grad"))
        updates, m, d, n, prev = unzip(out, 5)
        return updates, AdanState(count, m, d, n, prev, jnp.ones([], bool))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
