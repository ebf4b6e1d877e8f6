r"""MoMo and MoMo-Adam: momentum with a Polyak-type step from a model of the loss.

The update takes the loss as ``update(grads, state, params, value=loss)``. With
:math:`f_k` the loss, :math:`g_k` its gradient at :math:`x_k`, :math:`f_*` a lower bound
(``lower_bound``), :math:`\alpha_k` the learning rate and :math:`\lambda` the weight decay,
MoMo keeps averages of the losses, gradients and :math:`\langle g, x\rangle`:

.. math::

   \bar f_k = \beta \bar f_{k-1} + (1-\beta) f_k, \quad
   d_k = \beta d_{k-1} + (1-\beta) g_k, \quad
   \gamma_k = \beta \gamma_{k-1} + (1-\beta) \langle g_k, x_k\rangle

(all three start at their first value: :math:`\beta` is 0 at the first step), and steps

.. math::

   \tau_k = \min\Big(\alpha_k,\ \frac{\big[(1+\alpha_k\lambda)(\bar f_k - f_* - \gamma_k)
            + \langle d_k, x_k\rangle\big]_+}{\|d_k\|^2}\Big), \qquad
   x_{k+1} = \frac{x_k - \tau_k d_k}{1 + \alpha_k\lambda}.

MoMo-Adam replaces :math:`\|d\|^2` by :math:`\langle d, D^{-1} d\rangle` and the step by
:math:`D^{-1} d` with Adam's :math:`D_k = \sqrt{v_k / (1-\beta_2^k)} + \epsilon`; its
averages start at zero (``b1`` from the first step), so :math:`f_*` is multiplied by
:math:`1-\beta_1^k` and the cap is :math:`\alpha_k / (1-\beta_1^k)`. With
``adapt_lower_bound`` the bound is estimated on the fly (the paper's :math:`f_*` estimate,
never below ``lower_bound``). A zero average direction (:math:`\|d\|^2` at most machine
epsilon) takes no gradient step.

**Where this departs from optax** (``optax.contrib.momo``/``momo_adam``): with
``weight_decay > 0`` optax divides only the parameters by :math:`1 + \alpha\lambda`,
:math:`x_{k+1} = x_k/(1+\alpha\lambda) - \tau_k d_k`; the authors' code (fabian-sp/MoMo,
``Momo.step`` and ``MomoAdam.step`` with the default ``divide=True``) divides the whole step,
:math:`x_{k+1} = (x_k - \tau_k d_k)/(1+\alpha\lambda)`, the proximal step of the paper's
model with the :math:`\tfrac{\lambda}{2}\|x\|^2` term. The zoo follows the authors (tested
against their rule, and against optax where the two agree: ``weight_decay=0``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import check_same_structure, tree_map


class MomoState(NamedTuple):
    """State of ``momo`` (optax's ``MomoState``)."""

    exp_avg: Any  # d
    barf: jax.Array  # \bar f
    gamma: jax.Array  # \gamma
    lb: jax.Array  # the lower bound in use
    count: jax.Array


class MomoAdamState(NamedTuple):
    """State of ``momo_adam`` (optax's ``MomoAdamState``)."""

    exp_avg: Any  # d
    exp_avg_sq: Any  # v
    barf: jax.Array
    gamma: jax.Array
    lb: jax.Array
    count: jax.Array


def _vdot(a: Any, b: Any) -> jax.Array:
    terms = [jnp.sum(x * y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]
    return sum(terms) if terms else jnp.zeros([])


def _need_value(fn: str, params: Any, updates: Any, value: Any, state: Any) -> None:
    check_same_structure(fn, [updates, state.exp_avg], ["updates", "state.exp_avg"])
    _validate.check_params(fn, params, updates, " (MoMo's model uses <g, x>)")
    if value is None:
        raise ValueError(f"{_validate.PREFIX}{fn}: update needs the loss value: call "
                         "tx.update(grads, state, params, value=loss) (jax.value_and_grad gives it).")


def _check(fn: str, learning_rate: Any, weight_decay: Any, adapt_lower_bound: Any) -> None:
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    if not isinstance(adapt_lower_bound, bool):
        _validate.fail(fn, "adapt_lower_bound", adapt_lower_bound, "must be True or False")


def _step(params, direction, precond, barf, gamma, lb, alpha, weight_decay, lower_bound, adapt, bc1, norm):
    """The shared Polyak-type step: returns (updates, new lower bound)."""
    iprod = _vdot(direction, params)
    shrink = 1 + alpha * weight_decay
    if adapt:
        cap = shrink * (barf - gamma) + iprod
        lb = jnp.where(cap < shrink * bc1 * lb, jnp.maximum(cap / (2 * bc1 * shrink), lower_bound), lb)
    t1 = jnp.maximum(shrink * (barf - bc1 * lb - gamma) + iprod, 0.0) / norm
    t1 = jnp.where(norm <= jnp.finfo(float).eps, 0.0, t1)
    tau = jnp.minimum(alpha / bc1, t1)
    decay, tau_s = alpha * weight_decay / shrink, tau / shrink  # (x - tau d) / shrink - x
    if precond is None:
        updates = jax.tree.map(lambda d, p: (-decay * p - tau_s * d).astype(p.dtype), direction, params)
    else:
        updates = jax.tree.map(lambda d, dk, p: (-decay * p - tau_s * d / dk).astype(p.dtype),
                               direction, precond, params)
    if adapt:
        lb = jnp.maximum(((barf + iprod - gamma) - 0.5 * tau * norm) / bc1, lower_bound)
    return updates, lb


def _scalars(params, lower_bound):
    dtype = _numerics.scalar_dtype(params)
    return jnp.zeros([], dtype), jnp.zeros([], dtype), jnp.asarray(lower_bound, dtype)


def momo(
    learning_rate: ScalarOrSchedule = 1.0,
    beta: Any = 0.9,
    lower_bound: Any = 0.0,
    weight_decay: Any = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    r"""MoMo: SGD with momentum and the step ``min(lr, Polyak-type term)``; update with ``value=loss``.

    See the module docstring for the rule (and the weight-decay step, which follows the
    authors' code rather than optax's).

    Args:
      learning_rate: the cap on the step size (1.0; the authors advise a large one), or a schedule.
      beta: the momentum of the averages, in [0, 1).
      lower_bound: a lower bound of the loss (0 for most losses).
      weight_decay: the decay rate, >= 0 (a proximal step).
      adapt_lower_bound: estimate the bound on the fly (never below ``lower_bound``).

    Returns:
      A ``GradientTransformation`` whose update needs ``params`` and ``value=`` (the loss).

    Raises:
      ValueError: for a bad argument; at update, without ``params`` or ``value``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum(x ** 2)
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.momo()
      >>> state = tx.init(params)
      >>> value, grads = jax.value_and_grad(f)(params)
      >>> updates, state = tx.update(grads, state, params, value=value)
      >>> print(f(zoo.apply_updates(params, updates)))  # the Polyak step halves the distance
      3.5

    References:
      Schaipp, Ohana, Eickenberg, Defazio & Gower, `MoMo: Momentum Models for Adaptive
      Learning Rates <https://arxiv.org/abs/2305.07583>`_, 2023; code: fabian-sp/MoMo.
    """
    fn = "momo"
    _check(fn, learning_rate, weight_decay, adapt_lower_bound)
    _validate.check_decay(fn, "beta", beta)

    def init_fn(params):
        barf, gamma, lb = _scalars(params, lower_bound)
        return MomoState(_numerics.zeros_like(params), barf, gamma, lb, _numerics.zero_count())

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        _need_value(fn, params, updates, value, state)
        count = state.count
        bt = jnp.where(count == 0, 0.0, beta)
        barf = bt * state.barf + (1 - bt) * jnp.asarray(value, state.barf.dtype)
        exp_avg = tree_map(lambda m, g: bt * m + (1 - bt) * g, state.exp_avg, updates, where=fn,
                           names=("state.exp_avg", "updates"))
        gamma = bt * state.gamma + (1 - bt) * _vdot(updates, params)
        alpha = _numerics.value_at(learning_rate, count)
        norm = _vdot(exp_avg, exp_avg)
        out, lb = _step(params, exp_avg, None, barf, gamma, state.lb, alpha, weight_decay, lower_bound,
                        adapt_lower_bound, 1.0, norm)
        keep = _numerics.keep_dtype
        new_state = MomoState(keep(exp_avg, state.exp_avg), keep(barf, state.barf), keep(gamma, state.gamma),
                              keep(lb, state.lb), _numerics.safe_increment(count))
        return out, new_state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def momo_adam(
    learning_rate: ScalarOrSchedule = 1e-2,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    lower_bound: Any = 0.0,
    weight_decay: Any = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    r"""MoMo-Adam: Adam with MoMo's adaptive step size; update with ``value=loss``.

    See the module docstring for the rule (and the weight-decay step, which follows the
    authors' code rather than optax's).

    Args:
      learning_rate: the cap on the step size (1e-2) or a schedule.
      b1, b2: Adam's decays, in [0, 1); ``b1`` also averages the losses and ``<g, x>``.
      eps: added to Adam's root, >= 0.
      lower_bound: a lower bound of the loss (0 for most losses).
      weight_decay: the decay rate, >= 0 (a proximal step).
      adapt_lower_bound: estimate the bound on the fly (never below ``lower_bound``).

    Returns:
      A ``GradientTransformation`` whose update needs ``params`` and ``value=`` (the loss).

    Raises:
      ValueError: for a bad argument; at update, without ``params`` or ``value``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum(x ** 2)
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.momo_adam(learning_rate=1.0)  # a large cap: the Polyak-type term decides
      >>> state = tx.init(params)
      >>> for _ in range(10):
      ...     value, grads = jax.value_and_grad(f)(params)
      ...     updates, state = tx.update(grads, state, params, value=value)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(f(params)) < 1.0)
      True

    References:
      Schaipp, Ohana, Eickenberg, Defazio & Gower, `MoMo: Momentum Models for Adaptive
      Learning Rates <https://arxiv.org/abs/2305.07583>`_, 2023; code: fabian-sp/MoMo.
    """
    fn = "momo_adam"
    _check(fn, learning_rate, weight_decay, adapt_lower_bound)
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)

    def init_fn(params):
        barf, gamma, lb = _scalars(params, lower_bound)
        return MomoAdamState(_numerics.zeros_like(params), _numerics.zeros_like(params), barf, gamma, lb,
                             _numerics.zero_count())

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        _need_value(fn, params, updates, value, state)
        count = state.count
        count_inc = _numerics.safe_increment(count)
        barf = b1 * state.barf + (1 - b1) * jnp.asarray(value, state.barf.dtype)
        exp_avg = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.exp_avg, updates, where=fn,
                           names=("state.exp_avg", "updates"))
        exp_avg_sq = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state.exp_avg_sq, updates, where=fn,
                              names=("state.exp_avg_sq", "updates"))
        bc2 = jnp.asarray(1 - b2**count_inc, barf.dtype)
        precond = jax.tree.map(lambda v: eps + jnp.sqrt(v / bc2), exp_avg_sq)
        norm = _vdot(exp_avg, jax.tree.map(lambda m, dk: m / dk, exp_avg, precond))
        gamma = b1 * state.gamma + (1 - b1) * _vdot(updates, params)
        alpha = _numerics.value_at(learning_rate, count)
        bc1 = jnp.asarray(1 - b1**count_inc, barf.dtype)
        out, lb = _step(params, exp_avg, precond, barf, gamma, state.lb, alpha, weight_decay, lower_bound,
                        adapt_lower_bound, bc1, norm)
        keep = _numerics.keep_dtype
        new_state = MomoAdamState(keep(exp_avg, state.exp_avg), keep(exp_avg_sq, state.exp_avg_sq),
                                  keep(barf, state.barf), keep(gamma, state.gamma), keep(lb, state.lb), count_inc)
        return out, new_state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
