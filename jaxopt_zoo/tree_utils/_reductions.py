r"""Reductions of a whole pytree to one number: inner product, sum, extrema, size, norms.

For trees :math:`x, y` with leaves :math:`x_i, y_i`:

.. math::
    \langle x, y \rangle = \sum_i \sum \bar{x}_i y_i, \qquad
    \|x\|_2 = \Big(\sum_i \sum |x_i|^2\Big)^{1/2}, \qquad
    \|x\|_1 = \sum_i \sum |x_i|, \qquad
    \|x\|_\infty = \max_i \max |x_i|.

The inner product runs at ``Precision.HIGHEST``. An empty tree gives ``0`` for sums and
``-inf`` / ``+inf`` for the max / min, as in ``optax.tree_utils``.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate
from .._numerics import abs_sq, vdot


def tree_vdot(tree_x: Any, tree_y: Any) -> Any:
    r"""The inner product :math:`\sum_i \langle x_i, y_i \rangle` of two trees (``tree_x`` conjugated).

    Args:
      tree_x: first tree.
      tree_y: second tree, shaped like ``tree_x``.

    Returns:
      A scalar.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_vdot({"a": jnp.array([1.0, 2.0])}, {"a": jnp.array([3.0, 4.0])}))
      11.0
    """
    return jax.tree.reduce(operator.add, jax.tree.map(vdot, tree_x, tree_y), initializer=0)


def tree_sum(tree: Any, associative_reduction: bool = False) -> Any:
    """The sum of every element of every leaf.

    Args:
      tree: a tree.
      associative_reduction: add the per-leaf sums with ``jax.tree.reduce_associative`` (a
        tree-shaped reduction, faster to compile for huge trees; the order of the additions,
        hence the rounding, differs).

    Returns:
      A scalar (``0`` for an empty tree).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_sum({"a": jnp.array([1.0, 2.0]), "b": jnp.array(3.0)}))
      6.0
    """
    sums = jax.tree.map(jnp.sum, tree)
    if associative_reduction:
        return jax.tree.reduce_associative(operator.add, sums, identity=0)
    return jax.tree.reduce(operator.add, sums, initializer=0)


def _leaf_extremum(reduce):
    return lambda x: None if jnp.size(x) == 0 else reduce(x)


def tree_max(tree: Any) -> Any:
    """The largest element of the tree (``-inf`` if it has none; empty leaves are skipped).

    Args:
      tree: a tree.

    Returns:
      A scalar.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_max({"a": jnp.array([1.0, 5.0]), "b": jnp.array(3.0)}))
      5.0
    """
    return jax.tree.reduce(jnp.maximum, jax.tree.map(_leaf_extremum(jnp.max), tree), initializer=-float("inf"))


def tree_min(tree: Any) -> Any:
    """The smallest element of the tree (``inf`` if it has none; empty leaves are skipped).

    Args:
      tree: a tree.

    Returns:
      A scalar.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_min({"a": jnp.array([1.0, 5.0]), "b": jnp.array(3.0)}))
      1.0
    """
    return jax.tree.reduce(jnp.minimum, jax.tree.map(_leaf_extremum(jnp.min), tree), initializer=float("inf"))


def tree_size(tree: Any) -> int:
    """The number of elements over all leaves (a Python ``int``).

    Args:
      tree: a tree.

    Returns:
      The total size.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> zoo.tree_utils.tree_size({"a": jnp.zeros((2, 3)), "b": jnp.zeros(4)})
      10
    """
    return sum(jnp.size(x) for x in jax.tree.leaves(tree))


def tree_norm(tree: Any, ord: Any = None, squared: bool = False) -> jax.Array:
    """The vector norm of the whole tree seen as one flat vector.

    ``ord`` is ``None`` or ``2`` (Euclidean), ``1`` (sum of moduli) or ``inf``
    (``jnp.inf``, ``"inf"`` or ``"infinity"``: largest modulus).

    Args:
      tree: a tree (real or complex leaves).
      ord: the order of the norm.
      squared: return the squared norm.

    Returns:
      A scalar array.

    Raises:
      ValueError: for any other ``ord``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tree = {"a": jnp.array([3.0, -4.0])}
      >>> print(zoo.tree_utils.tree_norm(tree), zoo.tree_utils.tree_norm(tree, ord=1))
      5.0 7.0
    """
    if ord is None or ord == 2:
        sq = tree_sum(jax.tree.map(abs_sq, tree))
        return jnp.array(sq if squared else jnp.sqrt(sq))
    if ord == 1:
        out = tree_sum(jax.tree.map(jnp.abs, tree))
    elif ord == jnp.inf or ord in ("inf", "infinity"):
        out = tree_max(jax.tree.map(jnp.abs, tree))
    else:
        _validate.fail("tree_norm", "ord", ord, "must be None, 1, 2 or inf")
    return jnp.array(abs_sq(jnp.asarray(out)) if squared else out)


def tree_l1_norm(tree: Any, squared: bool = False) -> jax.Array:
    """``tree_norm(tree, ord=1, squared)`` (optax's older name)."""
    return tree_norm(tree, ord=1, squared=squared)


def tree_l2_norm(tree: Any, squared: bool = False) -> jax.Array:
    """``tree_norm(tree, ord=2, squared)`` (optax's older name)."""
    return tree_norm(tree, ord=2, squared=squared)


def tree_linf_norm(tree: Any, squared: bool = False) -> jax.Array:
    """``tree_norm(tree, ord="inf", squared)`` (optax's older name)."""
    return tree_norm(tree, ord="inf", squared=squared)


def tree_allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False) -> Any:
    """Whether two trees are equal leaf by leaf within ``atol + rtol * |b|`` (``jnp.allclose``).

    Args:
      a: a tree.
      b: a tree shaped like ``a``.
      rtol: relative tolerance.
      atol: absolute tolerance.
      equal_nan: count NaNs in the same place as equal.

    Returns:
      A boolean (``True`` for empty trees).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_allclose([jnp.array(1.0)], [jnp.array(1.0 + 1e-7)]))
      True
    """
    close = jax.tree.map(lambda x, y: jnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
    return functools.reduce(operator.and_, jax.tree.leaves(close), True)
