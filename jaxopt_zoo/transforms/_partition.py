"""Parameter groups: a different transformation for each label."""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax

from .. import _packable, _validate
from .._base import GradientTransformation
from ._masking import masked


class MultiTransformState(NamedTuple):
    """State of ``multi_transform``: one inner state per label."""

    inner_states: Mapping[Any, Any]


def multi_transform(
    transforms: Mapping[Any, GradientTransformation],
    param_labels: Any | Callable[[Any], Any],
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Parameter groups: each leaf is updated by the transformation of its label.

    The PyTorch counterpart is an optimizer with several ``param_groups``.

    Args:
      transforms: a mapping ``label -> transformation``.
      param_labels: a pytree of labels with the structure of the params (or a prefix of
        it), or a callable ``params -> such a tree``.
      mask_compatible_extra_args: give each group's transformation only its leaves of the
        extra keyword arguments whose structure is that of the updates (optax's).

    Returns:
      A ``GradientTransformation`` with state ``MultiTransformState``.

    Raises:
      ValueError: if a label has no transformation.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.multi_transform(
      ...     {"train": zoo.adam(1e-3), "freeze": zoo.set_to_zero()},
      ...     {"encoder": "freeze", "head": "train"})
      >>> import jax.numpy as jnp
      >>> params = {"encoder": jnp.array([1.0, -2.0]), "head": jnp.array([1.0, -2.0])}
      >>> updates, state = tx.update(params, tx.init(params), params)
      >>> print({k: [round(float(p), 6) for p in v] for k, v in zoo.apply_updates(params, updates).items()})
      {'encoder': [1.0, -2.0], 'head': [0.999, -1.999]}
    """

    def labels_for(tree):
        return param_labels(tree) if callable(param_labels) else param_labels

    def check_labels(labels):
        missing = set(jax.tree.leaves(labels)) - set(transforms)
        if missing:
            _validate.fail(
                "multi_transform", "param_labels", sorted(missing, key=str),
                f"must only use labels that have a transformation ({sorted(transforms, key=str)})",
            )

    def group_masks(labels):
        return {
            group: jax.tree.map(lambda label, g=group: label == g, labels) for group in transforms
        }

    def init_fn(params):
        labels = labels_for(params)
        check_labels(labels)
        masks = group_masks(labels)
        return MultiTransformState(
            {group: masked(tx, masks[group], mask_compatible_extra_args=mask_compatible_extra_args).init(params)
             for group, tx in transforms.items()}
        )

    def update_fn(updates, state, params=None, **extra_args):
        labels = labels_for(updates)
        check_labels(labels)
        masks = group_masks(labels)
        new_states = {}
        for group, tx in transforms.items():
            updates, new_states[group] = masked(tx, masks[group], mask_compatible_extra_args=mask_compatible_extra_args).update(
                updates, state.inner_states[group], params, **extra_args
            )
        return updates, MultiTransformState(new_states)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "multi_transform", "its labels pick leaves")
