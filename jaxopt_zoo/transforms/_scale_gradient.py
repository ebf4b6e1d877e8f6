"""``scale_gradient``: identity on the forward pass, gradient times ``scale`` backwards."""

from __future__ import annotations

from typing import Any

import jax


@jax.custom_vjp
def _scaled(inputs, scale):
    del scale
    return inputs


def _scaled_fwd(inputs, scale):
    return inputs, scale


def _scaled_bwd(scale, g):
    return jax.tree.map(lambda x: x * scale, g), None


_scaled.defvjp(_scaled_fwd, _scaled_bwd)


def scale_gradient(inputs: Any, scale: Any) -> Any:
    """Return ``inputs`` unchanged; gradients flowing back through it are multiplied by
    ``scale``.

    ``scale == 1`` returns ``inputs`` as they are, ``scale == 0`` stops the gradient
    (``jax.lax.stop_gradient``). Useful to slow down the learning of part of a model.

    Args:
      inputs: a pytree of arrays.
      scale: the factor applied to the gradient on the backward pass.

    Returns:
      ``inputs``, with the backward pass scaled.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum(zoo.scale_gradient(x, 0.5) ** 2)
      >>> print(jax.grad(f)(jnp.array([1.0, 3.0])))
      [1. 3.]
    """
    if not isinstance(scale, jax.core.Tracer):
        if scale == 1.0:
            return inputs
        if scale == 0.0:
            return jax.lax.stop_gradient(inputs)
    return _scaled(inputs, scale)
