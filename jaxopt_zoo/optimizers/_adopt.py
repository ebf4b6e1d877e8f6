r"""ADOPT: Adam whose second moment lags one step, so any β₂ converges.

With :math:`v_0 = g_0^2` taken at the first step (which makes no move) and for :math:`t \ge 1`:

.. math::

   \hat g_t = \operatorname{clip}\!\big(g_t / \max(\sqrt{v_{t-1}}, \epsilon),\ \pm c(t)\big), \qquad
   m_t = \beta_1 m_{t-1} + (1-\beta_1)\,\hat g_t,

   v_t = \beta_2 v_{t-1} + (1-\beta_2)\,g_t^2, \qquad p_t = p_{t-1} - \eta_t\, m_t,

where the clipping bound :math:`c(t) = t^{1/4}` (``clip_value_fn``, with ``use_clipping``) keeps the
early normalised gradients bounded. Normalising by the *previous* :math:`v` decorrelates it
from :math:`g_t`, which is what removes Adam's dependence on :math:`\beta_2` for convergence.
With ``nesterov``, the update is :math:`\beta_1 m_t + (1-\beta_1)\hat g_t` (optax's option).
This is ``optax.contrib.adopt``, which agrees with the authors' code (`iShohei220/adopt
<https://github.com/iShohei220/adopt>`_, ``src/adopt/adopt.py``): same first step, same
clipping schedule ``step**0.25``, same defaults. The authors' ``weight_decay`` (L2, or
decoupled with ``decouple=True``) is not in optax's signature: chain
``zoo.add_decayed_weights`` before (L2) or after ``scale_by_adopt`` (decoupled) for it.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import tree_map, unzip
from ._adam import ScaleByAdamState
from ._alias import adaptive_alias


def _quarter_power(count):
    return count**0.25


def scale_by_adopt(
    b1: Any = 0.9,
    b2: Any = 0.9999,
    eps: Any = 1e-6,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = _quarter_power,
) -> GradientTransformation:
    r"""ADOPT's direction :math:`m_t` (see the module docstring), without the learning rate.

    Args:
      b1: the first-moment decay, in [0, 1).
      b2: the second-moment decay, in [0, 1).
      eps: the floor of :math:`\sqrt{v}`, >= 0.
      mu_dtype: dtype of the first moment (``None``: the parameter's).
      nesterov: return :math:`\beta_1 m_t + (1-\beta_1)\hat g_t`.
      use_clipping: clip the normalised gradient to :math:`\pm` ``clip_value_fn(t)``.
      clip_value_fn: the clipping bound of the step count ``t`` (0 at the first update).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdamState``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_adopt()
      >>> g = jnp.array([1.0, -2.0])
      >>> u, state = tx.update(g, tx.init(g))  # the first step only records v = g^2
      >>> u, state = tx.update(g, state)
      >>> print([round(float(x), 4) for x in u])  # (1 - b1) * g / |g|
      [0.1, -0.1]

    References:
      Taniguchi et al., `ADOPT: Modified Adam Can Converge with Any beta2 with the Optimal Rate
      <https://arxiv.org/abs/2411.02853>`_, NeurIPS 2024.
    """
    fn = "scale_by_adopt"
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)
    mu_dtype = _numerics.canonical_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByAdamState(_numerics.zero_count(), _numerics.zeros_like(params, dtype=mu_dtype),
                                _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        started = state.count > 0
        b1_ = jnp.where(started, b1, 1)  # the first step: m stays 0 (no move) ...
        b2_ = jnp.where(started, b2, 0)  # ... and v becomes g^2
        clip = clip_value_fn(state.count) if use_clipping else None

        def leaf(g, m, v):
            normed = g / jnp.maximum(jnp.sqrt(v), eps)
            if clip is not None:
                normed = jnp.clip(normed, -clip, clip)
            m_new = (1 - b1_) * normed + b1_ * m
            out = (1 - b1_) * normed + b1_ * m_new if nesterov else m_new
            v_new = (1 - b2_) * _numerics.abs_sq(g) + b2_ * v
            return out.astype(g.dtype), m_new.astype(m.dtype), v_new.astype(v.dtype)

        out = tree_map(leaf, updates, state.mu, state.nu, where=fn, names=("updates", "state.mu", "state.nu"))
        u, mu, nu = unzip(out, 3)
        return u, ScaleByAdamState(_numerics.safe_increment(state.count), mu, nu)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def adopt(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.9999,
    eps: Any = 1e-6,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = _quarter_power,
) -> GradientTransformation:
    r"""ADOPT: ``p <- p - lr_t m_t`` with ADOPT's :math:`m_t` (see the module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, mu_dtype, nesterov, use_clipping, clip_value_fn: as in ``scale_by_adopt``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.adopt(0.1)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {f(params):.3f}")
      13.0 -> 0.000

    References:
      Taniguchi et al., `ADOPT: Modified Adam Can Converge with Any beta2 with the Optimal Rate
      <https://arxiv.org/abs/2411.02853>`_, NeurIPS 2024.
    """
    _validate.check_learning_rate("adopt", learning_rate)
    for arg, value in (("b1", b1), ("b2", b2)):
        _validate.check_decay("adopt", arg, value)
    _validate.check_nonnegative("adopt", "eps", eps)
    return adaptive_alias(
        scale_by_adopt(b1, b2, eps, mu_dtype, nesterov=nesterov, use_clipping=use_clipping, clip_value_fn=clip_value_fn),
        learning_rate)
