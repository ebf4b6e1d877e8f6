r"""Lookahead and Ranger: fast weights explore, slow weights follow every ``k`` steps.

The inner optimizer moves the parameters (the *fast* weights) as usual; the state keeps
*slow* weights :math:`\phi`. Every ``sync_period`` steps

.. math::

   \phi \leftarrow \phi + \alpha\,(\theta - \phi), \qquad \theta \leftarrow \phi,

so the model you train and evaluate is always the ordinary ``params``. This equals
``optax.lookahead``'s fast parameters at every step (optax carries both copies in a
``LookaheadParams(fast, slow)`` instead of the state). Ranger is Lookahead over RAdam,
optionally with gradient centralization.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import EmptyState, GradientTransformation, ScalarOrSchedule, chain, identity
from ._adam import _check_adam_args
from ._radam import radam


class LookaheadState(NamedTuple):
    """State of ``lookahead``."""

    inner_state: Any
    slow: Any  # the slow weights, like params
    steps_since_sync: jax.Array  # int32


def lookahead(optimizer: GradientTransformation, sync_period: int = 5, alpha: Any = 0.5, reset_state: bool = False) -> GradientTransformation:
    r"""Lookahead around ``optimizer`` (see module docstring).

    Args:
      optimizer: the inner (fast) optimizer.
      sync_period: ``k``, the steps between synchronisations, an integer >= 1.
      alpha: the slow step size :math:`\alpha`, in [0, 1].
      reset_state: re-initialise the inner optimizer's state at each synchronisation.

    Returns:
      A ``GradientTransformation`` with state ``LookaheadState``; its update needs ``params``.

    Raises:
      ValueError: for a bad ``sync_period`` or ``alpha``, or when ``params`` is missing.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.lookahead(zoo.adam(1e-3), sync_period=5, alpha=0.5)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.999]

    References:
      Zhang, Lucas, Hinton & Ba, `Lookahead Optimizer: k steps forward, 1 step back
      <https://arxiv.org/abs/1907.08610>`_, 2019.
    """
    _validate.check_int("lookahead", "sync_period", sync_period, lo=1)
    _validate.check_range("lookahead", "alpha", alpha, 0.0, 1.0)

    def init_fn(params):
        return LookaheadState(optimizer.init(params), jax.tree.map(lambda x: x, params), _numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        _validate.check_params("lookahead", params, updates, " (the fast weights)")
        updates, inner_state = optimizer.update(updates, state.inner_state, params, **extra_args)
        sync = state.steps_since_sync == sync_period - 1
        # diff: how far the fast weights would land from the slow ones. At a sync both end
        # at slow + alpha * diff (the fast update is shortened by (1 - alpha) * diff).
        sync_f = sync.astype(jnp.result_type(float))
        diff = jax.tree.map(lambda p, u, s: p + u - s, params, updates, state.slow)
        updates = jax.tree.map(lambda u, d: u - (sync_f * (1 - alpha) * d).astype(u.dtype), updates, diff)
        slow = jax.tree.map(lambda s, d: s + (alpha * sync_f * d).astype(s.dtype), state.slow, diff)
        if reset_state:
            fresh = optimizer.init(params)
            inner_state = jax.tree.map(lambda cur, new: jnp.where(sync, new, cur), inner_state, fresh)
        steps = (state.steps_since_sync + 1) % sync_period
        return updates, LookaheadState(inner_state, slow, steps.astype(jnp.int32))

    return GradientTransformation(init_fn, update_fn)


def centralize_gradients(keep_axis: int = -1) -> GradientTransformation:
    r"""Gradient centralization: subtract from each multi-dimensional leaf its mean over
    all axes but ``keep_axis``.

    ``g <- g - mean(g, axes != keep_axis)`` for leaves with ``ndim > 1``; scalars and
    vectors (biases, norms) pass unchanged. Flax kernels are ``(..., in, out)``, so the
    default keeps the last (output) axis; PyTorch weights are ``(out, in, ...)``: use
    ``keep_axis=0`` for torch-layout arrays.

    Args:
      keep_axis: the output-feature axis.

    Returns:
      A stateless ``GradientTransformation``.

    References:
      Yong et al., `Gradient Centralization: A New Optimization Technique for Deep Neural
      Networks <https://arxiv.org/abs/2004.01461>`_, 2020.
    """
    _validate.check_int("centralize_gradients", "keep_axis", keep_axis)

    def centre(g):
        if g is None or g.ndim <= 1:
            return g
        axes = tuple(a for a in range(g.ndim) if a != keep_axis % g.ndim)
        return g - jnp.mean(g, axis=axes, keepdims=True)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(centre, updates), state

    return GradientTransformation(init_fn, update_fn)


def ranger(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.95,
    b2: Any = 0.999,
    eps: Any = 1e-5,
    threshold: Any = 5.0,
    sync_period: int = 6,
    alpha: Any = 0.5,
    gradient_centralization: bool = False,
    gc_keep_axis: int = -1,
) -> GradientTransformation:
    r"""Ranger: ``lookahead(radam, sync_period=6, alpha=0.5)``, optionally centralizing gradients.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, threshold: RAdam's (Ranger's defaults: b1 0.95, eps 1e-5).
      sync_period, alpha: Lookahead's.
      gradient_centralization: centralize multi-dimensional gradients before RAdam.
      gc_keep_axis: the output axis kept by the centralization (-1 for Flax kernels).

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.ranger(1e-3, gradient_centralization=True)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.998]

    References:
      Wright, `Ranger: a synergistic optimizer
      <https://github.com/lessw2020/Ranger-Deep-Learning-Optimizer>`_, 2019; Liu et al., RAdam,
      2020; Zhang et al., Lookahead, 2019; Yong et al., Gradient Centralization, 2020.
    """
    _validate.check_learning_rate("ranger", learning_rate)
    _check_adam_args("ranger", b1, b2, eps, 0.0)
    _validate.check_nonnegative("ranger", "threshold", threshold)
    _validate.check_int("ranger", "sync_period", sync_period, lo=1)
    _validate.check_range("ranger", "alpha", alpha, 0.0, 1.0)
    return lookahead(
        chain(centralize_gradients(gc_keep_axis) if gradient_centralization else identity(),
              radam(learning_rate, b1, b2, eps, threshold=threshold)),
        sync_period,
        alpha,
    )
