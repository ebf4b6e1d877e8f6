"""Combining transformations: by name (``named_chain``), by parameter label
(``partition``), and freezing parts of the params (``freeze``, ``selective_transform``)."""

from __future__ import annotations

import collections
from typing import Any, Callable, Hashable, Mapping, NamedTuple

import jax

from .. import _validate
from .._base import GradientTransformation, _accepted_kwargs, set_to_zero
from ._masking import masked


def _is_transformation(t: Any) -> bool:
    return callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))


def named_chain(*args: tuple[str, GradientTransformation]) -> GradientTransformation:
    """``chain`` with a name for each member; the state is a dict ``name -> member state``.

    ``named_chain(("clip", a), ("adam", b))(g) = b(a(g))``, and the state of ``b`` is
    ``state["adam"]`` (an ``OrderedDict`` in the members' order, as in optax). Keyword
    arguments given to ``update`` (``value=`` ...) reach every member that can take them.

    Args:
      *args: ``(name, transformation)`` pairs; names are unique strings.

    Returns:
      A ``GradientTransformation`` whose state is an ``OrderedDict``.

    Raises:
      TypeError: if an argument is not a ``(name, transformation)`` pair.
      ValueError: if two members have the same name.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.named_chain(("clip", zoo.clip(1.0)), ("momentum", zoo.trace(0.9)))
      >>> u, state = tx.update({"w": jnp.array([3.0, 0.5])}, tx.init({"w": jnp.zeros(2)}))
      >>> print(list(state), state["momentum"].trace["w"])
      ['clip', 'momentum'] [1.  0.5]
    """
    for i, pair in enumerate(args):
        if not (isinstance(pair, tuple) and len(pair) == 2 and _is_transformation(pair[1])):
            _validate.fail("named_chain", f"args[{i}]", pair, "must be a (name, transformation) pair",
                           error=TypeError)
    names = [name for name, _ in args]
    if len(names) != len(set(names)):
        _validate.fail("named_chain", "args", names, "must have unique names")
    members = [(name, tx, _accepted_kwargs(tx.update)) for name, tx in args]

    def init_fn(params):
        return collections.OrderedDict((name, tx.init(params)) for name, tx, _ in members)

    def update_fn(updates, state, params=None, **extra_args):
        new_state = collections.OrderedDict()
        for name, tx, keep in members:
            updates, new_state[name] = tx.update(updates, state[name], params, **keep(extra_args))
        return updates, new_state

    return GradientTransformation(init_fn, update_fn)


class PartitionState(NamedTuple):
    """State of ``partition``: one ``MaskedState`` per label."""

    inner_states: Mapping[Hashable, Any]


def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any | Callable[[Any], Any],
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Parameter groups: each leaf is updated by the transformation of its label (optax's
    ``partition``; ``multi_transform`` is the older name).

    Each group's transformation runs under ``masked`` on its leaves only, so it holds state
    for them alone. Keyword arguments given to ``update`` reach every group's transformation
    that can take them.

    Args:
      transforms: a mapping ``label -> transformation``.
      param_labels: a pytree of labels shaped like the params (or a prefix of them), or a
        callable ``params -> such a tree``.
      mask_compatible_extra_args: also mask the extra keyword arguments shaped like the
        updates, so each group sees its own leaves of them.

    Returns:
      A ``GradientTransformation`` with state ``PartitionState``.

    Raises:
      ValueError: if a label has no transformation (at ``init``/``update``).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.partition({"fast": zoo.scale(-1.0), "slow": zoo.scale(-0.1)},
      ...                    {"w": "fast", "b": "slow"})
      >>> g = {"w": jnp.ones(2), "b": jnp.ones(2)}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"], u["b"])
      [-1. -1.] [-0.1 -0.1]
    """
    for label, tx in transforms.items():
        if not _is_transformation(tx):
            _validate.fail("partition", f"transforms[{label!r}]", tx, "must be a GradientTransformation",
                           error=TypeError)

    def labels_for(tree):
        return param_labels(tree) if callable(param_labels) else param_labels

    def check_labels(labels):
        missing = set(jax.tree.leaves(labels)) - set(transforms)
        if missing:
            _validate.fail("partition", "param_labels", sorted(missing, key=str),
                           f"must only use labels that have a transformation ({sorted(transforms, key=str)})")

    def group_txs(labels):
        return {
            group: masked(tx, jax.tree.map(lambda label, g=group: label == g, labels),
                          mask_compatible_extra_args=mask_compatible_extra_args)
            for group, tx in transforms.items()
        }

    def init_fn(params):
        from ._tree_map_params import is_placeholder

        if is_placeholder(params):
            return PartitionState({group: masked(tx, True).init(params) for group, tx in transforms.items()})
        labels = labels_for(params)
        check_labels(labels)
        return PartitionState({group: tx.init(params) for group, tx in group_txs(labels).items()})

    def update_fn(updates, state, params=None, **extra_args):
        labels = labels_for(updates)
        check_labels(labels)
        new_states = {}
        for group, tx in group_txs(labels).items():
            updates, new_states[group] = tx.update(updates, state.inner_states[group], params, **extra_args)
        return updates, PartitionState(new_states)

    return GradientTransformation(init_fn, update_fn)


def freeze(mask: Any) -> GradientTransformation:
    """Zero the updates where ``mask`` is ``True``: those parameters stay as they are.

    ``freeze(mask) = masked(set_to_zero(), mask)``. Put it after the optimizer in a chain
    (the optimizer still keeps state for the frozen leaves; ``selective_transform`` does not).

    Args:
      mask: a bool (freeze everything or nothing) or a pytree of bools shaped like the
        params (or a prefix of them); ``True`` freezes.

    Returns:
      A ``GradientTransformation`` with state ``MaskedState``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.sgd(0.1), zoo.freeze({"w": False, "b": True}))
      >>> g = {"w": jnp.ones(2), "b": jnp.ones(2)}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"], u["b"])
      [-0.1 -0.1] [0. 0.]
    """
    return masked(set_to_zero(), mask)


def selective_transform(optimizer: GradientTransformation, *, freeze_mask: Any) -> GradientTransformation:
    """Run ``optimizer`` on the leaves not frozen by ``freeze_mask``; frozen ones get zero.

    ``partition({"train": optimizer, "freeze": set_to_zero()}, labels)`` with label
    ``"freeze"`` where ``freeze_mask`` is ``True``: the optimizer holds no state for frozen
    leaves.

    Args:
      optimizer: the transformation for the trainable leaves.
      freeze_mask: keyword only; a bool or a pytree of bools shaped like the params (or a
        prefix of them); ``True`` freezes.

    Returns:
      A ``GradientTransformation`` with state ``PartitionState`` (groups ``"train"`` and
      ``"freeze"``).

    Raises:
      TypeError: if ``optimizer`` is not a transformation.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.selective_transform(zoo.sgd(0.1), freeze_mask={"w": False, "b": True})
      >>> g = {"w": jnp.ones(2), "b": jnp.ones(2)}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"], u["b"])
      [-0.1 -0.1] [0. 0.]
    """
    if not _is_transformation(optimizer):
        _validate.fail("selective_transform", "optimizer", optimizer, "must be a GradientTransformation",
                       error=TypeError)

    def label_fn(params):
        del params
        return jax.tree.map(lambda m: "freeze" if m else "train", freeze_mask)

    return partition({"train": optimizer, "freeze": set_to_zero()}, param_labels=label_fn)
