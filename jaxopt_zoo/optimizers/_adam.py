r"""Adam and its direct variants: AdamW, AMSGrad, NAdam and NAdamW.

Adam keeps exponential moving averages of the gradient and of its square and divides
one by the root of the other, each corrected for its zero initialisation:

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
   v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

   \hat m_t = m_t / (1-\beta_1^t), \qquad \hat v_t = v_t / (1-\beta_2^t), \qquad
   u_t = -\eta_t\, \hat m_t / (\sqrt{\hat v_t + \epsilon_{root}} + \epsilon).

* AMSGrad divides by the running maximum of :math:`\hat v_t` instead.
* NAdam (``nesterov=True``) uses
  :math:`\hat m_t = \beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)`.
* AdamW adds ``weight_decay * params`` after the scaling and before the learning rate.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._alias import adaptive_alias


class ScaleByAdamState(NamedTuple):
    """State of ``scale_by_adam``."""

    count: jax.Array  # int32 scalar: number of updates made
    mu: Any  # first moment, like params (dtype ``mu_dtype``)
    nu: Any  # second moment, like params (dtype ``nu_dtype``)


class ScaleByAmsgradState(NamedTuple):
    """State of ``scale_by_adam(amsgrad=True)``."""

    count: jax.Array
    mu: Any
    nu: Any
    nu_max: Any  # running maximum of the bias-corrected second moment


def _check_adam_args(fn: str, b1: Any, b2: Any, eps: Any, eps_root: Any) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "eps_root", eps_root)


def scale_by_adam(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    amsgrad: bool = False,
    nu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    r"""Rescale updates by Adam's bias-corrected moment ratio (see module docstring).

    ``u_t = \hat m_t / (\sqrt{\hat v_t + eps_root} + eps)``, with ``\hat v_t`` replaced by its
    running maximum when ``amsgrad`` and the Nesterov form of ``\hat m_t`` when ``nesterov``.

    Args:
      b1: decay of the first moment, in [0, 1).
      b2: decay of the second moment, in [0, 1).
      eps: added to the root of the second moment, >= 0.
      eps_root: added inside the root, >= 0 (keeps gradients through the update finite).
      mu_dtype: dtype of the first moment (``None``: that of the params).
      nesterov: use Nesterov momentum (NAdam, Dozat 2016).
      amsgrad: divide by the running maximum of the second moment (Reddi et al. 2018).
      nu_dtype: dtype of the second moment (``None``: that of the params).
      bias_correction_mu, bias_correction_nu: divide the moments by ``1 - b**t`` (as
        optax's ``amsgrad`` arguments of these names; turning ``bias_correction_mu`` off
        with ``nesterov`` is not supported).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdamState`` (``ScaleByAmsgradState``
      when ``amsgrad``).

    Raises:
      ValueError: if a concrete ``b1``/``b2`` is outside [0, 1) or ``eps``/``eps_root`` < 0,
        or for ``nesterov`` without ``bias_correction_mu``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.scale_by_adam(b2=0.99), zoo.scale(-1e-3))
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.999]

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2015.
    """
    _check_adam_args("scale_by_adam", b1, b2, eps, eps_root)
    if nesterov and not bias_correction_mu:
        _validate.fail("scale_by_adam", "bias_correction_mu", bias_correction_mu,
                       "must be True with nesterov=True (the Nesterov form is defined bias-corrected)")
    mu_dtype = _numerics.canonical_dtype(mu_dtype)
    nu_dtype = _numerics.canonical_dtype(nu_dtype)

    def init_fn(params):
        count = _numerics.zero_count()
        mu = _numerics.zeros_like(params, mu_dtype)
        nu = _numerics.zeros_like(params, nu_dtype)
        if amsgrad:
            return ScaleByAmsgradState(count, mu, nu, _numerics.zeros_like(params, nu_dtype))
        return ScaleByAdamState(count, mu, nu)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        mu, nu = _numerics.update_moments(updates, state.mu, state.nu, b1, b2, where="scale_by_adam")
        count = _numerics.safe_increment(state.count)
        mu_hat = _numerics.first_moment_hat(mu, updates, b1, count, nesterov) if bias_correction_mu else mu
        nu_hat = _numerics.bias_correction(nu, b2, count) if bias_correction_nu else nu
        if amsgrad:
            nu_hat = jax.tree.map(jnp.maximum, state.nu_max, nu_hat)
        updates = tree_map(
            lambda m, v: None if m is None else m / (jnp.sqrt(v + eps_root) + eps),
            mu_hat,
            nu_hat,
        )
        mu, nu = _numerics.keep_dtype(mu, state.mu), _numerics.keep_dtype(nu, state.nu)
        if amsgrad:
            return updates, ScaleByAmsgradState(count, mu, nu, _numerics.keep_dtype(nu_hat, state.nu_max))
        return updates, ScaleByAdamState(count, mu, nu)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def scale_by_amsgrad(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""AMSGrad's scaling: ``\hat m_t / (\sqrt{\max_{s \le t} \hat v_s + eps_root} + eps)``.

    optax's ``scale_by_amsgrad`` (its signature, state ``ScaleByAmsgradState(count, mu, nu,
    nu_max)`` and meaning); the same as ``scale_by_adam(..., amsgrad=True)``.

    Args:
      b1, b2, eps, eps_root, mu_dtype, nu_dtype: as in ``scale_by_adam``.
      bias_correction_mu: divide the first moment by ``1 - b1**t``.
      bias_correction_nu: divide the second moment by ``1 - b2**t`` before the running
        maximum (``False`` for both is the paper's algorithm).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAmsgradState``.

    Raises:
      ValueError: if a concrete ``b1``/``b2`` is outside [0, 1) or ``eps``/``eps_root`` < 0.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_amsgrad()
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, -2.0]), state)
      >>> u, state = tx.update(jnp.array([0.1, -0.2]), state)  # the maximum of v keeps the step small
      >>> print(u.round(4))
      [ 0.5263 -0.5263]

    References:
      Reddi, Kale & Kumar, `On the Convergence of Adam and Beyond
      <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018.
    """
    _check_adam_args("scale_by_amsgrad", b1, b2, eps, eps_root)
    return scale_by_adam(b1, b2, eps, eps_root, mu_dtype, amsgrad=True, nu_dtype=nu_dtype,
                         bias_correction_mu=bias_correction_mu, bias_correction_nu=bias_correction_nu)


def adam(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""Adam: ``p <- p - lr_t * \hat m_t / (\sqrt{\hat v_t + eps_root} + eps)``.

    ``chain(scale_by_adam(...), scale_by_learning_rate(learning_rate))``; see the module
    docstring for the moments.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype: as in ``scale_by_adam``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad ``scale_by_adam`` argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones(3)}
      >>> tx = zoo.adam(1e-3)
      >>> state = tx.init(params)
      >>> grads = jax.grad(lambda p: jnp.sum(p["w"] ** 2))(params)
      >>> updates, state = tx.update(grads, state, params)
      >>> params = zoo.apply_updates(params, updates)
      >>> print([round(float(w), 6) for w in params["w"]])
      [0.999, 0.999, 0.999]

    References:
      Kingma & Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2015.
    """
    _validate.check_learning_rate("adam", learning_rate)
    _check_adam_args("adam", b1, b2, eps, eps_root)
    return adaptive_alias(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov, nu_dtype=nu_dtype), learning_rate)


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    weight_decay: Any = 1e-4,
    mask: Any | Callable[[Any], Any] | None = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""AdamW: Adam with decoupled weight decay.

    ``p <- p - lr_t * (\hat m_t / (\sqrt{\hat v_t + eps_root} + eps) + weight_decay * p)``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype: as in ``scale_by_adam``.
      weight_decay: the decoupled decay rate, >= 0 (optax's default 1e-4; torch's is 1e-2).
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or weight decay, or a bad Adam argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adamw(3e-4, weight_decay=1e-2)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999697, -1.999694]

    References:
      Loshchilov & Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    _validate.check_learning_rate("adamw", learning_rate)
    _check_adam_args("adamw", b1, b2, eps, eps_root)
    _validate.check_nonnegative("adamw", "weight_decay", weight_decay)
    return adaptive_alias(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov, nu_dtype=nu_dtype),
                          learning_rate, weight_decay, mask)


def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""AMSGrad: Adam dividing by the running maximum of ``\hat v_t``.

    ``p <- p - lr_t * \hat m_t / (\sqrt{\max_{s \le t} \hat v_s + eps_root} + eps)``:
    ``chain(scale_by_amsgrad(...), scale_by_learning_rate(learning_rate))``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nu_dtype: as in ``scale_by_adam``.
      bias_correction_mu, bias_correction_nu: bias-correct the first / second moment
        (optax's arguments).

    Returns:
      A ``GradientTransformation``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.amsgrad(1e-3)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.999]

    References:
      Reddi, Kale & Kumar, `On the Convergence of Adam and Beyond
      <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018.
    """
    _validate.check_learning_rate("amsgrad", learning_rate)
    _check_adam_args("amsgrad", b1, b2, eps, eps_root)
    return adaptive_alias(
        scale_by_amsgrad(b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu, nu_dtype=nu_dtype),
        learning_rate)


def nadam(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""NAdam: Adam with Nesterov momentum (``adam(..., nesterov=True)``).

    ``\hat m_t = \beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)``, the rest as Adam.
    This is optax's NAdam; torch's (with its momentum-decay schedule) is
    ``jaxopt_zoo.torch_compat.NAdam``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nu_dtype: as in ``scale_by_adam``.
      nesterov: optax's switch (``False`` makes it ``adam``).

    Returns:
      A ``GradientTransformation``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.nadam(1e-3)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.998526, -1.998526]

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/pdf?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.
    """
    _validate.check_learning_rate("nadam", learning_rate)
    _check_adam_args("nadam", b1, b2, eps, eps_root)
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov, nu_dtype=nu_dtype)


def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    weight_decay: Any = 1e-4,
    mask: Any | Callable[[Any], Any] | None = None,
    *,
    nesterov: bool = True,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""NAdamW: AdamW with Nesterov momentum (``adamw(..., nesterov=True)``, as ``optax.nadamw``).

    ``p <- p - lr_t * (\hat m_t / (\sqrt{\hat v_t + eps_root} + eps) + weight_decay * p)`` with
    ``\hat m_t = \beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nu_dtype: as in ``scale_by_adam``.
      weight_decay: the decoupled decay rate, >= 0 (optax's default 1e-4).
      mask: where to apply weight decay, as in ``add_decayed_weights``.
      nesterov: Nesterov momentum (optax's keyword; ``False`` gives ``adamw``).

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or weight decay, or a bad Adam argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.array([1.0, -2.0])}
      >>> tx = zoo.nadamw(0.1, weight_decay=0.0)
      >>> updates, _ = tx.update({"w": jnp.array([3.0, -3.0])}, tx.init(params), params)
      >>> print(updates["w"].round(3))  # NAdam's first step is larger than Adam's lr
      [-0.147  0.147]

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/pdf?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.
      Loshchilov & Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    _validate.check_learning_rate("nadamw", learning_rate)
    _check_adam_args("nadamw", b1, b2, eps, eps_root)
    _validate.check_nonnegative("nadamw", "weight_decay", weight_decay)
    return adamw(learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov=nesterov, nu_dtype=nu_dtype)
