r"""D-Adaptation AdamW: AdamW whose learning rate ``d`` is a lower bound on the distance to the solution.

With :math:`d_0` = ``estim_lr0``, :math:`\gamma_k` the schedule (1.0 by default),
:math:`\sqrt{\beta_2}` as the decay of the estimate's statistics, and the bias-corrected step
:math:`\lambda_k = d_k\gamma_k\sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})`:

.. math::

   r_{k+1} = \sqrt{\beta_2}\, r_k + (1-\sqrt{\beta_2})\,\lambda_k
             \Big\langle g_k, \frac{s_k}{\sqrt{v_k} + \epsilon}\Big\rangle, \qquad
   s_{k+1} = \sqrt{\beta_2}\, s_k + (1-\sqrt{\beta_2})\,\lambda_k g_k,

   m_{k+1} = \beta_1 m_k + (1-\beta_1)\lambda_k g_k, \qquad
   v_{k+1} = \beta_2 v_k + (1-\beta_2) g_k^2,

   d_{k+1} = \max\!\Big(d_k,\ \frac{r_{k+1}}{(1-\sqrt{\beta_2})\lVert s_{k+1}\rVert_1}\Big), \qquad
   x_{k+1} = x_k - \frac{m_{k+1}}{\sqrt{v_{k+1}} + \epsilon} - \lambda_k w\, x_k .

This is ``optax.contrib.dadapt_adamw`` (tested equal), which is the authors' ``DAdaptAdam``
(`facebookresearch/dadaptation <https://github.com/facebookresearch/dadaptation>`_) with
``decouple=True`` and ``use_bias_correction=True`` (tested equal to
``pytorch_optimizer.DAdaptAdam``, which follows it). The authors' class has the bias
correction off by default; optax always applies it and so does the zoo by default, with
optax's signature; the keyword-only ``use_bias_correction=False`` gives the authors' default.

One departure from optax, following the authors' code: a step whose :math:`\lVert s\rVert_1`
is 0 (every gradient so far exactly 0) is skipped (no move, ``d`` and the count unchanged),
as the authors' ``if sk_l1 == 0: return``; optax divides 0 by 0 and its NaN estimate
poisons every later step (``tests/reference/test_dadapt_adamw.py`` pins both).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import check_same_structure, tree_map, unzip
from ._prodigy import check_betas


class DAdaptAdamWState(NamedTuple):
    """State of ``dadapt_adamw`` (optax's fields): Adam's moments, the weighted gradient sum
    ``s``, the estimate ``d``, the weighted numerator ``r`` and the count."""

    exp_avg: Any
    exp_avg_sq: Any
    grad_sum: Any
    estim_lr: Any
    numerator_weighted: Any
    count: Any


def dadapt_adamw(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[Any, Any] = (0.9, 0.999),
    eps: Any = 1e-8,
    estim_lr0: Any = 1e-6,
    weight_decay: Any = 0.0,
    *,
    use_bias_correction: bool = True,
) -> GradientTransformation:
    r"""D-Adaptation AdamW: learning-rate-free AdamW (see the module docstring).

    Args:
      learning_rate: a multiplier of the estimated rate, >= 0, or a schedule (1.0 is the
        intended peak).
      betas: Adam's ``(b1, b2)``, each in [0, 1) (``b1`` may be a schedule of the step count).
      eps: Adam's ``eps``, >= 0.
      estim_lr0: the first estimate :math:`d_0`, > 0.
      weight_decay: decoupled weight decay (times the estimated rate), >= 0.
      use_bias_correction: Adam's bias correction on the step (optax: always; the authors'
        code: off by default).

    Returns:
      A ``GradientTransformation`` with state ``DAdaptAdamWState``; ``update`` needs ``params``.

    Raises:
      ValueError: for a bad argument, or when ``update`` is called without ``params``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.dadapt_adamw()
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(300):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(params)) < 0.1}, d > 0.1: {float(state.estim_lr) > 0.1}")
      13.0 -> True, d > 0.1: True

    References:
      Defazio & Mishchenko, `Learning-Rate-Free Learning by D-Adaptation
      <https://arxiv.org/abs/2301.07733>`_, ICML 2023.
    """
    fn = "dadapt_adamw"
    _validate.check_learning_rate(fn, learning_rate)
    beta1, b2 = check_betas(fn, betas)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_positive(fn, "estim_lr0", estim_lr0)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)

    def init_fn(params):
        dtype = _numerics.lowest_float_dtype(params)
        return DAdaptAdamWState(
            _numerics.zeros_like(params), _numerics.zeros_like(params), _numerics.zeros_like(params),
            jnp.asarray(estim_lr0, dtype), jnp.zeros([], dtype), _numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates)
        check_same_structure(fn, (updates, state.exp_avg, params), ("updates", "state.exp_avg", "params"))
        sb2 = b2**0.5
        d = state.estim_lr
        count_inc = _numerics.safe_increment(state.count)
        sched = _numerics.value_at(learning_rate, state.count)
        b1 = _numerics.value_at(beta1, state.count)
        bc = jnp.sqrt(1 - b2**count_inc) / (1 - b1**count_inc) if use_bias_correction else 1.0
        dlr = jnp.asarray(d * sched * bc).astype(state.numerator_weighted.dtype)
        s_weighted = tree_map(lambda s, v: s / (jnp.sqrt(v) + eps), state.grad_sum, state.exp_avg_sq,
                              where=fn, names=("state.grad_sum", "state.exp_avg_sq"))
        numerator_acum = _numerics.tree_vdot(updates, s_weighted)

        def moments(g, m, v, s):
            if not is_trained(g):
                return m, v, s
            return (b1 * m + (1 - b1) * dlr * g, b2 * v + (1 - b2) * g * g, sb2 * s + (1 - sb2) * dlr * g)

        exp_avg, exp_avg_sq, grad_sum = unzip(
            tree_map(moments, updates, state.exp_avg, state.exp_avg_sq, state.grad_sum, where=fn,
                     names=("updates", "state.exp_avg", "state.exp_avg_sq", "state.grad_sum")), 3)
        grad_sum_l1 = _numerics.tree_l1_norm(grad_sum)
        numerator = sb2 * state.numerator_weighted + (1 - sb2) * dlr * numerator_acum
        skip = grad_sum_l1 == 0  # the authors' code returns before moving (optax: 0/0)
        estimate = numerator / ((1 - sb2) * jnp.where(skip, 1, grad_sum_l1))
        d_new = jnp.where(skip, d, jnp.maximum(d, estimate))

        def step(m, v, p):
            if not is_trained(p):
                return jnp.zeros_like(p)
            u = -weight_decay * dlr * p - m / (jnp.sqrt(v) + eps)
            return jnp.where(skip, jnp.zeros_like(u), u).astype(p.dtype)

        out = tree_map(step, exp_avg, exp_avg_sq, params)
        keep = _numerics.keep_dtype
        return out, DAdaptAdamWState(
            keep(exp_avg, state.exp_avg), keep(exp_avg_sq, state.exp_avg_sq), keep(grad_sum, state.grad_sum),
            keep(d_new, d), keep(jnp.where(skip, state.numerator_weighted, numerator), state.numerator_weighted),
            jnp.where(skip, state.count, count_inc))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
