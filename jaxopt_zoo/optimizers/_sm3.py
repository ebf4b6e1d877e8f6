r"""SM3: Adagrad-like adaptivity with one accumulator per row, column, ... of each tensor.

For a leaf of rank :math:`k \ge 2`, SM3 keeps one vector :math:`\mu^{(i)}` per axis :math:`i`
(the cover of the paper's SM3-II by rows, columns, ...). At each step

.. math::

   \nu_t = \beta_2' \min_i \mu^{(i)}_{t-1}[\text{index}_i] + c\, g_t^2, \qquad
   \mu^{(i)}_t = \max_{\text{other axes}} \nu_t,

   d_t = g_t / \sqrt{\nu_t + \epsilon} \ (0 \text{ where } \nu_t = 0), \qquad
   m_t = \beta_1 m_{t-1} + (1-\beta_1) d_t, \qquad u_t = -\eta\, m_t,

with :math:`c = 1, \beta_2' = 1` for the paper's sum (``b2 = 1``, the default) and
:math:`c = 1 - \beta_2, \beta_2' = \beta_2` for an exponential average. A vector keeps one
accumulator per entry (plain Adagrad). Memory is the sum of the axis lengths instead of their
product.

This is ``optax.sm3``/``optax.scale_by_sm3`` (tested equal), including optax's momentum as an
EMA of the preconditioned gradient (``sm3(momentum=...)`` is ``b1``). One extension: a scalar
leaf is treated as a vector of length one, where optax raises an ``IndexError``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import check_same_structure, is_none
from ._alias import adaptive_alias


class ScaleBySM3State(NamedTuple):
    """State of ``scale_by_sm3``."""

    mu: Any  # per leaf a list: one accumulator vector per axis (one scalar for a scalar leaf)
    nu: Any  # the momentum of the preconditioned gradient, like params


def _axis_zeros(p: jax.Array) -> list:
    if p.ndim == 0:
        return [jnp.zeros([], p.dtype)]
    return [jnp.zeros((p.shape[i],), p.dtype) for i in range(p.ndim)]


def scale_by_sm3(b1: Any = 0.9, b2: Any = 1.0, eps: Any = 1e-8) -> GradientTransformation:
    r"""SM3's preconditioning and momentum (see module docstring).

    Args:
      b1: the momentum decay, in [0, 1).
      b2: 1 (the default) sums squared gradients as the paper does; below 1, an exponential
        average with this decay. In [0, 1].
      eps: added inside the root, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleBySM3State``.

    Raises:
      ValueError: for an argument out of range, or (at init) complex parameters.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_sm3(b1=0.0)
      >>> g = jnp.array([[1.0, 2.0], [0.5, 0.0]])
      >>> u, state = tx.update(g, tx.init(g))
      >>> print(u.round(3))  # the first step divides by |g|: signs, and 0 where g is 0
      [[1. 1.]
       [1. 0.]]
      >>> print(state.mu[0], state.mu[1])  # row and column maxima of g^2
      [4.   0.25] [1. 4.]

    References:
      Anil, Gupta, Koren & Singer, `Memory-Efficient Adaptive Optimization
      <https://arxiv.org/abs/1901.11150>`_, 2019.
    """
    fn = "scale_by_sm3"
    _validate.check_decay(fn, "b1", b1)
    _validate.check_range(fn, "b2", b2, 0.0, 1.0)
    _validate.check_nonnegative(fn, "eps", eps)
    b2_value = _validate.concrete_float(b2)

    def init_fn(params):
        for p in jax.tree.leaves(params):
            if jnp.iscomplexobj(p):
                _validate.fail(fn, "params", p.dtype, "must be real (SM3 does not support complex parameters)")
        mu = jax.tree.map(_axis_zeros, params)
        return ScaleBySM3State(mu, _numerics.zeros_like(params))

    def coefficients():
        if b2_value is not None:
            return (1.0 - b2 if b2_value != 1.0 else 1.0), b2
        return jnp.where(b2 == 1.0, 1.0, 1.0 - b2), b2  # traced b2

    def leaf(g, acc, m):
        c_new, c_old = coefficients()
        # flax.nnx keeps the list of a leaf's accumulators as a mapping {0: ..., 1: ...}
        acc = [acc[k] for k in sorted(acc)] if isinstance(acc, Mapping) else list(acc)
        if g.ndim < 2:
            old = acc[0]
        else:
            old = functools.reduce(jnp.minimum, [
                jnp.reshape(a, [1] * i + [g.shape[i]] + [1] * (g.ndim - i - 1)) for i, a in enumerate(acc)])
        nu = c_new * g**2 + c_old * old
        d = g * jnp.where(nu > 0, jax.lax.rsqrt(nu + eps), 0.0)
        m = (1 - b1) * d + b1 * m
        if g.ndim < 2:
            new_acc = [nu]
        else:
            new_acc = [jnp.max(nu, axis=tuple(j for j in range(g.ndim) if j != i)) for i in range(g.ndim)]
        new_acc = [a.astype(o.dtype) for a, o in zip(new_acc, acc)]
        return m, new_acc

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        check_same_structure(fn, (updates, state.nu), ("updates", "state.nu"))
        grads, treedef = jax.tree.flatten(updates, is_leaf=is_none)
        accs = treedef.flatten_up_to(state.mu)
        moms = jax.tree.leaves(state.nu, is_leaf=is_none)
        out = [(None, None) if g is None else leaf(g, a, m) for g, a, m in zip(grads, accs, moms)]
        nu = treedef.unflatten([o[0] for o in out])
        mu = treedef.unflatten([o[1] for o in out])
        return nu, ScaleBySM3State(mu, _numerics.keep_dtype(nu, state.nu))

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "scale_by_sm3", "its accumulators follow each leaf's axes")


def sm3(learning_rate: ScalarOrSchedule, momentum: Any = 0.9) -> GradientTransformation:
    r"""SM3: ``p <- p - lr * m`` with SM3's preconditioned momentum (see module docstring).

    ``chain(scale_by_sm3(b1=momentum), scale_by_learning_rate(learning_rate))``; optax's
    ``sm3`` takes only a float learning rate, this one a schedule as well.

    Args:
      learning_rate: a float >= 0 or a schedule.
      momentum: the momentum decay (``b1``), in [0, 1).

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a momentum outside [0, 1).

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([[1.0, 2.0], [3.0, 4.0]])
      >>> tx = zoo.sm3(0.5)
      >>> state = tx.init(params)
      >>> for _ in range(50):
      ...     updates, state = tx.update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 1.0)
      True

    References:
      Anil, Gupta, Koren & Singer, `Memory-Efficient Adaptive Optimization
      <https://arxiv.org/abs/1901.11150>`_, 2019.
    """
    _validate.check_learning_rate("sm3", learning_rate)
    _validate.check_decay("sm3", "momentum", momentum)
    return adaptive_alias(scale_by_sm3(momentum), learning_rate)
