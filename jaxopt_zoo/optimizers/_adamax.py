r"""AdaMax (and AdaMaxW): Adam with the infinity norm in place of the second moment.

.. math::

   m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad
   u_k = \max(|g_k| + \epsilon, \beta_2 u_{k-1}), \qquad
   p_k = p_{k-1} - \eta_k \frac{m_k / (1-\beta_1^k)}{u_k}.

The infinity moment needs no bias correction. optax adds ``eps`` inside the maximum (as
here); PyTorch adds it to the scaled previous maximum (``jaxopt_zoo.torch_compat.Adamax``).
AdaMaxW adds ``weight_decay * p`` after the scaling and before the learning rate (AdamW's
decoupled decay).
"""

from __future__ import annotations

from typing import Any, Callable


from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._adam import ScaleByAdamState
from ._alias import adaptive_alias


def _check(fn: str, b1: Any, b2: Any, eps: Any) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)


def scale_by_adamax(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    r"""AdaMax's rescaling: ``u <- (m / (1 - b1^k)) / max(|g| + eps, b2 * u)``.

    Args:
      b1: decay of the first moment, in [0, 1).
      b2: decay of the infinity moment, in [0, 1).
      eps: added to ``|g|`` inside the maximum, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdamState`` (``nu`` holds the
      infinity moment).

    Raises:
      ValueError: for a decay outside [0, 1) or a negative eps.

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization (section 7.1)
      <https://arxiv.org/abs/1412.6980>`_, 2015.
    """
    _check("scale_by_adamax", b1, b2, eps)

    def init_fn(params):
        return ScaleByAdamState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _numerics.safe_increment(state.count)
        mu = _numerics.update_moment(updates, state.mu, b1, 1, where="scale_by_adamax")
        nu = _numerics.update_infinity_moment(updates, state.nu, b2, eps, where="scale_by_adamax")
        mu_hat = _numerics.bias_correction(mu, b1, count)
        new_state = ScaleByAdamState(count, _numerics.keep_dtype(mu, state.mu), _numerics.keep_dtype(nu, state.nu))
        return tree_map(lambda m, u: m / u, mu_hat, nu), new_state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def adamax(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    r"""AdaMax: ``p <- p - lr * (m / (1 - b1^k)) / max(|g| + eps, b2 * u)``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps: as in ``scale_by_adamax``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adamax(2e-3)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.998, -1.998]

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization (section 7.1)
      <https://arxiv.org/abs/1412.6980>`_, 2015.
    """
    _validate.check_learning_rate("adamax", learning_rate)
    _check("adamax", b1, b2, eps)
    return adaptive_alias(scale_by_adamax(b1, b2, eps), learning_rate)


def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 1e-4,
    mask: Any | Callable[[Any], Any] | None = None,
) -> GradientTransformation:
    r"""AdaMaxW: AdaMax with decoupled weight decay (as ``optax.adamaxw``).

    ``p <- p - lr * ((m / (1 - b1^k)) / max(|g| + eps, b2 * u) + weight_decay * p)``: the decay
    is added after the AdaMax scaling and multiplied by the learning rate, as in AdamW.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps: as in ``scale_by_adamax``.
      weight_decay: the decoupled decay rate, >= 0 (optax's default 1e-4).
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or weight decay, or a bad AdaMax argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.array([1.0, -2.0])}
      >>> tx = zoo.adamaxw(0.1, weight_decay=0.5)
      >>> updates, _ = tx.update({"w": jnp.array([0.0, 0.0])}, tx.init(params), params)
      >>> print(updates["w"])
      [-0.05  0.1 ]

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization (section 7.1)
      <https://arxiv.org/abs/1412.6980>`_, 2015.
      Loshchilov & Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    _validate.check_learning_rate("adamaxw", learning_rate)
    _check("adamaxw", b1, b2, eps)
    _validate.check_nonnegative("adamaxw", "weight_decay", weight_decay)
    return adaptive_alias(scale_by_adamax(b1, b2, eps), learning_rate, weight_decay, mask)
