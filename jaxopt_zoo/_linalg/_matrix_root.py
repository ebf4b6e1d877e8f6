r"""Inverse p-th root of a symmetric positive semi-definite matrix by a coupled Newton iteration.

For :math:`A \succeq 0` and :math:`p \in \{1, 2, 4, 8\}`, damp :math:`A_\epsilon = A + \epsilon
\lambda_{\max} I` (:math:`\lambda_{\max}` by 100 steps of power iteration), scale
:math:`z = (1 + p) / (2 \|A_\epsilon\|_F)`, start from :math:`M_0 = z A_\epsilon`,
:math:`H_0 = z^{1/p} I`, and iterate with :math:`\alpha = -1/p`

.. math::
    T_k = (1 - \alpha) I + \alpha M_k, \qquad M_{k+1} = T_k^{\,p} M_k, \qquad H_{k+1} = H_k T_k,

while :math:`\max |M_k - I|` exceeds ``error_tolerance`` and keeps shrinking (an iteration
that raises it by more than 20% stops the loop and the previous :math:`H` is returned).
:math:`H \to A_\epsilon^{-1/p}`. The iteration runs in float32 where the input is
float32 (as Shampoo's and optax's).

References:
  Guo, Higham, `A Schur-Newton method for the matrix p-th root and its inverse
  <https://doi.org/10.1137/050643374>`_, 2006.
  Anil, Gupta, Koren, Regan, Singer, `Scalable second order optimization for deep
  learning <https://arxiv.org/abs/2002.09018>`_, 2020.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._power_iteration import power_iteration


def matrix_inverse_pth_root(
    matrix: Any,
    p: Any,
    num_iters: Any = 100,
    ridge_epsilon: Any = 1e-6,
    error_tolerance: Any = 1e-6,
    precision: jax.lax.Precision = jax.lax.Precision.HIGHEST,
) -> tuple:
    r""":math:`(A + \epsilon \lambda_{\max} I)^{-1/p}` by the coupled Newton iteration (Shampoo's preconditioner).

    Args:
      matrix: a symmetric positive semi-definite matrix.
      p: the root, one of 1, 2, 4, 8.
      num_iters: the most Newton iterations.
      ridge_epsilon: the damping, relative to the largest eigenvalue.
      error_tolerance: stop when ``max |M - I|`` is below it.
      precision: the ``jnp.matmul`` precision.

    Returns:
      ``(root, error)``: the inverse p-th root and the final ``max |M - I|``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> root, _ = zoo.matrix_inverse_pth_root(jnp.diag(jnp.array([4.0, 16.0])), 2)
      >>> print(jnp.round(jnp.diag(root), 3))
      [0.5  0.25]
    """
    n = matrix.shape[0]
    alpha = jnp.asarray(-1.0 / p, jnp.float32)
    eye = jnp.eye(n, dtype=jnp.float32)
    max_ev, _ = power_iteration(matrix=matrix, num_iters=100, error_tolerance=1e-6, precision=precision)
    ridge_epsilon = ridge_epsilon * jnp.maximum(max_ev, 1e-16)

    def matmul(a, b):
        return jnp.matmul(a, b, precision=precision)

    def squarings(k):  # T -> T^(2^k)
        def power(t):
            for _ in range(k):
                t = matmul(t, t)
            return t
        return power

    def t_to_the_p(t):
        return jax.lax.switch(jnp.asarray(jnp.round(jnp.log2(p)), jnp.int32), [squarings(k) for k in range(4)], t)

    def going(state):
        k, _, _, _, error, improving = state
        return (k < num_iters) & (error > error_tolerance) & improving

    def newton(state):
        k, m, h, _, error, _ = state
        t = (1 - alpha) * eye + alpha * m
        new_m = matmul(t_to_the_p(t), m)
        new_error = jnp.max(jnp.abs(new_m - eye))
        return k + 1, new_m, matmul(h, t), h, new_error, new_error < error * 1.2

    if n == 1:
        return (matrix + ridge_epsilon) ** alpha, 0
    damped = matrix + ridge_epsilon * eye
    z = (1 + p) / (2 * jnp.linalg.norm(damped))
    m0 = damped * z
    h0 = eye * jnp.power(z, 1.0 / p)
    _, m, h, h_before, _, improving = jax.lax.while_loop(
        going, newton, (0, m0, h0, h0, jnp.max(jnp.abs(m0 - eye)), True))
    error = jnp.max(jnp.abs(m - eye))
    keep = jnp.asarray(improving, h_before.dtype)
    return jnp.asarray(keep * h + (1 - keep) * h_before, matrix.dtype), error
