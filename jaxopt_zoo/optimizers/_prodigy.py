r"""Prodigy: AdamW whose learning rate ``d`` estimates the distance to the solution.

With :math:`d_0` = ``estim_lr0``, :math:`\gamma_k` the learning-rate schedule (1.0 by default),
:math:`\beta_3 = \sqrt{\beta_2}` unless given, and the Adam bias correction folded into the
step :math:`\lambda_k = d_k\gamma_k\sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})`:

.. math::

   m_{k+1} = \beta_1 m_k + (1-\beta_1) d_k g_k, \qquad
   v_{k+1} = \beta_2 v_k + (1-\beta_2) d_k^2 g_k^2,

   r_{k+1} = \beta_3 r_k + \tfrac{d_k}{d_0}\lambda_k \langle g_k, x_0 - x_k\rangle, \qquad
   s_{k+1} = \beta_3 s_k + \tfrac{d_k}{d_0}\lambda_k g_k,

   d_{k+1} = \max\!\big(d_k,\ c\, r_{k+1} / \lVert s_{k+1}\rVert_1\big), \qquad
   x_{k+1} = x_k - \lambda_k\Big(\frac{m_{k+1}}{\sqrt{v_{k+1}} + d_{k+1}\epsilon} + w\, x_k\Big),

where :math:`c` is ``estim_lr_coef`` and :math:`w` the decoupled weight decay. With
``safeguard_warmup`` the :math:`s` update uses :math:`d_k` in place of :math:`\lambda_k`.

This is ``optax.contrib.prodigy`` (tested equal), which is the authors' PyTorch code
(`konstmish/prodigy <https://github.com/konstmish/prodigy>`_, ``Prodigy``) with
``use_bias_correction=True`` and decoupled weight decay (tested equal to
``pytorch_optimizer.Prodigy(bias_correction=True)``, which follows it). The authors' class
turns the bias correction off by default (:math:`\lambda_k = d_k\gamma_k`); optax has no
switch for it and always corrects, and so does the zoo by default, with optax's signature; the
keyword-only ``use_bias_correction=False`` gives the authors' default.

One departure from optax, following the authors' code: a step whose accumulated
:math:`\lVert s\rVert_1` is 0 (every gradient so far exactly 0) is skipped: no move, ``d``
and the step count unchanged, as the authors' ``if d_denom == 0: return``. optax divides
0 by 0 there and the NaN estimate poisons every later step
(``tests/reference/test_prodigy.py`` pins both).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map, unzip


class ProdigyState(NamedTuple):
    """State of ``prodigy`` (optax's fields): Adam's moments of ``d g``, the weighted gradient
    sum ``s``, the start point, the estimate ``d``, the weighted numerator ``r`` and the count."""

    exp_avg: Any
    exp_avg_sq: Any
    grad_sum: Any
    params0: Any
    estim_lr: Any
    numerator_weighted: Any
    count: Any


def check_betas(fn: str, betas: Any) -> tuple:
    """``betas`` as ``(b1, b2)``, each in [0, 1) (the error names ``betas[i]``)."""
    b1, b2 = betas
    _validate.check_decay(fn, "betas[0]", b1)
    _validate.check_decay(fn, "betas[1]", b2)
    return b1, b2


def prodigy(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[Any, Any] = (0.9, 0.999),
    beta3: Any = None,
    eps: Any = 1e-8,
    estim_lr0: Any = 1e-6,
    estim_lr_coef: Any = 1.0,
    weight_decay: Any = 0.0,
    safeguard_warmup: bool = False,
    *,
    use_bias_correction: bool = True,
) -> GradientTransformation:
    r"""Prodigy: learning-rate-free AdamW (see the module docstring).

    Args:
      learning_rate: a multiplier of the estimated rate, >= 0, or a schedule (1.0 is the
        intended peak).
      betas: Adam's ``(b1, b2)``, each in [0, 1) (``b1`` may be a schedule of the step count).
      beta3: decay of the estimate's statistics, in [0, 1) (``None``: ``sqrt(b2)``).
      eps: Adam's ``eps`` (scaled by ``d``), >= 0.
      estim_lr0: the first estimate :math:`d_0`, > 0.
      estim_lr_coef: a multiplier of each estimate, >= 0.
      weight_decay: decoupled weight decay (times the estimated rate), >= 0.
      safeguard_warmup: leave the learning rate out of ``s`` (for warm-up schedules).
      use_bias_correction: Adam's bias correction on the step (optax: always; the authors'
        code: off by default).

    Returns:
      A ``GradientTransformation`` with state ``ProdigyState``; ``update`` needs ``params``.

    Raises:
      ValueError: for a bad argument, or when ``update`` is called without ``params``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.prodigy()
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(200):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(params)) < 0.1}, d > 0.1: {float(state.estim_lr) > 0.1}")
      13.0 -> True, d > 0.1: True

    References:
      Mishchenko & Defazio, `Prodigy: An Expeditiously Adaptive Parameter-Free Learner
      <https://arxiv.org/abs/2306.06101>`_, ICML 2024.
    """
    fn = "prodigy"
    _validate.check_learning_rate(fn, learning_rate)
    beta1, b2 = check_betas(fn, betas)
    if beta3 is not None:
        _validate.check_decay(fn, "beta3", beta3)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_positive(fn, "estim_lr0", estim_lr0)
    _validate.check_nonnegative(fn, "estim_lr_coef", estim_lr_coef)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    b3 = b2**0.5 if beta3 is None else beta3

    def init_fn(params):
        dtype = _numerics.lowest_float_dtype(params)
        return ProdigyState(
            _numerics.zeros_like(params), _numerics.zeros_like(params), _numerics.zeros_like(params),
            _numerics.copy_tree(params), jnp.asarray(estim_lr0, dtype), jnp.zeros([], dtype), _numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates)
        d = state.estim_lr
        count_inc = _numerics.safe_increment(state.count)
        sched = _numerics.value_at(learning_rate, state.count)
        b1 = _numerics.value_at(beta1, state.count)
        bc = jnp.sqrt(1 - b2**count_inc) / (1 - b1**count_inc) if use_bias_correction else 1.0
        dlr = jnp.asarray(d * sched * bc, d.dtype)
        diff = tree_map(lambda p0, p: p0 - p if is_trained(p) else p0, state.params0, params,
                        where=fn, names=("state.params0", "params"))
        numerator = b3 * state.numerator_weighted + (d / estim_lr0) * dlr * _numerics.tree_vdot(updates, diff)
        s_scale = d if safeguard_warmup else dlr

        def moments(g, m, v, s):
            if not is_trained(g):
                return m, v, s
            dg = d * g
            return (b1 * m + (1 - b1) * dg, b2 * v + (1 - b2) * dg * dg, b3 * s + s_scale * dg / estim_lr0)

        exp_avg, exp_avg_sq, grad_sum = unzip(
            tree_map(moments, updates, state.exp_avg, state.exp_avg_sq, state.grad_sum, where=fn,
                     names=("updates", "state.exp_avg", "state.exp_avg_sq", "state.grad_sum")), 3)
        denominator = _numerics.tree_l1_norm(grad_sum)
        skip = denominator == 0  # the authors' code returns before moving (optax: 0/0)
        estimate = estim_lr_coef * numerator / jnp.where(skip, 1, denominator)
        d_new = jnp.where(skip, d, jnp.maximum(d, estimate))

        def step(m, v, p):
            if not is_trained(p):
                return jnp.zeros_like(p)
            u = -weight_decay * dlr * p - dlr * m / (jnp.sqrt(v) + d_new * eps)
            return jnp.where(skip, jnp.zeros_like(u), u).astype(p.dtype)

        out = tree_map(step, exp_avg, exp_avg_sq, params)
        keep = _numerics.keep_dtype
        return out, ProdigyState(
            keep(exp_avg, state.exp_avg), keep(exp_avg_sq, state.exp_avg_sq), keep(grad_sum, state.grad_sum),
            state.params0, keep(d_new, d), keep(numerator, state.numerator_weighted),
            jnp.where(skip, state.count, count_inc))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
