r"""The diagonal of the empirical Fisher information of a negative log-likelihood.

With :math:`g = \nabla_\theta\, \mathrm{nll}(\theta; x, y)` flattened to one vector, the
diagonal of the empirical Fisher :math:`g g^\top` is :math:`g \odot g`. optax deprecates
this in 0.2.8 (removal in 0.2.9); the zoo keeps it, without the warning.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def fisher_diag(
    negative_log_likelihood: Callable[..., Any], params: Any, inputs: jax.Array, targets: jax.Array
) -> jax.Array:
    r"""The squared gradient of ``negative_log_likelihood`` at ``params``, as a flat vector.

    Args:
      negative_log_likelihood: ``nll(params, inputs, targets) -> scalar``.
      params: the point (a pytree).
      inputs: the inputs passed to it.
      targets: the targets passed to it.

    Returns:
      A vector with one entry per parameter (``ravel_pytree`` order).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> nll = lambda p, x, y: jnp.sum(p * x)
      >>> print(zoo.second_order.fisher_diag(nll, jnp.zeros(2), jnp.array([1.0, 3.0]), None))
      [1. 9.]
    """
    return jnp.square(ravel_pytree(jax.grad(negative_log_likelihood)(params, inputs, targets))[0])
