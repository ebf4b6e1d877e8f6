r"""Perturbed functions: a smooth Monte-Carlo surrogate of a (possibly piecewise constant) function.

For noise :math:`Z` with density :math:`\propto e^{\nu(z)}` and scale :math:`\sigma`,

.. math::
    f_\sigma(x) = \mathbb{E}_Z[f(x + \sigma Z)], \qquad
    \nabla f_\sigma(x) = -\tfrac{1}{\sigma}\, \mathbb{E}_Z\big[f(x + \sigma Z)\, \nabla\nu(Z)^\top\big],

estimated with ``num_samples`` samples. The value is the sample mean; the gradient comes
from the score-function ("magic box") term :math:`e^{\ell - \mathrm{stop}(\ell)}`, with
:math:`\ell = \sum \nu(Z)`, and, with ``use_baseline``, the control variate
:math:`f(x)`: each sample contributes :math:`b\, f(x + \sigma Z) + (1 - b) f(x)` with
:math:`b` the magic box (1 in value, so only the gradient changes).

References:
  Berthet, Blondel, Teboul, Cuturi, Vert, Bach, `Learning with differentiable perturbed
  optimizers <https://arxiv.org/abs/2002.08676>`_, 2020.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from ..tree_utils import tree_add_scale, tree_random_like, tree_scale, tree_sum
from ._noise import Gumbel


def _magic_box(x: jax.Array) -> jax.Array:
    """1 in value, with gradient ``x'``: ``exp(x - stop_gradient(x))``."""
    return jnp.exp(x - jax.lax.stop_gradient(x))


def make_perturbed_fun(
    fun: Callable[[Any], Any],
    num_samples: int = 1000,
    sigma: Any = 0.1,
    noise: Any = Gumbel(),  # noqa: B008  (optax's default, a stateless instance)
    use_baseline: bool = True,
) -> Callable[[Any, Any], Any]:
    r"""The Monte-Carlo perturbed version of ``fun``: ``(key, x) -> E[fun(x + sigma Z)]``, differentiable in ``x``.

    Args:
      fun: a function of a pytree, returning a pytree (it need not be differentiable).
      num_samples: the number of noise samples per call.
      sigma: the noise scale.
      noise: the distribution of :math:`Z`, with ``sample(key, shape, dtype)`` and
        ``log_prob`` (``Gumbel()`` or ``Normal()``).
      use_baseline: subtract ``fun(x)`` as a control variate in the gradient estimate.

    Returns:
      ``perturbed(key, x)``, the estimate of :math:`\mathbb{E}[f(x + \sigma Z)]`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> soft_argmax = zoo.perturbations.make_perturbed_fun(
      ...     lambda x: jax.nn.one_hot(jnp.argmax(x), 3), num_samples=100, sigma=0.5)
      >>> print(soft_argmax(jax.random.key(0), jnp.array([0.0, 5.0, 0.0])))
      [0. 1. 0.]
    """

    def estimate(key: Any, x: Any) -> Any:
        baseline = fun(jax.lax.stop_gradient(x)) if use_baseline else None

        def one_sample(k, x, baseline):
            z = tree_random_like(k, x, sampler=noise.sample)
            shifted = jax.lax.stop_gradient(jax.tree.map(lambda a, b: a + sigma * b, x, z))
            z = jax.tree.map(lambda a, s: (s - a) / sigma, x, shifted)  # Z again, now depending on x
            box = _magic_box(tree_sum(jax.tree.map(noise.log_prob, z)))
            out = tree_scale(box, fun(shifted))
            return tree_add_scale(out, 1 - box, baseline) if use_baseline else out

        samples = jax.vmap(one_sample, in_axes=(0, None, None))(jax.random.split(key, num_samples), x, baseline)
        return jax.tree.map(lambda s: jnp.mean(s, axis=0), samples)

    return estimate
