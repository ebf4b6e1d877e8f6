r"""RAdam: Adam with the variance of the adaptive step rectified early in training.

With :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
:math:`\rho_k = \rho_\infty - 2k\beta_2^k/(1-\beta_2^k)`, while :math:`\rho_k` is below
``threshold`` the step is plain bias-corrected momentum :math:`\hat m_k`; afterwards it is

.. math::

   r_k = \sqrt{\frac{(\rho_k-4)(\rho_k-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_k}},
   \qquad u_k = r_k \frac{\hat m_k}{\sqrt{\hat v_k + \epsilon_{root}} + \epsilon}.

optax's threshold is 5.0 (the paper's is 4; PyTorch's RAdam uses 5).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._adam import ScaleByAdamState, _check_adam_args
from ._alias import adaptive_alias


def scale_by_radam(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    threshold: Any = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""RAdam's rescaling (see module docstring).

    Args:
      b1, b2: moment decays, in [0, 1).
      eps, eps_root: stabilisers outside / inside the root, >= 0.
      threshold: the value of :math:`\rho_k` from which the adaptive step is used.
      nesterov: use the Nesterov form of :math:`\hat m_k` (as ``scale_by_adam``).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdamState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative eps.

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.
    """
    _check_adam_args("scale_by_radam", b1, b2, eps, eps_root)
    _validate.check_nonnegative("scale_by_radam", "threshold", threshold)
    rho_inf = _numerics.radam_rho_inf(b2)

    def init_fn(params):
        return ScaleByAdamState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        mu = _numerics.update_moment(updates, state.mu, b1, 1, where="scale_by_radam")
        nu = _numerics.update_moment_per_elem_norm(updates, state.nu, b2, 2, where="scale_by_radam")
        count = _numerics.safe_increment(state.count)
        rho = _numerics.radam_rho(b2, count, precise=False)  # optax's arithmetic, as its reference
        on, r = _numerics.radam_rectifier(rho, rho_inf, threshold)
        mu_hat = _numerics.first_moment_hat(mu, updates, b1, count, nesterov)
        nu_hat = _numerics.bias_correction(nu, b2, count)
        rectified = tree_map(
            lambda m, v: r.astype(m.dtype) * m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat
        )
        updates = jax.tree.map(lambda t, f: jnp.where(on, t, f), rectified, mu_hat)
        return updates, ScaleByAdamState(count, _numerics.keep_dtype(mu, state.mu), _numerics.keep_dtype(nu, state.nu))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def radam(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    threshold: Any = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""RAdam: ``p <- p - lr * u_k`` with RAdam's rectified step (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, threshold, nesterov: as in ``scale_by_radam``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.radam(1e-3)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.998]

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.
    """
    _validate.check_learning_rate("radam", learning_rate)
    _check_adam_args("radam", b1, b2, eps, eps_root)
    _validate.check_nonnegative("radam", "threshold", threshold)
    return adaptive_alias(scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov), learning_rate)
