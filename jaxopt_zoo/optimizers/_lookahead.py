r"""Lookahead and Ranger: fast weights explore, slow weights follow every ``k`` steps.

The inner optimizer moves the parameters (the *fast* weights) as usual; the state keeps
*slow* weights :math:`\phi`. Every ``sync_period`` steps

.. math::

   \phi \leftarrow \phi + \alpha\,(\theta - \phi), \qquad \theta \leftarrow \phi,

so the model you train and evaluate is always the ordinary ``params``. This equals
``optax.lookahead``'s fast parameters at every step. optax's form works too: give
``init``/``update`` a ``LookaheadParams(fast, slow)`` (the zoo's or optax's, e.g. from
``LookaheadParams.init_synced(params)``) and the update is a ``LookaheadParams`` of fast and
slow updates, exactly as ``optax.lookahead`` computes them; the slow weights then live in
the params and not in the state. Ranger is Lookahead over RAdam,
optionally with gradient centralization.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sys

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation, ScalarOrSchedule, chain, identity
from ._adam import _check_adam_args
from ._radam import radam


class LookaheadState(NamedTuple):
    """State of ``lookahead``."""

    inner_state: Any
    slow: Any  # the slow weights, like params (None when params are LookaheadParams)
    steps_since_sync: jax.Array  # int32

    @property
    def fast_state(self) -> Any:
        """optax's name for the inner (fast) optimizer's state."""
        return self.inner_state


class LookaheadParams(NamedTuple):
    """Fast and slow parameters for ``lookahead`` in optax's form.

    Take gradients at ``fast``; evaluate with ``slow``. ``optax.LookaheadParams`` is
    accepted as well.
    """

    fast: Any
    slow: Any

    @classmethod
    def init_synced(cls, params: Any) -> LookaheadParams:
        """A synchronised pair: ``slow`` is a copy of ``params`` (so a donated step can
        take both)."""
        return cls(fast=params, slow=jax.tree.map(jnp.copy, params))


def _is_pair(params: Any) -> bool:
    """Whether ``params`` are fast/slow pairs (the zoo's or optax's ``LookaheadParams``)."""
    if isinstance(params, LookaheadParams):
        return True
    optax = sys.modules.get("optax")  # no import: an optax pair implies optax is loaded
    return optax is not None and isinstance(params, getattr(optax, "LookaheadParams", ()))


def lookahead(
    fast_optimizer: GradientTransformation, sync_period: int = 5, slow_step_size: Any = 0.5, reset_state: bool = False
) -> GradientTransformation:
    r"""Lookahead around ``optimizer`` (see module docstring).

    Args:
      fast_optimizer: the inner (fast) optimizer.
      sync_period: ``k``, the steps between synchronisations, an integer >= 1.
      slow_step_size: the slow step size :math:`\alpha`, in [0, 1].
      reset_state: re-initialise the inner optimizer's state at each synchronisation.

    Returns:
      A ``GradientTransformation`` with state ``LookaheadState``; its update needs ``params``.

    Raises:
      ValueError: for a bad ``sync_period`` or ``slow_step_size``, or when ``params`` is
        missing.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.lookahead(zoo.sgd(0.1), sync_period=2, slow_step_size=0.5)
      >>> params = jnp.array([1.0])
      >>> state = tx.init(params)
      >>> for _ in range(2):
      ...     updates, state = tx.update(jax.grad(lambda p: jnp.sum(p**2))(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(params)
      [0.82]

    References:
      Zhang, Lucas, Hinton & Ba, `Lookahead Optimizer: k steps forward, 1 step back
      <https://arxiv.org/abs/1907.08610>`_, 2019.
    """
    _validate.check_int("lookahead", "sync_period", sync_period, lo=1)
    _validate.check_range("lookahead", "slow_step_size", slow_step_size, 0.0, 1.0)
    optimizer, alpha = fast_optimizer, slow_step_size

    def init_fn(params):
        if _is_pair(params):
            return LookaheadState(optimizer.init(params.fast), None, _numerics.zero_count())
        return LookaheadState(optimizer.init(params), _numerics.copy_tree(params), _numerics.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        _validate.check_params("lookahead", params, updates, " (the fast weights)")
        if _is_pair(params):
            return _pair_update(updates, state, params, **extra_args)
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

    def _pair_update(updates, state, params, **extra_args):
        # optax's form: the inner step at the fast weights; the update moves both.
        updates, inner_state = optimizer.update(updates, state.inner_state, params.fast, **extra_args)
        sync = state.steps_since_sync == sync_period - 1
        sync_f = sync.astype(jnp.result_type(float))
        diff = jax.tree.map(lambda f, u, s: f + u - s, params.fast, updates, params.slow)
        fast = jax.tree.map(lambda u, d: u - (sync_f * (1 - alpha) * d).astype(u.dtype), updates, diff)
        slow = jax.tree.map(lambda s, d: (alpha * sync_f * d).astype(s.dtype), params.slow, diff)
        if reset_state:
            fresh = optimizer.init(params.fast)
            inner_state = jax.tree.map(lambda cur, new: jnp.where(sync, new, cur), inner_state, fresh)
        steps = (state.steps_since_sync + 1) % sync_period
        return type(params)(fast=fast, slow=slow), LookaheadState(inner_state, None, steps.astype(jnp.int32))

    return _packable.composite(GradientTransformation(init_fn, update_fn), optimizer)


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

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "centralize_gradients", "it centres each leaf over its own axes")


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
