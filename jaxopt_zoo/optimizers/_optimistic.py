r"""Optimistic gradient descent and optimistic Adam, for min-max games.

The generalized optimistic step uses the previous gradient as a prediction of the next:

.. math::

   u_t = (\alpha + \beta)\, g_t - \beta\, g_{t-1}, \qquad p_t = p_{t-1} - \eta_t u_t,

with :math:`g_0 = g_1` (the first step is plain gradient descent scaled by :math:`\alpha`);
:math:`\alpha = \beta = 1` is the classic :math:`2 g_t - g_{t-1}` of Popov / Daskalakis et al.
Optimistic Adam feeds Adam's direction :math:`r_t = \hat m_t / (\sqrt{\hat v_t +
\epsilon_{root}} + \epsilon)` (with Nesterov's :math:`\hat m_t` by default) through the same
step in place of :math:`g_t`.

These are ``optax.optimistic_gradient_descent``, ``optax.optimistic_adam_v2``,
``optax.optimistic_adam`` and ``optax.scale_by_optimistic_gradient`` (tested equal).
``optimistic_adam(learning_rate, optimism)`` is the older parametrisation of the same chain:
:math:`\alpha` = ``learning_rate``, :math:`\beta` = ``optimism`` (``learning_rate`` when
``None``, the paper's :math:`2 r_t - r_{t-1}` step) and a unit learning rate after it, so its
``learning_rate`` cannot be a schedule. As optax does, it warns (``DeprecationWarning``) in
favour of ``optimistic_adam_v2``, which takes one.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map
from ..transforms._scaling import scale_by_learning_rate
from ._adam import _check_adam_args, scale_by_adam
from ._alias import adaptive_alias


class ScaleByOptimisticGradientState(NamedTuple):
    """State of ``scale_by_optimistic_gradient``."""

    is_initial_step: jax.Array  # bool scalar
    previous_gradient: Any  # like params


def _check(fn: str, alpha: Any, beta: Any) -> None:
    for arg, value in (("alpha", alpha), ("beta", beta)):
        _validate.check_nonnegative(fn, arg, value)
        if callable(value):
            _validate.fail(fn, arg, value, "must be a number (a schedule is not supported, as in optax)")


def scale_by_optimistic_gradient(alpha: Any = 1.0, beta: Any = 1.0) -> GradientTransformation:
    r"""``u_t = (alpha + beta) g_t - beta g_{t-1}``, with ``g_0 = g_1`` (see module docstring).

    Args:
      alpha: the weight of the current gradient, >= 0.
      beta: the weight of the gradient difference (the "optimism"), >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByOptimisticGradientState``.

    Raises:
      ValueError: for a negative or non-numeric ``alpha`` or ``beta``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_optimistic_gradient()
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, 2.0]), state)
      >>> u, state = tx.update(jnp.array([3.0, 2.0]), state)
      >>> print(u)  # 2 g_2 - g_1
      [5. 2.]

    References:
      Mokhtari, Ozdaglar & Pattathil, `A Unified Analysis of Extra-gradient and Optimistic
      Gradient Methods for Saddle Point Problems: Proximal Point Approach
      <https://arxiv.org/abs/1901.08511>`_, 2019.
    """
    fn = "scale_by_optimistic_gradient"
    _check(fn, alpha, beta)

    def init_fn(params):
        return ScaleByOptimisticGradientState(jnp.array(True), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args

        def leaf(g, prev):
            prev = jnp.where(state.is_initial_step, g, prev)
            return (alpha + beta) * g - beta * prev

        out = tree_map(leaf, updates, state.previous_gradient, where=fn, names=("updates", "state.previous_gradient"))
        prev = _numerics.keep_dtype(updates, state.previous_gradient)
        return out, ScaleByOptimisticGradientState(jnp.array(False), prev)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def optimistic_gradient_descent(
    learning_rate: ScalarOrSchedule, alpha: Any = 1.0, beta: Any = 1.0
) -> GradientTransformation:
    r"""Optimistic gradient descent: ``p <- p - lr_t ((alpha + beta) g_t - beta g_{t-1})``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      alpha, beta: as in ``scale_by_optimistic_gradient``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate, ``alpha`` or ``beta``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> # the bilinear game min_x max_y x*y: gradient descent-ascent spirals out, OGD converges
      >>> grads = lambda z: jnp.array([z[1], -z[0]])
      >>> tx, z = zoo.optimistic_gradient_descent(0.1), jnp.array([1.0, 1.0])
      >>> state = tx.init(z)
      >>> for _ in range(1000):
      ...     u, state = tx.update(grads(z), state)
      ...     z = zoo.apply_updates(z, u)
      >>> print(float(jnp.linalg.norm(z)) < 0.1)
      True

    References:
      Mokhtari, Ozdaglar & Pattathil, `A Unified Analysis of Extra-gradient and Optimistic
      Gradient Methods for Saddle Point Problems: Proximal Point Approach
      <https://arxiv.org/abs/1901.08511>`_, 2019.
    """
    _validate.check_learning_rate("optimistic_gradient_descent", learning_rate)
    _check("optimistic_gradient_descent", alpha, beta)
    return adaptive_alias(scale_by_optimistic_gradient(alpha, beta), learning_rate)


def optimistic_adam_v2(
    learning_rate: ScalarOrSchedule,
    *,
    alpha: Any = 1.0,
    beta: Any = 1.0,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    nesterov: bool = True,
) -> GradientTransformation:
    r"""Optimistic Adam: Adam's direction through the optimistic step (see module docstring).

    ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
    scale_by_optimistic_gradient(alpha, beta), scale_by_learning_rate(learning_rate))``;
    optax's keyword-only signature and defaults (Nesterov on).

    Args:
      learning_rate: a float >= 0 or a schedule.
      alpha, beta: as in ``scale_by_optimistic_gradient``.
      b1, b2, eps, eps_root, mu_dtype, nesterov: as in ``scale_by_adam``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.optimistic_adam_v2(0.1)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, -4.0]), state)
      >>> print(u.round(3))  # the first step: lr * alpha * NAdam's direction (1.47 sign(g) at step 1)
      [-0.147  0.147]

    References:
      Daskalakis, Ilyas, Syrgkanis & Zeng, `Training GANs with Optimism
      <https://arxiv.org/abs/1711.00141>`_, 2018.
    """
    fn = "optimistic_adam_v2"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, alpha, beta)
    _check_adam_args(fn, b1, b2, eps, eps_root)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(alpha, beta),
        scale_by_learning_rate(learning_rate),
    )


def optimistic_adam(
    learning_rate: Any,
    optimism: Any | None = None,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    r"""Optimistic Adam, optax's first parametrisation: ``u_t = -lr r_t - optimism (r_t - r_{t-1})``.

    ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
    scale_by_optimistic_gradient(alpha=learning_rate, beta=optimism), scale_by_learning_rate(1.0))``,
    i.e. ``optimistic_adam_v2(1.0, alpha=learning_rate, beta=optimism, ...)``.

    Args:
      learning_rate: a float >= 0 (not a schedule: use ``optimistic_adam_v2`` for one).
      optimism: the weight of the change of direction, >= 0; ``None`` uses ``learning_rate``.
      b1, b2, eps, eps_root, mu_dtype, nesterov: as in ``scale_by_adam`` (Nesterov on, as optax).

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a schedule or a negative ``learning_rate``, or a bad argument.

    Warns:
      DeprecationWarning: always, as optax's: use ``optimistic_adam_v2`` instead.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.optimistic_adam(0.1, 1.0)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, -4.0]), state)
      >>> print(u.round(3))  # the first step: lr * NAdam's direction (1.47 sign(g) at step 1)
      [-0.147  0.147]

    References:
      Daskalakis, Ilyas, Syrgkanis & Zeng, `Training GANs with Optimism
      <https://arxiv.org/abs/1711.00141>`_, 2018.
    """
    fn = "optimistic_adam"
    warnings.warn("jaxopt_zoo.optimistic_adam is deprecated (as optax's): use `optimistic_adam_v2` instead, "
                  "e.g. optimistic_adam_v2(1.0, alpha=learning_rate, beta=optimism).", DeprecationWarning, stacklevel=2)
    if callable(learning_rate):
        _validate.fail(fn, "learning_rate", learning_rate,
                       "must be a float (a schedule is not supported, as in optax: use optimistic_adam_v2)")
    _validate.check_learning_rate(fn, learning_rate)
    if optimism is None:
        optimism = learning_rate
    _validate.check_nonnegative(fn, "optimism", optimism)
    if callable(optimism):
        _validate.fail(fn, "optimism", optimism, "must be a number (a schedule is not supported, as in optax)")
    _check_adam_args(fn, b1, b2, eps, eps_root)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(learning_rate, optimism),
        scale_by_learning_rate(1.0),
    )
