r"""Euclidean projections onto boxes: the non-negative orthant, a box, a hypercube, an L-infinity ball.

For a box :math:`[l, u]` the projection is elementwise clipping,

.. math::
    \Pi_{[l, u]}(x) = \min(\max(x, l), u),

with :math:`[0, \infty)` for the orthant (``relu``), :math:`[0, s]` for the hypercube and
:math:`[-s, s]` for the L-infinity ball of radius :math:`s`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..tree_utils import tree_full_like


def projection_non_negative(tree: Any) -> Any:
    r"""Project onto the non-negative orthant: :math:`\max(x, 0)` elementwise.

    Args:
      tree: the point, a tree.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_non_negative(jnp.array([-1.0, 2.0])))
      [0. 2.]
    """
    return jax.tree.map(jax.nn.relu, tree)


def projection_box(tree: Any, lower: Any, upper: Any) -> Any:
    r"""Project onto the box :math:`\{x : l \le x \le u\}` (elementwise clipping).

    Args:
      tree: the point, a tree.
      lower: the lower bound: a tree shaped like ``tree``, or a scalar.
      upper: the upper bound: a tree shaped like ``tree``, or a scalar.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_box(jnp.array([-2.0, 0.5, 3.0]), 0.0, 1.0))
      [0.  0.5 1. ]
    """
    return jax.tree.map(jnp.clip, tree, lower, upper)


def projection_hypercube(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the hypercube :math:`\{x : 0 \le x \le s\}`.

    Args:
      tree: the point, a tree.
      scale: the side :math:`s`: a scalar or a tree shaped like ``tree``.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_hypercube(jnp.array([-2.0, 0.5, 3.0]), 2.0))
      [0.  0.5 2. ]
    """
    return projection_box(tree, lower=0, upper=scale)


def projection_linf_ball(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the L-infinity ball :math:`\{x : \|x\|_\infty \le s\}` (clip to :math:`[-s, s]`).

    Args:
      tree: the point, a tree.
      scale: the radius :math:`s`.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_linf_ball(jnp.array([-2.0, 0.5, 3.0])))
      [-1.   0.5  1. ]
    """
    return projection_box(tree, lower=tree_full_like(tree, -scale), upper=tree_full_like(tree, scale))
