r"""Non-negative least squares by accelerated projected gradient (FISTA).

Solve :math:`\min_{x \ge 0} \tfrac12 \|A x - b\|^2`. With :math:`Q = A^\top A`,
:math:`q = A^\top b` and a Lipschitz bound :math:`L \ge \|Q\|_2` (default
:math:`\min(\|Q\|_F, \|Q\|_1)`), starting from :math:`x_0 = p_0 = 0`, :math:`c_0 = 0`:

.. math::
    c_{k+1} = \tfrac{1 + \sqrt{1 + 4 c_k^2}}{2}, \quad
    x_{k+1} = \max\Big(p_k - \tfrac{Q p_k - q}{L}, 0\Big), \quad
    p_{k+1} = x_{k+1} + \tfrac{c_k - 1}{c_{k+1}} (x_{k+1} - x_k).

References:
  Beck, Teboulle, `A fast iterative shrinkage-thresholding algorithm for linear inverse
  problems <https://doi.org/10.1137/080716542>`_, 2009.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate


def _spectral_radius_bound(q: jax.Array) -> jax.Array:
    """``min(||Q||_F, ||Q||_1)``, an upper bound on the spectral radius of ``Q``."""
    one = jnp.linalg.matrix_norm(q, ord=1) if q.size != 0 else 0
    return jnp.minimum(jnp.linalg.matrix_norm(q, ord="fro"), one)


def nnls(A: jax.Array, b: jax.Array, iters: int, unroll: Any = 1, L: Any = None) -> jax.Array:  # noqa: N803
    r"""Solve :math:`\min_{x \ge 0} \|A x - b\|^2` with ``iters`` steps of FISTA.

    Args:
      A: the ``(m, n)`` matrix.
      b: the ``(m,)`` vector, or an ``(m, k)`` matrix of ``k`` right-hand sides.
      iters: the number of iterations.
      unroll: passed to ``lax.scan``.
      L: a bound on the largest eigenvalue of :math:`A^\top A` (default: the smaller of
        its Frobenius and 1-norms).

    Returns:
      ``x``, of shape ``(n,)`` (or ``(n, k)``).

    Raises:
      ValueError: when ``A`` is not a matrix, ``b`` not a vector or matrix, or their first
        axes differ.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> A = jnp.eye(2)
      >>> print(zoo.nnls(A, jnp.array([1.0, -1.0]), iters=50))
      [1. 0.]
    """
    if A.ndim != 2:
        _validate.fail("nnls", "A", A.shape, "must be a matrix (2 axes)")
    if b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        _validate.fail("nnls", "b", b.shape, f"must be a vector or matrix with {A.shape[0]} rows")
    Q = A.mT @ A  # noqa: N806
    q = A.mT @ b
    if L is None:
        L = _spectral_radius_bound(Q)  # noqa: N806
    L = jnp.where(L == 0, 1, L)  # noqa: N806

    def step(carry, _):
        x, p, c = carry
        c_next = (1 + jnp.sqrt(1 + 4 * c**2)) / 2
        x_next = (p - (Q @ p - q) / L).clip(0)
        return (x_next, x_next + (c - 1) / c_next * (x_next - x), c_next), None

    x0 = jnp.zeros_like(b, shape=A.shape[-1:] + b.shape[1:])
    (x, _, _), _ = jax.lax.scan(step, (x0, x0, 0.0), length=iters, unroll=unroll)
    return x
