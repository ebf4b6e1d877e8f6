r"""Euclidean projections onto the simplex and onto L1 spheres and balls.

The simplex of size :math:`s` is :math:`\Delta_s = \{x \ge 0 : \sum_i x_i = s\}` (the whole
tree seen as one vector). Its projection is :math:`\max(x - \tau, 0)` with the threshold
found by sorting :math:`u = \mathrm{sort}(x)` decreasingly:

.. math::
    \rho = \max\{j : s/j + u_j - \tfrac{1}{j}\sum_{k \le j} u_k > 0\}, \qquad
    \tau = \tfrac{1}{\rho}\Big(\sum_{k \le \rho} u_k - s\Big).

Its derivative is taken on the support :math:`S` of the result:
:math:`\partial \Pi = \mathrm{diag}(1_S) - 1_S 1_S^\top / |S|`. The L1 sphere projection
projects :math:`|x|` onto :math:`\Delta_s` and restores the signs; the L1 ball one leaves
points inside the ball alone.

Dtypes: the result has the input's dtype. optax 0.2.8 computes ``1 / rho`` from integers,
so with x64 on a float32 input gives a float64 simplex projection, its derivative fails
(the custom JVP's tangent is float32) and ``projection_l1_ball`` fails (its ``cond``
branches differ in dtype); the zoo keeps float32 (``tests/reference/test_optax_projections.py``
pins this). In float64, and in float32 with x64 off, the values are optax's.

References:
  Duchi, Shalev-Shwartz, Singer, Chandra, `Efficient projections onto the l1-ball for
  learning in high dimensions <https://dl.acm.org/doi/10.1145/1390156.1390191>`_, 2008.
  Blondel, Fujino, Ueda, `Large-scale multiclass support vector machine training via
  Euclidean projection onto the simplex <https://ieeexplore.ieee.org/document/6976989>`_, 2014.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ..tree_utils import tree_mul, tree_norm


@jax.custom_jvp
def _unit_simplex(x: jax.Array) -> jax.Array:
    """Projection of a vector onto the unit simplex."""
    one = jnp.ones((), x.dtype)  # 1 / (integer) in x's dtype: float32 stays float32 with x64 on
    u = jnp.sort(x)[::-1]
    partial = jnp.cumsum(u)
    j = jnp.arange(x.shape[0]) + 1
    rho = jnp.count_nonzero(one / j + (u - partial / j) > 0)
    return jax.nn.relu(one / rho + (x - partial[rho - 1] / rho))


@_unit_simplex.defjvp
def _unit_simplex_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = _unit_simplex(x)
    support = y > 0
    return y, support * dx - (jnp.dot(support, dx) / jnp.count_nonzero(support)) * support


def projection_simplex(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the simplex :math:`\{x \ge 0 : \sum x = s\}` (over all leaves together).

    Args:
      tree: the point, a tree.
      scale: the sum :math:`s > 0`.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_simplex(jnp.array([0.5, 1.5, -1.0])))
      [0. 1. 0.]
    """
    flat, unravel = ravel_pytree(tree)
    return unravel(scale * _unit_simplex(flat / scale))


def projection_l1_sphere(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the L1 sphere :math:`\{x : \|x\|_1 = s\}`.

    Args:
      tree: the point, a tree.
      scale: the radius :math:`s > 0`.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_l1_sphere(jnp.array([0.5, -1.5, 0.0])))
      [ 0. -1.  0.]
    """
    magnitudes = projection_simplex(jax.tree.map(jnp.abs, tree), scale)
    return tree_mul(jax.tree.map(jnp.sign, tree), magnitudes)


def projection_l1_ball(tree: Any, scale: Any = 1) -> Any:
    r"""Project onto the L1 ball :math:`\{x : \|x\|_1 \le s\}`.

    Args:
      tree: the point, a tree.
      scale: the radius :math:`s > 0`.

    Returns:
      The projection, shaped like ``tree``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.projections.projection_l1_ball(jnp.array([0.5, -1.5, 0.0])))
      [ 0. -1.  0.]
    """
    return jax.lax.cond(tree_norm(tree, ord=1) <= scale, lambda t: t,
                        lambda t: projection_l1_sphere(t, scale), tree)
