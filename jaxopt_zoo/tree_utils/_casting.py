r"""Dtypes of pytrees: cast a tree, cast it like another, read its dtype.

``tree_dtype`` orders dtypes partially by promotion: :math:`d_1 \le d_2` when
``jnp.promote_types(d1, d2) == d2``. ``"highest"`` / ``"lowest"`` take the maximum / minimum
for that order (an error when two leaves' dtypes are not comparable), ``"promote"`` the
promotion of all of them.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate
from .._numerics import cast_tree


def tree_cast(tree: Any, dtype: Any) -> Any:
    """Every leaf cast to ``dtype``; ``dtype=None`` returns ``tree`` unchanged.

    Args:
      tree: a tree.
      dtype: the target dtype, or ``None``.

    Returns:
      The cast tree.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_cast({"a": jnp.array(1.5)}, jnp.bfloat16))
      {'a': Array(1.5, dtype=bfloat16)}
    """
    return cast_tree(tree, dtype)


def tree_cast_like(tree: Any, other_tree: Any) -> Any:
    """Every leaf of ``tree`` cast to the dtype of the matching leaf of ``other_tree``
    (leaves of ``other_tree`` without a dtype leave theirs unchanged).

    Args:
      tree: the tree to cast.
      other_tree: a tree shaped like ``tree`` giving the dtypes.

    Returns:
      The cast tree.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_cast_like([jnp.array(1.0)], [jnp.array(0, jnp.int32)]))
      [Array(1, dtype=int32)]
    """
    return jax.tree.map(lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t, tree, other_tree)


def _lower(d1: Any, d2: Any) -> Any:
    promoted = jnp.promote_types(d1, d2)
    if promoted == d1:
        return d2
    if promoted == d2:
        return d1
    raise ValueError(f"{_validate.PREFIX}tree_dtype: neither of {d1} and {d2} promotes to the other, so "
                     "the tree has no lowest/highest dtype; use mixed_dtype_handler='promote'.")


def _higher(d1: Any, d2: Any) -> Any:
    return d2 if _lower(d1, d2) == d1 else d1


def tree_dtype(tree: Any, mixed_dtype_handler: str | None = None) -> Any:
    """The dtype of a tree's leaves (JAX's default float dtype for an empty tree).

    Args:
      tree: a tree.
      mixed_dtype_handler: what to do when leaves differ: ``None`` raises, ``"promote"``
        promotes them together, ``"highest"`` / ``"lowest"`` pick the highest / lowest
        in the promotion order.

    Returns:
      A dtype.

    Raises:
      ValueError: with ``None`` when the leaves' dtypes differ, with ``"highest"`` /
        ``"lowest"`` when two of them are not comparable, or for another handler.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tree = {"a": jnp.zeros(2, jnp.float16), "b": jnp.zeros(2, jnp.float32)}
      >>> print(zoo.tree_utils.tree_dtype(tree, "lowest"), zoo.tree_utils.tree_dtype(tree, "highest"))
      float16 float32
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.asarray(leaves).dtype
    dtypes = [jnp.asarray(x).dtype for x in leaves]
    if mixed_dtype_handler is None:
        wrong = [f"{jax.tree_util.keystr(p)}: {jnp.asarray(x).dtype}" for p, x in jax.tree_util.tree_leaves_with_path(tree)
                 if jnp.asarray(x).dtype != dtypes[0]]
        if wrong:
            raise ValueError(f"{_validate.PREFIX}tree_dtype: the leaves have different dtypes (expected {dtypes[0]} "
                             f"everywhere): " + "; ".join(wrong) + ". Pass mixed_dtype_handler.")
        return dtypes[0]
    reducers = {"promote": jnp.promote_types, "highest": _higher, "lowest": _lower}
    _validate.check_choice("tree_dtype", "mixed_dtype_handler", mixed_dtype_handler, (None, *reducers))
    return functools.reduce(reducers[mixed_dtype_handler], dtypes)
