r"""Noisy SGD: gradient descent on gradients with annealed Gaussian noise.

.. math::

   u_t = -\eta_t\,(g_t + \sigma_t \xi_t), \qquad \sigma_t^2 = \frac{\eta_{noise}}{t^{\gamma}},
   \quad \xi_t \sim \mathcal N(0, I), \quad t = 1, 2, \ldots

``chain(add_noise(eta, gamma, key), scale_by_learning_rate(learning_rate))`` as
``optax.noisy_sgd``; the same key (or seed) gives optax's very noise, so trajectories are
equal (tested). The paper's schedule :math:`\eta/(1+t)^{\gamma}` with :math:`t` from 0 is this
one; its recommended :math:`\eta \in \{0.01, 0.3, 1.0\}`, :math:`\gamma = 0.55`.
"""

from __future__ import annotations

from typing import Any

from .. import _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from ..transforms._noise import add_noise, check_noise_args
from ..transforms._scaling import scale_by_learning_rate


def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: Any = 0.01,
    gamma: Any = 0.55,
    key: Any = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    r"""Noisy SGD: ``p <- p - lr_t (g + N(0, eta / t**gamma))`` (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      eta: the noise variance at the first step, >= 0.
      gamma: the decay exponent of the variance, >= 0.
      key: a ``jax.random.key``, a raw ``PRNGKey`` or an integer seed (``None``: seed 0, as
        optax; pass one).
      seed: optax's older name for an integer ``key``.

    Returns:
      A ``GradientTransformation``; its state carries the key (``AddNoiseState``).

    Raises:
      ValueError: for a negative learning rate, ``eta`` or ``gamma``, or a bad key.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.noisy_sgd(0.1, key=jax.random.key(0))
      >>> state = tx.init(params)
      >>> for _ in range(50):
      ...     updates, state = tx.update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 0.01)
      True

    References:
      Neelakantan et al., `Adding Gradient Noise Improves Learning for Very Deep Networks
      <https://arxiv.org/abs/1511.06807>`_, 2015.
    """
    _validate.check_learning_rate("noisy_sgd", learning_rate)
    check_noise_args("noisy_sgd", eta, gamma, key, seed)
    return chain(add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate))
