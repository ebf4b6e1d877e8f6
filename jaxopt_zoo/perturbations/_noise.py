r"""The noise distributions of ``make_perturbed_fun``: standard normal and standard Gumbel.

Each has ``sample(key, sample_shape, dtype)`` and an unnormalised ``log_prob``:

.. math::
    \log p_{\mathrm{Normal}}(z) = -\tfrac12 z^2, \qquad
    \log p_{\mathrm{Gumbel}}(z) = -z - e^{-z}.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


class Normal:
    """The standard normal distribution (``log_prob`` up to a constant).

    Example:
      >>> import jax, jaxopt_zoo as zoo
      >>> print(zoo.perturbations.Normal().sample(jax.random.key(0), (3,)).shape)
      (3,)
    """

    def sample(self, key: Any, sample_shape: tuple = (), dtype: Any = float) -> jax.Array:
        """Samples of shape ``sample_shape``."""
        return jax.random.normal(key, sample_shape, dtype)

    def log_prob(self, inputs: jax.Array) -> jax.Array:
        """``-inputs**2 / 2``."""
        return -0.5 * inputs**2


class Gumbel:
    """The standard Gumbel distribution (``log_prob`` exact).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(round(float(zoo.perturbations.Gumbel().log_prob(jnp.array(0.0))), 4))
      -1.0
    """

    def sample(self, key: Any, sample_shape: tuple = (), dtype: Any = float) -> jax.Array:
        """Samples of shape ``sample_shape``."""
        return jax.random.gumbel(key, sample_shape, dtype)

    def log_prob(self, inputs: jax.Array) -> jax.Array:
        """``-inputs - exp(-inputs)``."""
        return -inputs - jnp.exp(-inputs)
