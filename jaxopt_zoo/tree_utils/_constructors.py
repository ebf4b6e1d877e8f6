r"""Trees shaped like a given tree: filled with zeros, ones or a value, or with batch axes added.

For a tree :math:`x` with leaves :math:`x_i` of shapes :math:`s_i`, ``tree_full_like(x, c)``
has leaves :math:`c \cdot \mathbf{1}_{s_i}` and ``tree_batch_shape(x, b)`` has leaves
:math:`x_i` broadcast to shape :math:`(b, s_i)`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def tree_zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros shaped like every leaf of ``tree`` (in ``dtype`` if given, else the leaf's dtype).

    Args:
      tree: a tree.
      dtype: the dtype of the zeros, or ``None``.

    Returns:
      A tree shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_zeros_like({"a": jnp.array([1.0, 2.0])}))
      {'a': Array([0., 0.], dtype=float32)}
    """
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def tree_ones_like(tree: Any, dtype: Any = None) -> Any:
    """Ones shaped like every leaf of ``tree`` (in ``dtype`` if given, else the leaf's dtype).

    Args:
      tree: a tree.
      dtype: the dtype of the ones, or ``None``.

    Returns:
      A tree shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_ones_like({"a": jnp.array([1.0, 2.0])}))
      {'a': Array([1., 1.], dtype=float32)}
    """
    return jax.tree.map(lambda x: jnp.ones_like(x, dtype=dtype), tree)


def tree_full_like(tree: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``fill_value`` shaped like every leaf of ``tree`` (in ``dtype`` if given, else the leaf's dtype).

    Args:
      tree: a tree.
      fill_value: the value of every element.
      dtype: the dtype, or ``None``.

    Returns:
      A tree shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_full_like({"a": jnp.array([1.0, 2.0])}, 7.0))
      {'a': Array([7., 7.], dtype=float32)}
    """
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


def tree_batch_shape(tree: Any, shape: tuple = ()) -> Any:
    """Every leaf broadcast to leading batch axes ``shape``: a leaf of shape ``s`` becomes ``(*shape, *s)``.

    Args:
      tree: a tree.
      shape: the leading axes to add.

    Returns:
      A tree shaped like ``tree`` with batched leaves.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_batch_shape({"a": jnp.zeros(3)}, (2,))["a"].shape)
      (2, 3)
    """
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (*shape, *jnp.shape(x))), tree)
