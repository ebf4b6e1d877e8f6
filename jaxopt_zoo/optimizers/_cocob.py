r"""COCOB-Backprop: learning-rate-free training by continuous coin betting.

Each coordinate bets a fraction of its "wealth" on the sign of the next negative gradient.
With :math:`g_t` the gradient, :math:`w_1` the start and, per coordinate,

.. math::

   L_t = \max(L_{t-1}, |g_t|), \qquad G_t = G_{t-1} + |g_t|, \qquad
   R_t = \max\big(R_{t-1} - g_t (w_t - w_1),\, 0\big), \qquad
   \theta_t = \theta_{t-1} - g_t,

   w_{t+1} = w_1 + \frac{\theta_t}{L_t \max(G_t + L_t,\ \alpha L_t)}\,(L_t + R_t),

with :math:`L_0 = \epsilon`, :math:`G_0 = R_0 = \theta_0 = 0` (Algorithm 2 of the paper;
its :math:`L_0 = 0` becomes ``eps`` so that a coordinate whose gradients are all zero does
not divide by zero). The update returned is :math:`w_{t+1} - w_t`.

This is ``optax.contrib.cocob``/``scale_by_cocob`` (tested equal). ``cocob`` multiplies the
gradients by ``learning_rate`` *before* the betting, as optax does; the rule is invariant to
a constant factor on all gradients (up to ``eps``), so only a changing schedule matters.
``weight_decay * w`` is added to the gradient first (an L2 penalty).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map, unzip
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._weight_decay import add_decayed_weights


class COCOBState(NamedTuple):
    """State of ``scale_by_cocob`` (optax's ``COCOBState``)."""

    init_particles: Any  # w_1
    cumulative_gradients: Any  # theta: the sum of the negative gradients
    scale: Any  # L: the largest |g| seen
    subgradients: Any  # G: the sum of |g|
    reward: Any  # R


def _check(fn: str, alpha: Any, eps: Any) -> None:
    _validate.check_positive(fn, "alpha", alpha)
    _validate.check_nonnegative(fn, "eps", eps)


def scale_by_cocob(alpha: Any = 100.0, eps: Any = 1e-8) -> GradientTransformation:
    r"""COCOB-Backprop's betting step (see module docstring): returns ``w_{t+1} - w_t``.

    Args:
      alpha: bounds the fraction bet in the first steps (``max(G + L, alpha L)``), > 0.
      eps: the start of the scale ``L``, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``COCOBState``; its update needs ``params``.

    Raises:
      ValueError: for a non-positive ``alpha`` or a negative ``eps``; at update, without
        ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_cocob()
      >>> p = {"w": jnp.array([1.0, 2.0])}
      >>> u, state = tx.update({"w": jnp.array([0.5, -2.0])}, tx.init(p), p)
      >>> print(u["w"].round(4))  # the first bet: -g / (alpha |g|) per coordinate
      [-0.01  0.01]

    References:
      Orabona & Tommasi, `Training Deep Networks without Learning Rates Through Coin Betting
      <https://arxiv.org/abs/1705.07795>`_, 2017.
    """
    fn = "scale_by_cocob"
    _check(fn, alpha, eps)

    def init_fn(params):
        zeros = _numerics.zeros_like(params)
        return COCOBState(
            init_particles=_numerics.copy_tree(params),
            cumulative_gradients=zeros,
            scale=_numerics.full_like(params, eps),
            subgradients=_numerics.zeros_like(params),
            reward=_numerics.zeros_like(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates, " (COCOB bets from the start point)")

        def leaf(g, w, w1, theta, big_l, big_g, r):
            if not is_trained(w):
                return g, theta, big_l, big_g, r
            big_l = jnp.maximum(big_l, jnp.abs(g))
            big_g = big_g + jnp.abs(g)
            r = jnp.maximum(r - g * (w - w1), 0)
            theta = theta - g
            new_w = w1 + theta / (big_l * jnp.maximum(big_g + big_l, alpha * big_l)) * (big_l + r)
            return (new_w - w).astype(w.dtype), theta, big_l, big_g, r

        out = tree_map(leaf, updates, params, state.init_particles, state.cumulative_gradients, state.scale,
                       state.subgradients, state.reward, where=fn,
                       names=("updates", "params", "state.init_particles", "state.cumulative_gradients",
                              "state.scale", "state.subgradients", "state.reward"))
        u, theta, big_l, big_g, r = unzip(out, 5)
        keep = _numerics.keep_dtype
        return u, COCOBState(state.init_particles, keep(theta, state.cumulative_gradients), keep(big_l, state.scale),
                             keep(big_g, state.subgradients), keep(r, state.reward))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def cocob(
    learning_rate: ScalarOrSchedule = 1.0,
    alpha: Any = 100.0,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    mask: Any | Callable[[Any], Any] | None = None,
) -> GradientTransformation:
    r"""COCOB-Backprop (see module docstring): no learning rate to tune.

    ``chain(add_decayed_weights(weight_decay, mask), <multiply by learning_rate>,
    scale_by_cocob(alpha, eps))``, as optax builds it.

    Args:
      learning_rate: a factor on the gradients (1.0) or a schedule; see module docstring.
      alpha, eps: as in ``scale_by_cocob``.
      weight_decay: the L2 penalty added to the gradient, >= 0.
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or weight decay, or a bad COCOB argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.cocob()
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(200):
      ...     updates, state = update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 0.1)
      True

    References:
      Orabona & Tommasi, `Training Deep Networks without Learning Rates Through Coin Betting
      <https://arxiv.org/abs/1705.07795>`_, 2017.
    """
    fn = "cocob"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, alpha, eps)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return chain(
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate, flip_sign=False),
        scale_by_cocob(alpha, eps),
    )
