"""Decoupled weight decay: adding ``weight_decay * params`` to the updates."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation
from .._tree import is_none, tree_map


AddDecayedWeightsState = EmptyState  # the state of ``add_decayed_weights``: optax's name, the very same class


def add_decayed_weights(weight_decay: Any = 0.0, mask: Any | Callable[[Any], Any] | None = None) -> GradientTransformation:
    """Add the decayed parameters to the updates: ``u <- u + weight_decay * p``.

    Placed before ``scale_by_learning_rate`` this is the decoupled weight decay of AdamW
    (the decay is multiplied by the learning rate, not by the adaptive preconditioner).

    Args:
      weight_decay: the decay rate, >= 0.
      mask: a pytree of booleans with the structure of the params (or a prefix of it), or
        a callable ``params -> such a tree``; decay is applied only where it is ``True``.
        The usual use is to exclude biases and normalisation scales.

    Returns:
      A stateless ``GradientTransformation`` (wrapped in ``masked`` when a mask is given).
      Its update needs ``params``.

    Raises:
      ValueError: if a concrete ``weight_decay`` is negative, or ``params`` is missing.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> no_bias = lambda p: {k: k != "b" for k in p}
      >>> tx = zoo.chain(zoo.scale_by_adam(), zoo.add_decayed_weights(1e-2, no_bias), zoo.scale(-1e-3))
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([1.0])}
      >>> updates, state = tx.update(params, tx.init(params), params)
      >>> print({k: [round(float(p), 6) for p in v] for k, v in zoo.apply_updates(params, updates).items()})
      {'b': [0.999], 'w': [0.99899, -1.99898]}

    References:
      Loshchilov & Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    _validate.check_nonnegative("add_decayed_weights", "weight_decay", weight_decay)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("add_decayed_weights", params, updates, " (the current parameters) to decay them")
        updates = tree_map(
            lambda g, p: None if g is None else g + weight_decay * p,
            updates,
            params,
            where="add_decayed_weights",
            names=("updates", "params"),
        )
        return updates, state

    tx = _packable.elementwise(GradientTransformation(init_fn, update_fn))
    if mask is None:
        return tx
    from ._masking import masked

    if isinstance(mask, bool):
        return masked(tx, mask)
    return _packable.per_leaf(masked(tx, mask), "add_decayed_weights with a mask", "it picks leaves; so does the `mask` of adamw, lion, ...")


def decayed_step(fn: str, learning_rate: Any, weight_decay: Any, new_param: Callable[..., Any],
                 skip_first: bool = False) -> GradientTransformation:
    """The last link of an optimizer written as torch writes it: the new parameter from the
    old one, ``p' = new_param(p, u, lr)``, returned as the update ``p' - p``.

    pytorch_optimizer's members decay and step in one expression (SOAP:
    ``(p - lr u)(1 - lr wd)``; Shampoo: ``p (1 - lr wd) - lr u``), which is not
    ``add_decayed_weights`` followed by ``scale_by_learning_rate`` in floating point. With
    ``weight_decay == 0`` (a concrete zero) the update is ``-lr u`` and ``params`` are not needed.

    Args:
      fn: the optimizer's name, for errors.
      learning_rate: a float or a schedule of the step count.
      weight_decay: the decay; a concrete ``0`` skips it.
      new_param: ``(p, u, lr) -> p'``.
      skip_first: with decay, the first update is zero (SOAP's first step only gathers
        statistics, and its decay waits too).
    """
    no_decay = isinstance(weight_decay, (int, float)) and weight_decay == 0.0

    def init_fn(params):
        del params
        return _numerics.zero_count()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        lr = _numerics.value_at(learning_rate, state)
        if not no_decay:
            _validate.check_params(fn, params, updates, " (for its weight decay)")

        def leaf(u, p):
            if u is None:
                return None
            if not _numerics.is_trained(u):
                return jnp.zeros_like(u)
            if no_decay:
                return (-lr * u).astype(u.dtype)
            step = new_param(p, u, lr) - p
            if skip_first:
                step = jnp.where(state == 0, jnp.zeros_like(u), step)
            return step.astype(u.dtype)

        out = jax.tree.map(leaf, updates, updates if no_decay else params, is_leaf=is_none)
        return out, _numerics.safe_increment(state)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
