r"""``torch.optim.Adafactor``: factored second moments, a relative step size, update clipping.

With :math:`g` the gradient (negated when ``maximize``), step :math:`k \ge 1`, the lr
:math:`\eta_k`, a leaf :math:`p` of :math:`n` elements and :math:`\epsilon_1` (``eps[0]``,
the params' machine epsilon when None), :math:`\epsilon_2` (``eps[1]``):

.. math::

   \hat\beta_k = k^{\text{beta2\_decay}}, \qquad \rho_k = \min(\eta_k, 1/\sqrt{k}), \qquad
   \alpha_k = \max\big(\epsilon_2, \lVert p_{k-1} \rVert_2 / \sqrt{n}\big)\, \rho_k.

A leaf of two or more dimensions keeps the row and column means of :math:`g^2` over its last
two axes (:math:`R \leftarrow \text{lerp}(R, \overline{g^2}_{\text{row}}, \hat\beta_k)`, same
for :math:`C`) and estimates :math:`V = R C / \max(\text{mean}(R), \epsilon_1)`; any other
leaf keeps the full :math:`V \leftarrow \text{lerp}(V, g^2, \hat\beta_k)`. Then

.. math::

   u = g / \sqrt{\max(V, \epsilon_1^2)}, \qquad
   p_k = p_{k-1}(1 - \eta_k \lambda) - \frac{\alpha_k}{\max(1, \lVert u \rVert_2 / (\sqrt{n}\, d))}\, u.

This is torch's variant (Adafactor without first moment and with torch's own choices: the
relative step :math:`\min(\eta, 1/\sqrt{k})`, RMS clipping by ``d``, decoupled weight decay by
the raw lr), not optax's ``adafactor`` (``zoo.adafactor``), whose defaults and scaling differ.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation, chain
from .._tree import tree_map, unzip
from . import _common
from ._groups import with_param_groups

_FN = "torch_compat.Adafactor"


class ScaleByTorchAdafactorState(NamedTuple):
    """State of ``torch_adafactor_step``; an entry a leaf does not use is an empty array."""

    count: jax.Array  # torch's ``state['step']``
    row_var: Any  # torch's ``state['row_var']`` (leaves of 2+ dims): shape ``(..., R, 1)``
    col_var: Any  # torch's ``state['col_var']`` (leaves of 2+ dims): shape ``(..., 1, C)``
    variance: Any  # torch's ``state['variance']`` (leaves of 0 or 1 dims)


def _empty(x):
    return jnp.zeros((0,), x.dtype)


def torch_adafactor_step(lr: Any, beta2_decay: Any = -0.8, eps1: Any = None, eps2: Any = 1e-3, d: Any = 1.0,
                         weight_decay: Any = 0.0) -> GradientTransformation:
    """torch's Adafactor step (module docstring); the output is ``p_k - p_{k-1}``.

    Args:
      lr: the lr of this step.
      beta2_decay, eps1, eps2, d, weight_decay: as in ``Adafactor`` (``eps1`` None: each
        leaf's machine epsilon).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByTorchAdafactorState``; its update needs
      ``params``.
    """

    def init_fn(params):
        def factors(x):
            if x.ndim > 1:
                return (jnp.zeros(x.shape[:-1] + (1,), x.dtype), jnp.zeros(x.shape[:-2] + (1, x.shape[-1]), x.dtype),
                        _empty(x))
            return _empty(x), _empty(x), jnp.zeros_like(x)

        row, col, var = unzip(jax.tree.map(factors, params), 3)
        return ScaleByTorchAdafactorState(_numerics.zero_count(), row, col, var)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(_FN, params, updates, " (Adafactor scales by the params' norm)")
        count = _numerics.safe_increment(state.count)
        dt = jnp.result_type(lr, float)  # torch's Python doubles (float64 under x64)
        k = count.astype(dt)
        one_minus_beta2 = k**beta2_decay
        rho = jnp.minimum(jnp.asarray(lr, dt), 1 / jnp.sqrt(k))

        def leaf(g, p, row, col, var):
            e1 = jnp.finfo(p.dtype).eps if eps1 is None else eps1
            w = one_minus_beta2.astype(g.dtype)
            alpha = jnp.maximum(eps2, jnp.linalg.norm(p).astype(dt) / jnp.sqrt(float(p.size))) * rho
            if g.ndim > 1:
                row = _numerics.lerp(row, jnp.square(jnp.linalg.norm(g, axis=-1, keepdims=True)) / g.shape[-1], w)
                col = _numerics.lerp(col, jnp.square(jnp.linalg.norm(g, axis=-2, keepdims=True)) / g.shape[-2], w)
                v_hat = (row * col) / jnp.maximum(jnp.mean(row, axis=-2, keepdims=True), e1)
            else:
                var = _numerics.lerp(var, g * g, w)
                v_hat = var
            u = jax.lax.rsqrt(jnp.maximum(v_hat, e1 * e1)) * g
            denom = jnp.maximum(1.0, jnp.linalg.norm(u).astype(dt) / (jnp.sqrt(float(u.size)) * d))
            new_p = p
            if not _common.is_zero(weight_decay):
                new_p = p * (1 - lr * weight_decay).astype(p.dtype)
            new_p = new_p + (-alpha / denom).astype(p.dtype) * u
            return new_p - p, row, col, var

        out, row, col, var = unzip(tree_map(leaf, updates, params, state.row_var, state.col_var, state.variance,
                                            where=_FN, names=("updates", "params", "state.row_var", "state.col_var",
                                                              "state.variance")), 4)
        new = ScaleByTorchAdafactorState(count, *(_numerics.keep_dtype(t, o) for t, o in
                                                 ((row, state.row_var), (col, state.col_var), (var, state.variance))))
        return out, new

    return GradientTransformation(init_fn, update_fn)


@with_param_groups(_FN)
def Adafactor(lr: Any = 1e-2, beta2_decay: float = -0.8, eps: tuple = (None, 1e-3), d: float = 1.0,
              weight_decay: float = 0.0, *, foreach: Any = None, maximize: bool = False) -> GradientTransformation:
    r"""``torch.optim.Adafactor`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``; the relative step is
        ``min(lr, 1/sqrt(k))``.
      beta2_decay: the second-moment weight at step k is ``k ** beta2_decay``, <= 0.
      eps: ``(eps1, eps2)``: ``eps1`` (>= 0, or None for the params' machine epsilon) bounds
        the second moment, ``eps2`` (>= 0) the params' RMS in the step size.
      d: the RMS clipping threshold of the update, >= 1.
      weight_decay: decoupled decay ``p <- p (1 - lr * weight_decay)``, >= 0.
      maximize: ascend the objective.
      foreach: accepted and ignored.

    Returns:
      A ``GradientTransformation`` whose update needs ``params``.

    Raises:
      ValueError: for a negative lr, eps or weight decay, a positive beta2_decay or d < 1.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Adafactor(lr=1e-2)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.5, -0.5])}
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> new = zoo.apply_updates(params, updates)
      >>> print([round(float(p), 5) for p in new["w"].ravel()], [round(float(p), 5) for p in new["b"]])
      [0.97322, -1.98339, 0.49016, 2.98169] [0.495, -0.495]

    References:
      Shazeer & Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.
    """
    del foreach
    _common.check_lr(_FN, lr)
    if callable(beta2_decay):
        _validate.fail(_FN, "beta2_decay", beta2_decay, "must be a float (not a schedule)", TypeError)
    _validate.check_range(_FN, "beta2_decay", beta2_decay, hi=0.0)
    if not isinstance(eps, (tuple, list)) or len(eps) != 2:
        _validate.fail(_FN, "eps", eps, "must be a pair (eps1 or None, eps2)")
    if eps[0] is not None:
        _common.check_constant(_FN, "eps[0]", eps[0])
    _common.check_constant(_FN, "eps[1]", eps[1])
    _common.check_constant(_FN, "d", d, lo=1.0)
    _common.check_constant(_FN, "weight_decay", weight_decay)

    def core(h):
        return chain(*_common.grad_prelude(maximize), torch_adafactor_step(h["lr"], beta2_decay, eps[0], eps[1], d, weight_decay))

    return _common.make({"lr": lr}, core, per_leaf=(_FN, "its factored moments and RMS clipping follow each leaf"))
