"""Applying a transformation to a subset of the parameters."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax

from .. import _packable, _validate
from .._base import GradientTransformation, _accepted_kwargs
from . import _tree_map_params


class MaskedState(NamedTuple):
    """State of ``masked``: the inner state, built on the masked-in leaves only."""

    inner_state: Any


class MaskedNode(NamedTuple):
    """Stands in for a masked-out leaf: an empty pytree node, so the inner transformation
    neither sees it nor keeps state for it."""


def _is_masked_node(x) -> bool:
    return isinstance(x, MaskedNode)


def _mask_is_callable(mask) -> bool:
    """optax's rule: ``mask`` is a function when every leaf of it is callable.

    A plain function is one callable leaf. A pytree that also defines ``__call__`` (an
    equinox Module holding booleans) has boolean leaves: it is a mask tree, not a function.
    """
    flags = jax.tree.leaves(jax.tree.map(callable, mask))
    return bool(flags) and all(flags)


def masked(
    inner: GradientTransformation,
    mask: Any | Callable[[Any], Any],
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Apply ``inner`` where ``mask`` is ``True``; elsewhere updates pass through unchanged.

    Args:
      inner: the transformation to apply to the masked-in leaves.
      mask: a pytree of booleans with the structure of the params, or a prefix of it (a
        ``True``/``False`` for a whole subtree), or a callable ``params -> such a tree``.
        As in optax, it is a callable when every leaf of it is callable: a pytree of
        booleans that also defines ``__call__`` (an equinox Module) is a mask tree.
      mask_compatible_extra_args: also mask the extra keyword arguments of ``update``
        whose tree structure is that of the updates (e.g. per-parameter tags), as optax.

    Returns:
      A ``GradientTransformation`` with state ``MaskedState``; the inner state holds
      nothing for masked-out leaves.

    Raises:
      ValueError: if the mask's structure is not a prefix of the updates' structure.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> mask = {"w": True, "b": False}
      >>> tx = zoo.masked(zoo.add_decayed_weights(1e-2), mask)
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([1.0])}
      >>> updates, state = tx.update(params, tx.init(params), params)  # the decay is added to w only
      >>> print({k: [round(float(u), 6) for u in v] for k, v in updates.items()})
      {'b': [1.0], 'w': [1.01, -2.02]}
    """
    keep_kwargs = _accepted_kwargs(inner.update)

    def mask_for(tree):
        return mask(tree) if _mask_is_callable(mask) else mask

    def apply_mask(tree, mask_tree):
        try:
            return jax.tree.map(lambda m, x: x if m else MaskedNode(), mask_tree, tree)
        except ValueError as e:
            raise ValueError(
                f"{_validate.PREFIX}masked: the mask's structure must be a prefix of the "
                f"updates' structure.\n  mask: {jax.tree.structure(mask_tree)}\n"
                f"  updates: {jax.tree.structure(tree)}"
            ) from e

    def mask_extra_args(extra_args, updates, mask_tree):
        if not mask_compatible_extra_args:
            return extra_args
        structure = jax.tree.structure(updates)
        return {
            k: apply_mask(v, mask_tree) if jax.tree.structure(v) == structure else v
            for k, v in extra_args.items()
        }

    def init_fn(params):
        if _tree_map_params.is_placeholder(params):  # ``tree_map_params`` asks where params go
            return MaskedState(inner_state=inner.init(params))
        return MaskedState(inner_state=inner.init(apply_mask(params, mask_for(params))))

    def update_fn(updates, state, params=None, **extra_args):
        mask_tree = mask_for(updates)
        inner_updates, inner_state = inner.update(
            apply_mask(updates, mask_tree),
            state.inner_state,
            None if params is None else apply_mask(params, mask_tree),
            **keep_kwargs(mask_extra_args(extra_args, updates, mask_tree)),
        )
        # Put the inner results back where the mask is True, the originals elsewhere.
        merged = jax.tree.map(
            lambda m, new, old: new if m else old,
            mask_tree,
            inner_updates,
            updates,
            is_leaf=_is_masked_node,
        )
        return merged, MaskedState(inner_state=inner_state)

    tx = GradientTransformation(init_fn, update_fn)
    if isinstance(mask, bool):  # one flag for the whole tree: the same on packed chunks
        return _packable.composite(tx, inner)
    return _packable.per_leaf(tx, "masked", "its mask picks leaves")
