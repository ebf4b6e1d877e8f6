"""Clipping updates: elementwise, per block, and by the global norm."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation


ClipState = EmptyState  # the state of ``clip``: optax's name, the very same class
ClipByGlobalNormState = EmptyState  # the state of ``clip_by_global_norm``: optax's name, the very same class


def _stateless(transform_tree) -> GradientTransformation:
    """A stateless transformation applying ``transform_tree`` to the whole update tree."""

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return transform_tree(updates), state

    return GradientTransformation(init_fn, update_fn)


def clip(max_delta: Any) -> GradientTransformation:
    """Clip every element of the updates to ``[-max_delta, max_delta]``.

    Args:
      max_delta: the largest magnitude kept, >= 0.

    Returns:
      A stateless ``GradientTransformation``.

    Raises:
      ValueError: if a concrete ``max_delta`` is negative.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.clip(1.0), zoo.sgd(0.1))
      >>> import jax.numpy as jnp
      >>> g = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(g, tx.init(g), g)
      >>> print([round(float(u), 6) for u in updates])
      [-0.1, 0.1]
    """
    _validate.check_nonnegative("clip", "max_delta", max_delta)
    return _packable.elementwise(_stateless(lambda u: jax.tree.map(lambda g: jnp.clip(g, -max_delta, max_delta), u)))


def clip_by_block_rms(threshold: Any) -> GradientTransformation:
    """Scale each leaf down so that its root mean square is at most ``threshold``.

    ``u <- u / max(1, rms(u) / threshold)`` leaf by leaf.

    Args:
      threshold: the largest RMS kept per leaf, > 0.

    Returns:
      A stateless ``GradientTransformation``.

    Raises:
      ValueError: if a concrete ``threshold`` is not positive.
    """
    _validate.check_positive("clip_by_block_rms", "threshold", threshold)

    def clip_leaf(u):
        return u / jnp.maximum(1.0, jnp.sqrt(jnp.mean(_numerics.abs_sq(u))) / threshold)

    return _packable.per_leaf(_stateless(lambda u: jax.tree.map(clip_leaf, u)), "clip_by_block_rms", "it clips each leaf by its own RMS")


def clip_by_global_norm(max_norm: Any) -> GradientTransformation:
    """Rescale all updates together so that their global L2 norm is at most ``max_norm``.

    ``u <- u * max_norm / ||u||`` when ``||u|| >= max_norm``, else ``u`` unchanged, where
    ``||u||`` is the norm of all leaves taken together (``global_norm``).

    Args:
      max_norm: the largest global norm kept, > 0.

    Returns:
      A stateless ``GradientTransformation``.

    Raises:
      ValueError: if a concrete ``max_norm`` is not positive.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.adam(1e-3))
      >>> import jax.numpy as jnp
      >>> g = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(g, tx.init(g), g)
      >>> print([round(float(u), 6) for u in updates])
      [-0.001, 0.001]

    References:
      Pascanu, Mikolov & Bengio, `On the difficulty of training recurrent neural networks
      <https://arxiv.org/abs/1211.5063>`_, 2013.
    """
    _validate.check_positive("clip_by_global_norm", "max_norm", max_norm)

    def clip_tree(updates):
        norm = _numerics.global_norm(updates)
        keep = jnp.squeeze(norm < max_norm)
        return jax.tree.map(lambda t: jax.lax.select(keep, t, ((t / norm.astype(t.dtype)) * max_norm).astype(t.dtype)), updates)

    return _packable.elementwise(_stateless(clip_tree))  # a global norm: the same on packed chunks
