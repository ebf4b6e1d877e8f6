r"""SAM: sharpness-aware minimization, as a pair of alternating updates.

SAM minimises the loss in a neighbourhood: it first climbs to
:math:`\tilde p = p + \rho\, g/\|g\|` (the *adversarial* step), takes the gradient there,
and applies it from the original point :math:`p`. As a gradient transformation (optax's
*transparent* mode) this is ``sync_period`` consecutive updates: ``sync_period - 1``
adversarial steps (made by ``adv_optimizer``, the ascent), then one real step (made by
``optimizer`` with the last gradient, from the cached original parameters). The caller's
train step does not change: every call is ``grad -> update -> apply``.

In *opaque* mode one update makes the whole SAM step: it needs ``grad_fn=`` (a callable
``(params, i) -> grads``) to take the inner gradients itself.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation, apply_updates, chain
from ._sgd import sgd


NormalizeState = EmptyState  # the state of ``normalize``: optax's name, the very same class


class SAMState(NamedTuple):
    """State of ``sam``."""

    steps_since_sync: jax.Array
    opt_state: Any
    adv_state: Any
    cache: Any  # the parameters before the adversarial steps (None in opaque mode)


def normalize() -> GradientTransformation:
    """Divide the updates by their global norm (SAM's ascent direction ``g / ||g||``).

    Returns:
      A stateless ``GradientTransformation``.
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        norm = _numerics.global_norm(updates)
        return jax.tree.map(lambda g: g / norm.astype(g.dtype), updates), state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))  # a global norm


def sam(
    optimizer: GradientTransformation,
    adv_optimizer: GradientTransformation | None = None,
    sync_period: int = 2,
    reset_state: bool = True,
    opaque_mode: bool = False,
    batch_axis_name: str | None = None,
    *,
    rho: Any = 0.05,
) -> GradientTransformation:
    r"""Sharpness-aware minimization around ``optimizer`` (see module docstring).

    Args:
      optimizer: the outer optimizer making the real step.
      adv_optimizer: the ascent; ``None`` means SAM's ``chain(normalize(), sgd(rho))``
        (its update is negated, so an SGD "descent" climbs).
      sync_period: updates per SAM step (1 real + ``sync_period - 1`` adversarial), >= 1.
      reset_state: re-initialise ``adv_optimizer`` after each real step.
      opaque_mode: make the whole SAM step in one update (needs ``grad_fn=``).
      batch_axis_name: in opaque mode, ``pmean`` the inner gradients over this axis.
      rho: the neighbourhood radius of the default ``adv_optimizer``, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``SAMState``; its update needs ``params``
      (and ``grad_fn=`` in opaque mode).

    Raises:
      ValueError: for ``sync_period < 1`` or a negative ``rho``; in opaque mode when
        ``grad_fn`` is missing.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.sam(zoo.sgd(0.1, momentum=0.9), rho=0.05)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [1.022361, -2.044721]

    References:
      Foret, Kleiner, Mobahi & Neyshabur, `Sharpness-Aware Minimization for Efficiently
      Improving Generalization <https://arxiv.org/abs/2010.01412>`_, 2021.
    """
    _validate.check_int("sam", "sync_period", sync_period, lo=1)
    _validate.check_nonnegative("sam", "rho", rho)
    if adv_optimizer is None:
        adv_optimizer = chain(normalize(), sgd(rho))

    def init_fn(params):
        return SAMState(_numerics.zero_count(), optimizer.init(params), adv_optimizer.init(params), None if opaque_mode else _numerics.copy_tree(params))

    def pick(cond, if_true, if_false):
        return jax.tree.map(lambda t, f: jnp.where(cond, t, f), if_true, if_false)

    def transparent_update(updates, state, params=None, **extra_args):
        _validate.check_params("sam", params, updates)
        first = state.steps_since_sync == 0
        last = state.steps_since_sync == sync_period - 1
        adv_updates, adv_state = adv_optimizer.update(updates, state.adv_state, params)
        adv_updates = jax.tree.map(lambda x: -x, adv_updates)
        opt_updates, opt_state = optimizer.update(updates, state.opt_state, state.cache)
        # The real step starts from the cached parameters, not from the perturbed ones.
        opt_updates = jax.tree.map(lambda c, p, u: c - p + u, state.cache, params, opt_updates)
        cache = pick(first, params, state.cache)
        updates = pick(last, opt_updates, adv_updates)
        adv_state = pick(last, adv_optimizer.init(params), adv_state) if reset_state else pick(last, state.adv_state, adv_state)
        opt_state = pick(last, opt_state, state.opt_state)
        steps = ((state.steps_since_sync + 1) % sync_period).astype(jnp.int32)
        return updates, SAMState(steps, opt_state, adv_state, cache)

    def opaque_update(updates, state, params=None, *, grad_fn: Callable | None = None, **extra_args):
        if grad_fn is None:
            raise ValueError(f"{_validate.PREFIX}sam: in opaque mode, update needs `grad_fn=` "
                             "(a callable (params, i) -> grads).")
        _validate.check_params("sam", params, updates)
        adv_params, adv_updates, adv_state = params, updates, state.adv_state
        for i in range(sync_period - 1):
            adv_updates, adv_state = adv_optimizer.update(adv_updates, adv_state, adv_params)
            adv_params = apply_updates(adv_params, jax.tree.map(lambda x: -x, adv_updates))
            adv_updates = grad_fn(adv_params, i)
            if batch_axis_name is not None:
                adv_updates = jax.lax.pmean(adv_updates, axis_name=batch_axis_name)
        if reset_state:
            adv_state = adv_optimizer.init(params)
        updates, opt_state = optimizer.update(adv_updates, state.opt_state, params)
        return updates, SAMState(_numerics.zero_count(), opt_state, adv_state, None)

    tx = GradientTransformation(init_fn, opaque_update if opaque_mode else transparent_update)
    if opaque_mode:
        return _packable.per_leaf(tx, "sam(opaque_mode=True)", "its grad_fn takes the params tree")
    return _packable.composite(tx, optimizer, adv_optimizer)
