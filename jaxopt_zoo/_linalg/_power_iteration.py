r"""Power iteration: the dominant eigenpair of a symmetric matrix or linear operator.

Starting from a normalized :math:`v_0`, repeat

.. math::
    v_k = z_{k-1} / \|z_{k-1}\|, \qquad z_k = A v_k, \qquad \lambda_k = \langle v_k, z_k \rangle

until the relative residual :math:`\|z_k - \lambda_k v_k\| / |\lambda_k|` drops below
``error_tolerance`` or ``num_iters`` iterations ran; return :math:`\lambda_k` and
:math:`z_k / \|z_k\|`. ``A`` may be a matrix or any function ``v -> A v`` on pytrees
(e.g. a Hessian-vector product), with the tree inner product and norm.

References:
  Mises, Pollaczek-Geiringer, `Praktische Verfahren der Gleichungsauflösung
  <https://doi.org/10.1002/zamm.19290090206>`_, 1929.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate
from ..tree_utils import tree_norm, tree_scale, tree_sub, tree_vdot


def _unit(tree: Any) -> Any:
    return tree_scale(1.0 / tree_norm(tree), tree)


def power_iteration(
    matrix: Any,
    *,
    v0: Any = None,
    num_iters: Any = 100,
    error_tolerance: Any = 1e-6,
    precision: jax.lax.Precision = jax.lax.Precision.HIGHEST,
    key: Any = None,
) -> tuple:
    r"""The eigenvalue of largest modulus of ``matrix`` and its unit eigenvector, by power iteration.

    Args:
      matrix: a square matrix, or a function computing the product ``v -> A v`` on pytrees.
      v0: the starting vector (a pytree for a function ``matrix``, where it is required);
        for a matrix, ``None`` draws it uniformly in ``[-1, 1]`` with ``key``.
      num_iters: the most iterations to run.
      error_tolerance: stop when the relative residual ``|A v - λ v| / |λ|`` is below it.
      precision: the ``jnp.matmul`` precision for a matrix.
      key: the PRNG key for ``v0`` (default ``jax.random.PRNGKey(0)``).

    Returns:
      ``(eigenvalue, eigenvector)``.

    Raises:
      ValueError: when ``matrix`` is a function and ``v0`` is not given.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> eig, vec = zoo.power_iteration(jnp.diag(jnp.array([1.0, 3.0, 2.0])))
      >>> print(round(float(eig), 4))
      3.0
    """
    if callable(matrix):
        if v0 is None:
            _validate.fail("power_iteration", "v0", v0, "must be given when `matrix` is a function")
        mvp = matrix
    else:
        def mvp(v):
            return jnp.matmul(matrix, v, precision=precision)

        if v0 is None:
            v0 = jax.random.uniform(jax.random.PRNGKey(0) if key is None else key, shape=matrix.shape[-1:],
                                    dtype=matrix.dtype, minval=-1.0, maxval=1.0)
    v0 = _unit(v0)

    def going(carry):
        v, z, eig, k = carry
        residual = tree_norm(tree_sub(z, tree_scale(eig, v)))
        return ~(jnp.abs(residual / eig) < error_tolerance) & (k < num_iters)

    def step(carry):
        _, z, _, k = carry
        v = _unit(z)
        z = mvp(v)
        return v, z, tree_vdot(v, z), k + 1

    _, z, eig, _ = jax.lax.while_loop(going, step, (v0, mvp(v0), jnp.asarray(0.0), jnp.asarray(0)))
    return eig, _unit(z)
