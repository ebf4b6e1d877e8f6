"""Tree helpers: a ``tree_map`` that explains structure mismatches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Sequence

import jax

from ._validate import PREFIX


def is_none(x: Any) -> bool:
    return x is None


def as_tuple(x: Any) -> tuple:
    """A state's per-leaf tuple (of factors, statistics, ...) as a tuple, also when
    ``flax.nnx.Optimizer`` hands it back as a mapping ``{0: x0, 1: x1, ...}`` (nnx stores a
    state's sequences that way). ``None`` (a frozen leaf's entry) stays ``None``."""
    if x is None:
        return None
    if isinstance(x, Mapping):
        return tuple(x[k] for k in sorted(x))
    return tuple(x)


def unzip(tree_of_tuples: Any, n: int) -> tuple:
    """Split a tree whose leaves are n-tuples (a per-leaf function's outputs) into n trees.

    A per-leaf output is an n-tuple of arrays (or ``None``); the tree's own tuples (params
    that are a tuple of n leaves, an empty tuple) are nodes, not outputs.
    """

    def is_tuple(x):
        return isinstance(x, tuple) and len(x) == n and not any(isinstance(e, (tuple, list, dict)) for e in x)

    return tuple(jax.tree.map(lambda t, i=i: t[i], tree_of_tuples, is_leaf=is_tuple) for i in range(n))


def check_same_structure(where: str, trees: Sequence[Any], names: Sequence[str]) -> None:
    """Raise a ValueError showing both structures when ``trees`` are not alike.

    ``None`` counts as a leaf, so a frozen (``None``) parameter must be ``None`` in the
    state too.
    """
    first = jax.tree.structure(trees[0], is_leaf=is_none)
    for name, tree in zip(names[1:], trees[1:]):
        other = jax.tree.structure(tree, is_leaf=is_none)
        if other != first:
            raise ValueError(
                f"{PREFIX}{where}: the structure of `{names[0]}` does not match the structure "
                f"of `{name}`; was the state made by init on parameters like these?\n"
                f"  {names[0]}: {first}\n  {name}: {other}"
            )


def tree_map(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    where: str = "tree_map",
    names: Sequence[str] | None = None,
) -> Any:
    """``jax.tree.map`` with ``None`` as a leaf and a readable error on mismatch.

    ``None`` leaves (frozen parameters) pass through: where ``tree`` has ``None`` the result
    is ``None`` and ``f`` is not called (the other trees have ``None`` there too).

    Args:
      f: the function applied leaf by leaf.
      tree, *rest: trees of the same structure.
      where: the public function name used in the error message.
      names: a name for each tree in the error message.
    """
    if rest:
        names = tuple(names or ("updates",) + tuple(f"tree{i + 1}" for i in range(len(rest))))
        check_same_structure(where, (tree,) + rest, names)
    return jax.tree.map(lambda x, *xs: None if x is None else f(x, *xs), tree, *rest, is_leaf=is_none)
