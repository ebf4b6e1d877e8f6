"""Decoupled weight decay: adding ``weight_decay * params`` to the updates."""

from __future__ import annotations

from typing import Any, Callable


from .. import _packable, _validate
from .._base import EmptyState, GradientTransformation
from .._tree import tree_map


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
