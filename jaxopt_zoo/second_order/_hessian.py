r"""Hessian-vector products and the Hessian diagonal of a loss ``loss(params, inputs, targets)``.

With :math:`H = \nabla^2_\theta \ell(\theta)` and the parameters flattened to one vector
(``jax.flatten_util.ravel_pytree`` order):

.. math::
    \mathrm{hvp}(v) = H v = \frac{d}{d\epsilon} \nabla \ell(\theta + \epsilon v)\Big|_{\epsilon=0},
    \qquad \mathrm{diag}(H)_i = e_i^\top H e_i,

the product by forward-over-reverse differentiation, the diagonal by one product per
coordinate (``vmap`` over the basis: :math:`O(n)` products, for small models).
optax deprecates these in 0.2.8 (removal in 0.2.9); the zoo keeps them, without the warning.
With x64 on, optax's ``hessian_diag`` fails on float32 parameters (its basis vectors are
float64, the parameters' tangents must be float32); the zoo's basis takes the parameters'
dtype (``tests/reference/test_optax_utils.py`` pins this).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def _flat(tree: Any) -> jax.Array:
    return ravel_pytree(tree)[0]


def hvp(loss: Callable[..., Any], v: jax.Array, params: Any, inputs: jax.Array, targets: jax.Array) -> Any:
    r"""The Hessian of ``loss`` at ``params`` times the flat vector ``v``: :math:`\nabla^2 \ell(\theta)\, v`.

    Args:
      loss: ``loss(params, inputs, targets) -> scalar``.
      v: a flat vector with as many entries as ``params`` has.
      params: the point (a pytree).
      inputs: the inputs passed to ``loss``.
      targets: the targets passed to ``loss``.

    Returns:
      The product, a pytree shaped like ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> loss = lambda p, x, y: jnp.sum((p * x - y) ** 2)
      >>> print(zoo.second_order.hvp(loss, jnp.array([1.0, 0.0]), jnp.zeros(2), jnp.array([1.0, 2.0]), jnp.zeros(2)))
      [2. 0.]
    """
    unravel = ravel_pytree(params)[1]
    grad = jax.grad(lambda p: loss(p, inputs, targets))
    return jax.jvp(grad, [params], [unravel(v)])[1]


def hessian_diag(loss: Callable[..., Any], params: Any, inputs: jax.Array, targets: jax.Array) -> jax.Array:
    r"""The diagonal of the Hessian of ``loss`` at ``params``, as a flat vector.

    Args:
      loss: ``loss(params, inputs, targets) -> scalar``.
      params: the point (a pytree).
      inputs: the inputs passed to ``loss``.
      targets: the targets passed to ``loss``.

    Returns:
      A vector with one entry per parameter (``ravel_pytree`` order).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> loss = lambda p, x, y: jnp.sum((p * x - y) ** 2)
      >>> print(zoo.second_order.hessian_diag(loss, jnp.zeros(2), jnp.array([1.0, 2.0]), jnp.zeros(2)))
      [2. 8.]
    """
    flat = _flat(params)
    basis = jnp.eye(flat.size, dtype=flat.dtype)  # optax's float64 basis fails on float32 params with x64 on
    return jax.vmap(lambda e: jnp.vdot(e, _flat(hvp(loss, e, params, inputs, targets))))(basis)
