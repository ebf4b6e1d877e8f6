r"""A diagonal multivariate normal parameterised by its mean and log standard deviation.

For :math:`\mu` and :math:`\log\sigma` (broadcast together to the event shape),
samples are :math:`\mu + \sigma \odot \varepsilon` with :math:`\varepsilon \sim N(0, I)`, and

.. math::
    \log p(x) = \sum_j \Big(-\tfrac{(x_j - \mu_j)^2}{2\sigma_j^2} - \log\sigma_j - \tfrac12\log 2\pi\Big),

summed over the event axes. This is the search distribution of evolution strategies.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm


class MultiNormalDiagFromLogScale:
    """A normal distribution with diagonal covariance, parameterised by ``loc`` and ``log_scale``.

    Args:
      loc: the mean.
      log_scale: the log standard deviation (broadcast with ``loc``).
    """

    def __init__(self, loc: Any, log_scale: Any):
        self._log_scale = jnp.asarray(log_scale)
        self._scale = jnp.exp(log_scale)
        self._mean = jnp.asarray(loc)
        self._param_shape = jax.lax.broadcast_shapes(self._mean.shape, self._scale.shape)

    def sample(self, shape: Any, key: Any) -> jax.Array:
        """``shape`` samples (an array of shape ``(*shape, *event_shape)``) drawn with ``key``."""
        eps = jax.random.normal(key, shape=tuple(shape) + self._param_shape)
        return eps * self._scale + self._mean

    def log_prob(self, x: Any) -> jax.Array:
        """The log density of ``x``, summed over the event axes."""
        per_coordinate = norm.logpdf(x, loc=self._mean, scale=self._scale)
        return jnp.sum(per_coordinate, axis=[-(i + 1) for i in range(len(self._param_shape))])

    @property
    def log_scale(self) -> jax.Array:
        """The log standard deviation."""
        return self._log_scale

    @property
    def params(self) -> list:
        """``[loc, log_scale]``."""
        return [self._mean, self._log_scale]


def multi_normal(loc: Any, log_scale: Any) -> MultiNormalDiagFromLogScale:
    r"""A diagonal normal :math:`N(\mathrm{loc}, \mathrm{diag}(e^{2\,\mathrm{log\_scale}}))` with ``sample`` and ``log_prob``.

    Args:
      loc: the mean.
      log_scale: the log standard deviation.

    Returns:
      A ``MultiNormalDiagFromLogScale``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> dist = zoo.multi_normal(jnp.zeros(2), jnp.zeros(2))
      >>> print(round(float(dist.log_prob(jnp.zeros(2))), 4))
      -1.8379
    """
    return MultiNormalDiagFromLogScale(loc=loc, log_scale=log_scale)
