r"""Adai: adaptive inertia — a per-coordinate momentum from the normalised second moment.

.. math::

   v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \qquad
   \hat v_t = v_t / (1 - \beta_2^t), \qquad \bar v_t = \max(\mathrm{mean}(\hat v_t), \epsilon)
   \text{ (over all parameters)},

   \beta_{1,t} = \operatorname{clip}\big(1 - \beta_0 (\hat v_t / \bar v_t)^{1/(3-2\delta)},\ 0,\ 1-\epsilon\big),
   \qquad m_t = \beta_{1,t} m_{t-1} + (1-\beta_{1,t})^{\delta} g_t,

   p_t = p_{t-1} - \eta\, \beta_0^{1-\delta}\, m_t / (1 - \textstyle\prod_{s\le t}\beta_{1,s}),

with :math:`\beta_0` = ``b0`` (0.1), :math:`\delta` = ``dampening`` (1). Coordinates with a
large second moment (sharp directions) get less momentum. Weight decay as in
pytorch_optimizer: before the moments, or (``stable_weight_decay``) after them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import check_same_structure, tree_map, unzip
from ._padam import decayed


class AdaiState(NamedTuple):
    """State of ``adai``."""

    count: jax.Array
    mu: Any
    nu: Any
    beta1_prod: Any  # running product of the per-coordinate momenta


def adai(
    learning_rate: Any = 1e-3,
    b0: Any = 0.1,
    b2: Any = 0.99,
    weight_decay: Any = 0.0,
    weight_decouple: bool = False,
    fixed_decay: bool = False,
    stable_weight_decay: bool = False,
    dampening: Any = 1.0,
    eps: Any = 1e-3,
) -> GradientTransformation:
    r"""Adai (see module docstring); ``b0, b2`` are pytorch_optimizer's ``betas``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b0: the inertia scale :math:`\beta_0`, in [0, 1).
      b2: the second-moment decay, in [0, 1).
      weight_decay, weight_decouple, fixed_decay, stable_weight_decay: the weight decay.
      dampening: :math:`\delta`, in [0, 1].
      eps: floor of the mean second moment and margin below 1 for the momentum, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``AdaiState``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adai(1e-3)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.998]

    References:
      Xie et al., `Adaptive Inertia: Disentangling the Effects of Adaptive Learning Rate and
      Momentum <https://arxiv.org/abs/2006.15815>`_, 2022.
    """
    fn = "adai"
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_decay(fn, "b0", b0)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    _validate.check_range(fn, "dampening", dampening, 0.0, 1.0)
    _validate.check_nonnegative(fn, "eps", eps)
    decay = _validate.concrete_float(weight_decay) != 0.0

    def init_fn(params):
        return AdaiState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params),
                         _numerics.full_like(params, 1.0))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("adai", params, updates)
        check_same_structure("adai", (updates, state.mu, params), ("updates", "state.mu", "params"))
        count = _numerics.safe_increment(state.count)
        bc2 = 1 - b2 ** count.astype(jnp.result_type(float))
        lr = _numerics.value_at(learning_rate, state.count)
        # First pass: decay (unless stable), second moments and their global mean.
        if decay and not stable_weight_decay:
            pairs = tree_map(lambda p, g: decayed(p, g, lr, weight_decay, weight_decouple, fixed_decay),
                             params, updates, where="adai", names=("params", "updates"))
            new_p, grads = unzip(pairs, 2)
        else:
            new_p, grads = params, updates
        nu = jax.tree.map(lambda v, g: v * b2 + (1.0 - b2) * g * g, state.nu, grads)
        leaves = [v for v, p in zip(jax.tree.leaves(nu), jax.tree.leaves(params))
                  if is_trained(p)]
        total = sum(jnp.sum(v) / bc2 for v in leaves)
        mean = jnp.maximum(total / max(sum(v.size for v in leaves), 1), eps)

        def leaf(p0, p, g, m, v, prod):
            if decay and stable_weight_decay:
                p, g = decayed(p, g, lr, weight_decay, weight_decouple, fixed_decay)
            v_hat = v / bc2
            beta1 = jnp.clip(1.0 - (v_hat / mean) ** (1.0 / (3.0 - 2.0 * dampening)) * b0, 0.0, 1.0 - eps)
            beta3 = (1.0 - beta1) ** dampening
            prod = prod * beta1
            m = m * beta1 + beta3 * g
            m_hat = m / (1.0 - prod) * b0 ** (1.0 - dampening)
            p = p + (-lr) * m_hat
            return (p - p0).astype(p0.dtype), m.astype(p0.dtype), prod.astype(p0.dtype)

        out = jax.tree.map(leaf, params, new_p, grads, state.mu, nu, state.beta1_prod)
        updates, mu, prod = unzip(out, 3)
        return updates, AdaiState(count, mu, _numerics.keep_dtype(nu, state.nu), prod)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
