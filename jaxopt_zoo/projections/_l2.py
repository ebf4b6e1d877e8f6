r"""Euclidean projections onto L2 spheres and balls (the whole tree is one vector).

.. math::
    \Pi_{\|x\|_2 = s}(x) = \frac{s}{\|x\|_2}\, x, \qquad
    \Pi_{\|x\|_2 \le s}(x) = \frac{s}{\max(\|x\|_2, s)}\, x.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from ..tree_utils import tree_norm, tree_scale


def projection_l2_sphere(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the L2 sphere :math:`\{x : \|x\|_2 = s\}` (undefined at 0).

    Args:
      tree: the point, a tree.
      scale: the radius :math:`s`.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_l2_sphere(jnp.array([3.0, 4.0])))
      [0.6 0.8]
    """
    return tree_scale(scale / tree_norm(tree), tree)


def projection_l2_ball(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the L2 ball :math:`\{x : \|x\|_2 \le s\}`.

    Args:
      tree: the point, a tree.
      scale: the radius :math:`s`.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_l2_ball(jnp.array([3.0, 4.0]), 10.0))
      [3. 4.]
    """
    factor = scale / jnp.sqrt(jnp.maximum(tree_norm(tree, squared=True), scale**2))
    return tree_scale(factor, tree)
