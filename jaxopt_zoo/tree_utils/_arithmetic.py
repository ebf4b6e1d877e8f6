r"""Leafwise arithmetic on pytrees: sums, differences, products, scaling, selection.

For trees :math:`x, y` of one structure and a scalar :math:`\alpha`, every function applies
one operation leaf by leaf:

.. math::
    (x + y)_i = x_i + y_i, \quad (x - y)_i = x_i - y_i, \quad (x \odot y)_i = x_i y_i,
    \quad (x / y)_i = x_i / y_i, \quad (\alpha x)_i = \alpha x_i,
    \quad (x + \alpha y)_i = x_i + \alpha y_i,

plus conjugate, real part, clipping and ``where(c, x, y)``. The results are those of
``optax.tree_utils`` (same promotion, same ``None`` handling in ``tree_add_scale``).
"""

from __future__ import annotations

import operator
from typing import Any

import jax
import jax.numpy as jnp

from .._tree import is_none


def tree_add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """Add two or more trees leaf by leaf.

    Args:
      tree_x: first tree.
      tree_y: second tree, shaped like ``tree_x``.
      *other_trees: more trees to add, shaped like ``tree_x``.

    Returns:
      The leafwise sum of all the trees.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_add({"a": jnp.array([1.0])}, {"a": jnp.array([2.0])}, {"a": jnp.array([3.0])}))
      {'a': Array([6.], dtype=float32)}
    """
    return jax.tree.map(lambda *leaves: sum(leaves), tree_x, tree_y, *other_trees)


def tree_sub(tree_x: Any, tree_y: Any) -> Any:
    """Subtract two trees leaf by leaf: ``tree_x - tree_y``.

    Args:
      tree_x: first tree.
      tree_y: second tree, shaped like ``tree_x``.

    Returns:
      The leafwise difference.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_sub([jnp.array([5.0])], [jnp.array([2.0])]))
      [Array([3.], dtype=float32)]
    """
    return jax.tree.map(operator.sub, tree_x, tree_y)


def tree_mul(tree_x: Any, tree_y: Any) -> Any:
    """Multiply two trees leaf by leaf (the Hadamard product).

    Args:
      tree_x: first tree.
      tree_y: second tree, shaped like ``tree_x``.

    Returns:
      The leafwise product.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_mul([jnp.array([5.0])], [jnp.array([2.0])]))
      [Array([10.], dtype=float32)]
    """
    return jax.tree.map(operator.mul, tree_x, tree_y)


def tree_div(tree_x: Any, tree_y: Any) -> Any:
    """Divide two trees leaf by leaf: ``tree_x / tree_y``.

    Args:
      tree_x: numerator tree.
      tree_y: denominator tree, shaped like ``tree_x``.

    Returns:
      The leafwise quotient.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_div([jnp.array([5.0])], [jnp.array([2.0])]))
      [Array([2.5], dtype=float32)]
    """
    return jax.tree.map(operator.truediv, tree_x, tree_y)


def tree_scale(scalar: Any, tree: Any) -> Any:
    """Multiply every leaf by a scalar: ``scalar * tree``.

    Args:
      scalar: the factor.
      tree: a tree.

    Returns:
      A tree shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_scale(3.0, [jnp.array([2.0])]))
      [Array([6.], dtype=float32)]
    """
    return jax.tree.map(lambda x: scalar * x, tree)


def tree_add_scale(tree_x: Any, scalar: Any, tree_y: Any) -> Any:
    """``tree_x + scalar * tree_y`` leaf by leaf (an axpy); ``None`` leaves of ``tree_x`` stay ``None``.

    Args:
      tree_x: the tree added to.
      scalar: the factor of ``tree_y``.
      tree_y: the scaled tree, shaped like ``tree_x``.

    Returns:
      A tree shaped like ``tree_x``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_add_scale([jnp.array([1.0])], 0.5, [jnp.array([4.0])]))
      [Array([3.], dtype=float32)]
    """
    scalar = jnp.asarray(scalar)
    return jax.tree.map(lambda x, y: None if x is None else x + scalar * y, tree_x, tree_y, is_leaf=is_none)


def tree_where(condition: Any, tree_x: Any, tree_y: Any) -> Any:
    """Pick ``tree_x`` where ``condition`` holds, ``tree_y`` elsewhere (``jnp.where`` per leaf).

    Args:
      condition: a boolean (scalar or broadcastable to every leaf).
      tree_x: the tree chosen where ``condition`` is true.
      tree_y: the tree chosen where it is false, shaped like ``tree_x``.

    Returns:
      A tree shaped like ``tree_x``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_where(False, [jnp.array([1.0])], [jnp.array([2.0])]))
      [Array([2.], dtype=float32)]
    """
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


def tree_clip(tree: Any, min_value: Any = None, max_value: Any = None) -> Any:
    """Clip every leaf to ``[min_value, max_value]`` (a ``None`` bound is not applied).

    Args:
      tree: a tree.
      min_value: the lower bound, or ``None``.
      max_value: the upper bound, or ``None``.

    Returns:
      A tree shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_clip([jnp.array([-2.0, 0.5, 3.0])], -1.0, 1.0))
      [Array([-1. ,  0.5,  1. ], dtype=float32)]
    """
    return jax.tree.map(lambda x: jnp.clip(x, min_value, max_value), tree)


def tree_conj(tree: Any) -> Any:
    """The complex conjugate of every leaf (real leaves are returned unchanged).

    Args:
      tree: a tree.

    Returns:
      A tree shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_conj([jnp.array([1.0 + 2.0j])]))
      [Array([1.-2.j], dtype=complex64)]
    """
    return jax.tree.map(jnp.conj, tree)


def tree_real(tree: Any) -> Any:
    """The real part of every leaf.

    Args:
      tree: a tree.

    Returns:
      A tree shaped like ``tree``, with real leaves.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_real([jnp.array([1.0 + 2.0j])]))
      [Array([1.], dtype=float32)]
    """
    return jax.tree.map(jnp.real, tree)
