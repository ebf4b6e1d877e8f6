r"""PAdam: Adam with a partially adaptive denominator.

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

   p_t = p_{t-1} - \eta \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}
         \cdot \frac{m_t}{(\sqrt{v_t} + \epsilon)^{2q}},

with the partial exponent :math:`q \in (0, 1/2]` (``q = 1/2`` is Adam, ``q \to 0`` SGD with
momentum). Weight decay is L2 (added to the gradient) or, with ``weight_decouple``,
AdamW-style (``p <- p (1 - \eta\lambda)``, or ``1 - \lambda`` with ``fixed_decay``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import tree_map, unzip


class PAdamState(NamedTuple):
    """State of ``padam``."""

    count: jax.Array
    mu: Any
    nu: Any


def decayed(p, g, lr, weight_decay, weight_decouple: bool, fixed_decay: bool):
    """pytorch_optimizer's weight decay: shrink ``p`` (decoupled) or add ``wd * p`` to ``g``."""
    if weight_decouple:
        return p * (1.0 - weight_decay * (1.0 if fixed_decay else lr)), g
    return p, g + weight_decay * p


def padam(
    learning_rate: Any = 1e-1,
    b1: Any = 0.9,
    b2: Any = 0.999,
    partial: Any = 0.25,
    weight_decay: Any = 0.0,
    weight_decouple: bool = False,
    fixed_decay: bool = False,
    eps: Any = 1e-8,
) -> GradientTransformation:
    r"""PAdam (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule (default 0.1, as pytorch_optimizer).
      b1, b2: moment decays, in [0, 1).
      partial: the partial exponent :math:`q`, in (0, 0.5].
      weight_decay, weight_decouple, fixed_decay: the weight decay (see module docstring).
      eps: added to the root, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``PAdamState``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.padam(0.1, partial=0.125)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.992501, -1.987388]

    References:
      Chen et al., `Closing the Generalization Gap of Adaptive Gradient Methods in Training
      Deep Neural Networks <https://arxiv.org/abs/1806.06763>`_, 2020.
    """
    fn = "padam"
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_range(fn, "partial", partial, 0.0, 0.5, lo_open=True)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    _validate.check_nonnegative(fn, "eps", eps)

    def init_fn(params):
        return PAdamState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("padam", params, updates)
        count = _numerics.safe_increment(state.count)
        kf = count.astype(jnp.result_type(float))
        lr = _numerics.value_at(learning_rate, state.count)
        step_size = lr * jnp.sqrt(1 - b2**kf) / (1 - b1**kf)

        def leaf(g, p, m, v):
            new_p, g = decayed(p, g, lr, weight_decay, weight_decouple, fixed_decay)
            m = _numerics.lerp(m, g, 1.0 - b1)
            v = v * b2 + (1.0 - b2) * g * g
            denom = (jnp.sqrt(v) + eps) ** (partial * 2)
            new_p = new_p + (-step_size) * (m / denom)
            return (new_p - p).astype(p.dtype), m.astype(p.dtype), v.astype(p.dtype)

        out = tree_map(leaf, updates, params, state.mu, state.nu, where="padam",
                       names=("updates", "params", "state.mu", "state.nu"))
        updates, mu, nu = unzip(out, 3)
        return updates, PAdamState(count, mu, nu)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
