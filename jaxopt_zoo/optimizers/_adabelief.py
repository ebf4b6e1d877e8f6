r"""AdaBelief: Adam whose second moment tracks the belief in the gradient.

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
   s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon_{root},

   p_t = p_{t-1} - \eta\, \frac{m_t/(1-\beta_1^t)}{\sqrt{s_t/(1-\beta_2^t)} + \epsilon}.

Steps are large where the gradient agrees with its running mean and small where it does
not.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _packable
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from .. import _validate
from ._adam import ScaleByAdamState, _check_adam_args
from ._alias import adaptive_alias

ScaleByBeliefState = ScaleByAdamState  # count, mu, nu (nu holds s_t)


def scale_by_belief(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-16, eps_root: Any = 1e-16, *, nesterov: bool = False) -> GradientTransformation:
    r"""AdaBelief's rescaling (see module docstring).

    Args:
      b1, b2: moment decays, in [0, 1).
      eps: added to the root, >= 0.
      eps_root: added to :math:`s_t` at every step, >= 0.
      nesterov: the Nesterov form of the first moment (as ``scale_by_adam``).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByBeliefState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative eps.

    References:
      Zhuang et al., `AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
      Gradients <https://arxiv.org/abs/2010.07468>`_, 2020.
    """
    _check_adam_args("scale_by_belief", b1, b2, eps, eps_root)

    def init_fn(params):
        return ScaleByBeliefState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        mu = _numerics.update_moment(updates, state.mu, b1, 1, where="scale_by_belief")
        surprise = jax.tree.map(lambda g, m: g - m, updates, mu)
        nu = _numerics.update_moment_per_elem_norm(surprise, state.nu, b2, 2, where="scale_by_belief")
        nu = jax.tree.map(lambda v: v + eps_root, nu)
        count = _numerics.safe_increment(state.count)
        mu_hat = _numerics.first_moment_hat(mu, updates, b1, count, nesterov)
        nu_hat = _numerics.bias_correction(nu, b2, count)
        updates = tree_map(lambda m, v: None if m is None else m / (jnp.sqrt(v) + eps), mu_hat, nu_hat)
        return updates, ScaleByBeliefState(count, _numerics.keep_dtype(mu, state.mu), _numerics.keep_dtype(nu, state.nu))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def adabelief(
    learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-16, eps_root: Any = 1e-16, *, nesterov: bool = False
) -> GradientTransformation:
    r"""AdaBelief (see module docstring).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, nesterov: as in ``scale_by_belief``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adabelief(1e-3)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.998889, -1.998889]

    References:
      Zhuang et al., `AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
      Gradients <https://arxiv.org/abs/2010.07468>`_, 2020.
    """
    _validate.check_learning_rate("adabelief", learning_rate)
    _check_adam_args("adabelief", b1, b2, eps, eps_root)
    return adaptive_alias(scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov), learning_rate)
