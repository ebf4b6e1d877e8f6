r"""Euclidean projections onto a line, a hyperplane and a halfspace (trees as vectors).

With :math:`\langle \cdot, \cdot \rangle` the tree inner product:

.. math::
    \Pi_{\mathrm{span}(a)}(x) = \frac{\langle x, a\rangle}{\langle a, a\rangle} a, \quad
    \Pi_{\langle a, \cdot\rangle = b}(x) = x + \frac{b - \langle x, a\rangle}{\langle a, a\rangle} a, \quad
    \Pi_{\langle a, \cdot\rangle \le b}(x) = x + \min\Big(0, \frac{b - \langle x, a\rangle}{\langle a, a\rangle}\Big) a.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from ..tree_utils import tree_add_scale, tree_scale, tree_vdot


def projection_vector(x: Any, a: Any) -> Any:
    r"""Project ``x`` onto the line spanned by ``a``.

    Args:
      x: the point, a tree.
      a: the direction, a tree shaped like ``x`` (non-zero).

    Returns:
      The projection, shaped like ``a``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_vector(jnp.array([2.0, 1.0]), jnp.array([1.0, 0.0])))
      [2. 0.]
    """
    return tree_scale(tree_vdot(x, a) / tree_vdot(a, a), a)


def projection_hyperplane(x: Any, a: Any, b: Any) -> Any:
    r"""Project ``x`` onto the hyperplane :math:`\{y : \langle a, y\rangle = b\}`.

    Args:
      x: the point, a tree.
      a: the normal, a tree shaped like ``x`` (non-zero).
      b: the offset, a scalar.

    Returns:
      The projection, shaped like ``x``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_hyperplane(jnp.array([2.0, 1.0]), jnp.array([1.0, 0.0]), 1.0))
      [1. 1.]
    """
    return tree_add_scale(x, (b - tree_vdot(x, a)) / tree_vdot(a, a), a)


def projection_halfspace(x: Any, a: Any, b: Any) -> Any:
    r"""Project ``x`` onto the halfspace :math:`\{y : \langle a, y\rangle \le b\}`.

    Args:
      x: the point, a tree.
      a: the normal, a tree shaped like ``x`` (non-zero).
      b: the offset, a scalar.

    Returns:
      The projection, shaped like ``x`` (``x`` itself when inside).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_halfspace(jnp.array([2.0, 1.0]), jnp.array([1.0, 0.0]), 3.0))
      [2. 1.]
    """
    step = jnp.clip((b - tree_vdot(x, a)) / tree_vdot(a, a), max=0)
    return tree_add_scale(x, step, a)
