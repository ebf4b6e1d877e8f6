r"""SGD with the stochastic Polyak step size (SPS).

With :math:`f` the loss value passed to ``update(..., value=f)`` and :math:`f^\star` a lower
bound of the loss (``f_min``):

.. math::

   \gamma_t = \min\left\{\frac{f(p_t) - f^\star}{\|g_t\|^2 + \epsilon},\ \gamma_{\max}\right\}
   \quad (0 \text{ when } \|g_t\|^2 + \epsilon \le 2^{-52}), \qquad
   u_t = -\gamma_t\, g_t,

with the gap :math:`f - f^\star` replaced by its positive part for ``variant='sps+'``
(Garrigos et al. 2023). ``polyak_sgd`` scales this step by ``scaling``; the gradient norm is
the norm of the whole gradient tree.

How ``scaling`` enters (optax's placement, kept for parity): ``optax.polyak_sgd`` is
``chain(sgd(scaling), scale_by_polyak(...))``, so the Polyak step is computed from the
*scaled* gradient :math:`s\,g_t`: the update is
:math:`-s\,\min\{(f - f^\star)/(s^2\|g_t\|^2 + \epsilon), \gamma_{\max}\}\, g_t`, i.e. SPS_max
of Loizou et al. with :math:`c = s` below the cap (their :math:`\gamma = (f-f^\star)/(c\|g\|^2)`)
and :math:`s\gamma_{\max}` at the cap. Optax's docstring writes
:math:`s \min\{\ldots/\|g\|^2, \gamma_{\max}\}` instead; the two agree for the default
``scaling=1``. This module equals the optax code (tested), not that docstring.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation, ScalarOrSchedule, chain
from .._tree import is_none
from ._sgd import sgd

_VARIANTS = ("sps", "sps+")


def _check(fn: str, f_min: Any, max_learning_rate: Any, eps: Any, variant: str) -> None:
    _validate.check_nonnegative(fn, "max_learning_rate", max_learning_rate)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_choice(fn, "variant", variant, _VARIANTS)
    if _validate.concrete_float(f_min) is not None and not math.isfinite(_validate.concrete_float(f_min)):
        _validate.fail(fn, "f_min", f_min, "must be finite")


def scale_by_polyak(
    f_min: Any = 0.0, max_learning_rate: Any = 1.0, eps: Any = 0.0, variant: str = "sps"
) -> GradientTransformation:
    r"""Multiply the updates by the Polyak step ``min((f - f_min) / (||u||^2 + eps), max_learning_rate)``.

    Its update takes the loss value as the keyword-only ``value=`` (required).

    Args:
      f_min: a lower bound of the loss, :math:`f^\star`.
      max_learning_rate: the cap :math:`\gamma_{\max}`, >= 0.
      eps: added to the squared norm, >= 0.
      variant: ``'sps'`` or ``'sps+'`` (the gap's positive part).

    Returns:
      A stateless ``GradientTransformation``.

    Raises:
      ValueError: for a bad argument.
      TypeError: at update, when ``value`` is missing (as optax).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_polyak(max_learning_rate=10.0)
      >>> u, _ = tx.update(jnp.array([3.0, 4.0]), tx.init(None), value=5.0)
      >>> print(u)  # step (5 - 0) / 25 = 0.2
      [0.6 0.8]

    References:
      Loizou, Vaswani, Laradji & Lacoste-Julien, `Stochastic Polyak Step-size for SGD: An
      Adaptive Learning Rate for Fast Convergence <https://arxiv.org/abs/2002.10542>`_, 2021.
    """
    fn = "scale_by_polyak"
    _check(fn, f_min, max_learning_rate, eps, variant)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is None:
            # a missing required argument: TypeError, as Python (and optax) raise it
            raise TypeError(f"{_validate.PREFIX}{fn}: update needs the loss value: call "
                             "tx.update(grads, state, params, value=loss).")
        leaves = [x for x in jax.tree.leaves(updates, is_leaf=is_none) if x is not None]
        sq = jnp.array(sum(jnp.sum(_numerics.abs_sq(x)) for x in leaves))
        gap = jnp.array(value - f_min).astype(sq.dtype)
        if variant == "sps+":
            gap = jnp.maximum(gap, 0.0)
        step = jnp.where(sq + eps <= jnp.finfo(float).eps, jnp.array(0.0),
                         jnp.minimum(gap / (sq + eps), max_learning_rate))
        return jax.tree.map(lambda u: step * u, updates), state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def polyak_sgd(
    max_learning_rate: Any = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: Any = 0.0,
    eps: Any = 0.0,
    variant: str = "sps",
) -> GradientTransformation:
    r"""SGD with the Polyak step size (see module docstring); update with ``value=loss``.

    ``chain(sgd(scaling), scale_by_polyak(f_min, max_learning_rate, eps, variant))``, as optax.

    Args:
      max_learning_rate: the cap on the step, >= 0.
      scaling: a float >= 0 or a schedule multiplying the step (see the module docstring
        for where it enters).
      f_min: a lower bound of the loss (0 for models that interpolate the data).
      eps: added to the squared gradient norm, >= 0.
      variant: ``'sps'`` or ``'sps+'``.

    Returns:
      A ``GradientTransformation`` whose update takes the loss as ``value=`` (required).

    Raises:
      ValueError: for a bad argument.
      TypeError: at update, when ``value`` is missing (as optax).

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> loss = lambda p: jnp.sum((p - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.polyak_sgd()
      >>> state = tx.init(params)
      >>> for _ in range(20):
      ...     value, grads = jax.value_and_grad(loss)(params)
      ...     updates, state = tx.update(grads, state, params, value=value)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(params.round(4))
      [1. 1.]

    References:
      Loizou, Vaswani, Laradji & Lacoste-Julien, `Stochastic Polyak Step-size for SGD: An
      Adaptive Learning Rate for Fast Convergence <https://arxiv.org/abs/2002.10542>`_, 2021.
      Berrada, Zisserman & Kumar, `Training Neural Networks for and by Interpolation
      <https://arxiv.org/abs/1906.05661>`_, 2020.
      Garrigos, Gower & Schaipp, `Function Value Learning: Adaptive Learning Rates Based on
      the Polyak Stepsize and Function Splitting in ERM <https://arxiv.org/abs/2307.14528>`_, 2023.
    """
    fn = "polyak_sgd"
    _check(fn, f_min, max_learning_rate, eps, variant)
    _validate.check_learning_rate(fn, scaling, arg="scaling")
    return chain(sgd(scaling), scale_by_polyak(f_min, max_learning_rate, eps, variant))
