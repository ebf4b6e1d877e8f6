r"""Find and replace entries of an optimizer state by name.

A state is a tree of NamedTuples and dicts. An entry *matches* a key ``k`` when it is the
field ``k`` of a NamedTuple, the item ``k`` of a dict, or a NamedTuple whose class is named
``k``. Paths are those of ``jax.tree_util`` except that a NamedTuple field is a
``NamedTupleKey(tuple_name, field)``, so equal field names in different states (the ``count``
of two chained transforms) can be told apart by a ``filtering(path, value)`` predicate.

The search and the replacement follow ``optax.tree_utils`` rule for rule (including which
nested matches are visited), so both find the same values in the same order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax

from .._validate import PREFIX


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """A path entry for the field ``name`` of a NamedTuple of class ``tuple_name``.

    Attributes:
      tuple_name: the NamedTuple's class name (e.g. ``"ScaleByAdamState"``).
      name: the field.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.NamedTupleKey("ScaleByAdamState", "count"))
      ScaleByAdamState.count
    """

    tuple_name: str
    name: str

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _has_any(node: Any, keys: tuple) -> bool:
    """Whether ``node`` matches one of ``keys`` (see the module docstring)."""
    if _is_namedtuple(node):
        return type(node).__name__ in keys or any(k in node._fields for k in keys)
    return isinstance(node, dict) and any(k in node for k in keys)


def _leaves_with_path(tree: Any, stop: Callable[[Any], bool]) -> list:
    """``(path, leaf)`` pairs, stopping at nodes where ``stop`` holds; NamedTuple fields get
    ``NamedTupleKey`` entries."""
    out = []
    for path, node in jax.tree_util.tree_leaves_with_path(tree, is_leaf=lambda x: stop(x) or _is_namedtuple(x)):
        if stop(node) or not _is_namedtuple(node):
            out.append((path, node))
            continue
        for field in node._fields:
            entry = NamedTupleKey(type(node).__name__, field)
            out.extend(((*path, entry, *sub), leaf) for sub, leaf in _leaves_with_path(getattr(node, field), stop))
    return out


def _children(path: tuple, node: Any) -> list:
    """The ``(path, child)`` pairs of a NamedTuple (by field) or a dict (in insertion order)."""
    if _is_namedtuple(node):
        return [((*path, NamedTupleKey(type(node).__name__, f)), getattr(node, f)) for f in node._fields]
    return [((*path, jax.tree_util.DictKey(k)), v) for k, v in node.items()]


def _entry_at(path: tuple, node: Any, key: Any) -> tuple:
    """The ``(path, value)`` that ``key`` names in the matching ``node``."""
    if _is_namedtuple(node):
        if type(node).__name__ == key:
            return path, node
        return (*path, NamedTupleKey(type(node).__name__, key)), getattr(node, key)
    return (*path, jax.tree_util.DictKey(key)), node[key]


def _find(tree: Any, key: Any) -> list:
    keys = (key,)
    matching = [(p, n) for p, n in _leaves_with_path(tree, lambda x: _has_any(x, keys)) if _has_any(n, keys)]
    found = [_entry_at(p, n, key) for p, n in matching]
    for path, node in matching:  # matches nested below a match come after all top-level ones
        for child_path, child in _children(path, node):
            found += [((*child_path, *sub), v) for sub, v in _find(child, key)]
    return found


def tree_get_all_with_path(tree: Any, key: Any, filtering: Callable[[tuple, Any], bool] | None = None) -> list:
    """Every ``(path, value)`` of ``tree`` that ``key`` names (a dict key, a NamedTuple field or class name).

    Args:
      tree: the tree (typically an optimizer state) to search.
      key: the name to look for.
      filtering: optional ``filtering(path, value) -> bool`` keeping only some matches.

    Returns:
      A list of ``(path, value)`` pairs; ``jax.tree_util.keystr(path)`` prints a path.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> state = zoo.adam(1e-3).init(jnp.zeros(2))
      >>> [jax.tree_util.keystr(p) for p, _ in zoo.tree_utils.tree_get_all_with_path(state, "count")]
      ['[0]ScaleByAdamState.count']
    """
    found = _find(tree, key)
    if filtering:
        found = [(p, v) for p, v in found if filtering(p, v)]
    return found


def tree_get(tree: Any, key: Any, default: Any = None, filtering: Callable[[tuple, Any], bool] | None = None) -> Any:
    """The one value of ``tree`` that ``key`` names, or ``default`` if there is none.

    Args:
      tree: the tree to search.
      key: the name to look for (see ``tree_get_all_with_path``).
      default: returned when nothing matches.
      filtering: optional ``filtering(path, value) -> bool`` to choose among matches.

    Returns:
      The value.

    Raises:
      KeyError: when more than one value matches.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> state = zoo.adam(1e-3).init(jnp.zeros(2))
      >>> print(zoo.tree_utils.tree_get(state, "count"))
      0
    """
    found = tree_get_all_with_path(tree, key, filtering=filtering)
    if len(found) > 1:
        raise KeyError(f"{PREFIX}tree_get: found {len(found)} values for {key!r} in {tree}; pass `filtering` "
                       "to choose one.")
    return found[0][1] if found else default


def _key_name(entry: Any) -> Any:
    """The plain key (str or int) of a path entry."""
    if isinstance(entry, jax.tree_util.DictKey):
        if isinstance(entry.key, (str, int)):
            return entry.key
        raise KeyError(f"{PREFIX}tree_set: dict keys other than str and int are not supported, got {entry.key!r}")
    for attr in ("name", "key", "idx"):  # NamedTupleKey/GetAttrKey, FlattenedIndexKey, SequenceKey
        if hasattr(entry, attr):
            return getattr(entry, attr)
    raise KeyError(f"{PREFIX}tree_set: path entry {entry!r} of type {type(entry)} is not supported")


def tree_set(tree: Any, filtering: Callable[[tuple, Any], bool] | None = None, /, **kwargs: Any) -> Any:
    """A copy of ``tree`` whose entries named by the keywords are replaced by their values.

    Args:
      tree: the tree (typically an optimizer state).
      filtering: optional ``filtering(path, value) -> bool``; only matches it accepts are replaced.
      **kwargs: ``name=new_value`` for each entry to replace.

    Returns:
      The new tree.

    Raises:
      KeyError: when a keyword names nothing in ``tree`` (that ``filtering`` accepts).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> state = zoo.adam(1e-3).init(jnp.zeros(2))
      >>> print(zoo.tree_utils.tree_get(zoo.tree_utils.tree_set(state, count=5), "count"))
      5
    """
    for key in kwargs:
        if not tree_get_all_with_path(tree, key, filtering):
            how = " given the filtering operation" if filtering else ""
            raise KeyError(f"{PREFIX}tree_set: found no values matching {key!r}{how} in {tree}")
    keys = tuple(kwargs)

    def replace(path, node):
        if not _has_any(node, keys):
            return node
        if _is_namedtuple(node) and type(node).__name__ in kwargs and (filtering is None or filtering(path, node)):
            return kwargs[type(node).__name__]
        new = {}
        for child_path, child in _children(path, node):
            name = _key_name(child_path[-1])
            if name in kwargs and (filtering is None or filtering(child_path, child)):
                new[name] = kwargs[name]
            elif isinstance(child, (dict, list, tuple)):
                new[name] = replace(child_path, child)
            else:
                new[name] = child
        return node._replace(**new) if _is_namedtuple(node) else new

    stop = lambda x: _has_any(x, keys)  # noqa: E731
    treedef = jax.tree.structure(tree, is_leaf=stop)
    return treedef.unflatten([replace(p, n) for p, n in _leaves_with_path(tree, stop)])
