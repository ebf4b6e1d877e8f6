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

``scale_by_adan(b1, b2, b3, eps, eps_root)`` is the scaling in the middle, with optax's
signature and state (``ScaleByAdanState(m, v, n, g, t)``, ``v`` holding :math:`d` above):

.. math::

   u_k = \frac{m_k/(1-\beta_1^k) + \beta_2\, d_k/(1-\beta_2^k)}
              {\sqrt{n_k/(1-\beta_3^k) + \epsilon_{root}} + \epsilon},

and ``adan`` is ``scale_by_adan`` between the clipping and the decayed step
:math:`p_k = (p_{k-1} - \eta u_k)/(1+\eta\lambda)`.

How this differs from optax: ``optax.scale_by_adan`` uses its ``b2`` both as the decay of
:math:`d` (as here) and, as :math:`1-\beta_2`, for the weight of :math:`\Delta_k` in
:math:`n_k` and of :math:`d_k` in :math:`u_k`, where the paper's Algorithm 1 (with its
:math:`\beta_2 = 0.08` being our :math:`1-\beta_2`) and the authors' code (sail-sg/Adan)
weigh both by :math:`\beta_2 = 0.92`. The two agree exactly at ``b2 = 0.5`` (tested) and
differ elsewhere (tested). ``optax.adan`` then applies the learning rate and a decoupled
decay to that direction; this ``adan`` is the paper's Algorithm 1 as implemented by
``pytorch_optimizer.Adan``, which it is tested against.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation, chain
from .._tree import tree_map, unzip
from ..transforms._scaling import ScaleByScheduleState


class ScaleByAdanState(NamedTuple):
    """State of ``scale_by_adan`` (optax's fields)."""

    m: Any  # EMA of the gradient
    v: Any  # EMA of the gradient difference (d in the module docstring)
    n: Any  # EMA of the squared corrected gradient
    g: Any  # the previous gradient
    t: jax.Array  # int32 step count


def _check_decays(fn: str, b1: Any, b2: Any, b3: Any, eps: Any, eps_root: Any = 0.0) -> None:
    for arg, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        _validate.check_decay(fn, arg, value)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "eps_root", eps_root)


def scale_by_adan(b1: Any = 0.98, b2: Any = 0.92, b3: Any = 0.99, eps: Any = 1e-8, eps_root: Any = 0.0) -> GradientTransformation:
    r"""Adan's scaling: the paper's direction ``u_k`` (see module docstring).

    optax's signature and state; the weights of the gradient difference are the paper's
    (``b2``, where optax's are ``1 - b2``: equal at ``b2 = 0.5``).

    Args:
      b1: decay of the gradient's EMA, in [0, 1).
      b2: decay of the gradient difference's EMA (and its weight), in [0, 1).
      b3: decay of the squared corrected gradient's EMA, in [0, 1).
      eps: added to the root, >= 0.
      eps_root: added inside the root, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdanState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative ``eps``/``eps_root``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_adan()
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, -2.0]), state)
      >>> print(u.round(4))  # the first step is sign(g) (up to eps)
      [ 1. -1.]

    References:
      Xie et al., `Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
      Models <https://arxiv.org/abs/2208.06677>`_, 2022.
    """
    fn = "scale_by_adan"
    _check_decays(fn, b1, b2, b3, eps, eps_root)
    plain_root = _validate.concrete_float(eps_root) == 0.0

    def init_fn(params):
        z = lambda: _numerics.zeros_like(params)  # noqa: E731
        return ScaleByAdanState(z(), z(), z(), z(), _numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        t = _numerics.safe_increment(state.t)
        kf = t.astype(jnp.result_type(float))
        bc1, bc2, bc3 = 1 - b1**kf, 1 - b2**kf, 1 - b3**kf
        started = state.t > 0

        def leaf(g, m, d, n, prev):
            if not _numerics.is_trained(g):  # integer/bool leaves are not trained
                return jnp.zeros_like(g), m, d, n, prev
            diff = jnp.where(started, g - prev, jnp.zeros_like(g))
            new_m = _numerics.lerp(m, g, 1.0 - b1)
            new_d = _numerics.lerp(d, diff, 1.0 - b2)
            new_n = n * b3 + (1.0 - b3) * _numerics.abs_sq(diff * b2 + g)
            if plain_root:  # pytorch_optimizer's arithmetic
                denom = jnp.sqrt(new_n) / jnp.sqrt(bc3) + eps
            else:
                denom = jnp.sqrt(new_n / bc3 + eps_root) + eps
            u = (1.0 / bc1) * (new_m / denom) + (b2 / bc2) * (new_d / denom)
            return (u.astype(g.dtype), new_m.astype(m.dtype), new_d.astype(d.dtype), new_n.astype(n.dtype),
                    g.astype(prev.dtype))

        out = tree_map(leaf, updates, state.m, state.v, state.n, state.g, where=fn,
                       names=("updates", "state.m", "state.v", "state.n", "state.g"))
        u, m, d, n, prev = unzip(out, 5)
        return u, ScaleByAdanState(m, d, n, prev, t)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def _clip_global_norm(max_grad_norm: Any, eps: Any) -> GradientTransformation:
    """pytorch_optimizer's clipping: ``g * min(max_grad_norm / (|g| + eps), 1)``; 0 turns it off.

    A concrete 0 passes the updates through; a traced value (inject_hyperparams under jit)
    decides inside the step, where 0 means no clipping too. Stateless either way, so the
    state of ``adan`` has one structure whatever ``max_grad_norm`` is.
    """
    off = _validate.concrete_float(max_grad_norm) == 0.0

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        if off:
            return updates, state
        factor = jnp.minimum(max_grad_norm / (_numerics.global_norm(updates) + eps), 1.0)
        factor = jnp.where(jnp.asarray(max_grad_norm) > 0, factor, 1.0)
        return jax.tree.map(lambda g: g * factor.astype(g.dtype), updates), state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def _adan_step(learning_rate: Any, weight_decay: Any, weight_decouple: bool) -> GradientTransformation:
    """``p - lr u`` with Adan's weight decay: divided by ``1 + lr wd`` (the paper's proximal
    step) or, ``weight_decouple``, from ``p (1 - lr wd)``; returns the update ``p_new - p``."""

    def init_fn(params):
        del params
        return ScaleByScheduleState(_numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("adan", params, updates)
        lr = _numerics.value_at(learning_rate, state.count)

        def leaf(u, p):
            if not _numerics.is_trained(p):
                return jnp.zeros_like(p)
            new_p = p * (1.0 - lr * weight_decay) if weight_decouple else p
            new_p = new_p - lr * u
            if not weight_decouple:
                new_p = new_p / (1.0 + lr * weight_decay)
            return (new_p - p).astype(p.dtype)

        out = tree_map(leaf, updates, params, where="adan", names=("updates", "params"))
        return out, ScaleByScheduleState(_numerics.safe_increment(state.count))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


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

    ``chain(<clip to max_grad_norm>, scale_by_adan(b1, b2, b3, eps), <step with weight decay>)``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, b3: the decays of the momentum, difference and second moment, in [0, 1).
      eps: added to the root, >= 0.
      weight_decay: >= 0; proximal (paper) or, with ``weight_decouple``, AdamW-style.
      weight_decouple: multiply by ``1 - lr * weight_decay`` instead of dividing by ``1 + lr * weight_decay``.
      max_grad_norm: clip the gradient's global norm to this first (0: no clipping).

    Returns:
      A ``GradientTransformation`` (a chain whose middle state is ``ScaleByAdanState``); its
      update needs ``params``.

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
    _check_decays(fn, b1, b2, b3, eps)
    for arg, value in (("weight_decay", weight_decay), ("max_grad_norm", max_grad_norm)):
        _validate.check_nonnegative(fn, arg, value)
    return chain(_clip_global_norm(max_grad_norm, eps), scale_by_adan(b1, b2, b3, eps),
                 _adan_step(learning_rate, weight_decay, weight_decouple))
