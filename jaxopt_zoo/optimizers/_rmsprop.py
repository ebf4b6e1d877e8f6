r"""RMSprop: divide by a running root mean square of the gradients.

.. math::

   v_k = \rho v_{k-1} + (1-\rho) g_k^2, \qquad u_k = g_k / \sqrt{v_k + \epsilon}

(``eps_in_sqrt=False`` gives :math:`g_k / (\sqrt{v_k} + \epsilon)`, PyTorch's placement).
``centered`` also tracks :math:`m_k = \rho m_{k-1} + (1-\rho) g_k` and divides by the
running standard deviation :math:`\sqrt{v_k - m_k^2 + \epsilon}`; ``bias_correction``
divides :math:`v_k` (and :math:`m_k`) by :math:`1-\rho^k`. With ``momentum`` the scaled
step goes through a momentum buffer *after* the learning rate (optax's order; torch's
order, momentum before the learning rate, is ``jaxopt_zoo.torch_compat.RMSprop``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain, identity
from .._tree import tree_map
from ..transforms._momentum import trace
from ..transforms._scaling import scale_by_learning_rate


class ScaleByRmsState(NamedTuple):
    """State of ``scale_by_rms``."""

    nu: Any


class ScaleByRmsWithCountState(NamedTuple):
    """State of ``scale_by_rms(bias_correction=True)``."""

    count: jax.Array
    nu: Any


class ScaleByRStdDevState(NamedTuple):
    """State of ``scale_by_stddev``."""

    mu: Any
    nu: Any


class ScaleByRStdDevWithCountState(NamedTuple):
    """State of ``scale_by_stddev(bias_correction=True)``."""

    count: jax.Array
    mu: Any
    nu: Any


def _check(fn: str, decay: Any, eps: Any, initial_scale: Any) -> None:
    _validate.check_decay(fn, "decay", decay)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "initial_scale", initial_scale)


def _inverse_root(eps: Any, eps_in_sqrt: bool):
    if eps_in_sqrt:
        return lambda v: jax.lax.rsqrt(v + eps)
    return lambda v: 1 / (jnp.sqrt(v) + eps)


def scale_by_rms(
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: Any = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Divide by the running RMS of the gradients: ``u <- g / \sqrt{v + eps}``.

    Args:
      decay: decay of the running mean square, in [0, 1).
      eps: stabiliser, >= 0 (inside the root when ``eps_in_sqrt``, else outside).
      initial_scale: starting value of ``v``, >= 0.
      eps_in_sqrt: where ``eps`` goes (see above).
      bias_correction: divide ``v`` by ``1 - decay**k``.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByRmsState`` (or
      ``ScaleByRmsWithCountState`` with bias correction).

    Raises:
      ValueError: for a decay outside [0, 1) or a negative eps / initial scale.

    References:
      Tieleman & Hinton, `Lecture 6.5 - RMSprop
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
    """
    _check("scale_by_rms", decay, eps, initial_scale)
    inv_root = _inverse_root(eps, eps_in_sqrt)

    def init_fn(params):
        nu = _numerics.full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRmsWithCountState(count=_numerics.zero_count(), nu=nu)
        return ScaleByRmsState(nu=nu)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        nu = _numerics.update_moment_per_elem_norm(updates, state.nu, decay, 2, where="scale_by_rms")
        if bias_correction:
            count = _numerics.safe_increment(state.count)
            nu_hat = _numerics.bias_correction(nu, decay, count)
        else:
            nu_hat = nu
        updates = tree_map(lambda g, v: inv_root(v) * g, updates, nu_hat)
        nu = _numerics.keep_dtype(nu, state.nu)
        if bias_correction:
            return updates, ScaleByRmsWithCountState(count=count, nu=nu)
        return updates, ScaleByRmsState(nu=nu)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def scale_by_stddev(
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: Any = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Divide by the running standard deviation: ``u <- g / \sqrt{v - m^2 + eps}``.

    Args:
      decay, eps, initial_scale, eps_in_sqrt, bias_correction: as in ``scale_by_rms``.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByRStdDevState`` (or
      ``ScaleByRStdDevWithCountState``).

    Raises:
      ValueError: for a decay outside [0, 1) or a negative eps / initial scale.

    References:
      Graves, `Generating Sequences With Recurrent Neural Networks
      <https://arxiv.org/abs/1308.0850>`_, 2013.
    """
    _check("scale_by_stddev", decay, eps, initial_scale)
    inv_root = _inverse_root(eps, eps_in_sqrt)

    def init_fn(params):
        mu = _numerics.zeros_like(params)
        nu = _numerics.full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRStdDevWithCountState(count=_numerics.zero_count(), mu=mu, nu=nu)
        return ScaleByRStdDevState(mu=mu, nu=nu)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        mu = _numerics.update_moment(updates, state.mu, decay, 1, where="scale_by_stddev")
        nu = _numerics.update_moment_per_elem_norm(updates, state.nu, decay, 2, where="scale_by_stddev")
        if bias_correction:
            count = _numerics.safe_increment(state.count)
            mu_hat = _numerics.bias_correction(mu, decay, count)
            nu_hat = _numerics.bias_correction(nu, decay, count)
        else:
            mu_hat, nu_hat = mu, nu
        updates = tree_map(
            lambda g, m, v: inv_root(v - _numerics.abs_sq(m)) * g, updates, mu_hat, nu_hat
        )
        mu, nu = _numerics.keep_dtype(mu, state.mu), _numerics.keep_dtype(nu, state.nu)
        if bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: Any = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: Any = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""RMSprop: ``p <- p - lr * g / \sqrt{v + eps}`` (see module docstring for the options).

    Args:
      learning_rate: a float >= 0 or a schedule.
      decay, eps, initial_scale, eps_in_sqrt, bias_correction: as in ``scale_by_rms``.
      centered: divide by the running standard deviation instead of the RMS.
      momentum: momentum coefficient in [0, 1) applied after the learning rate, or ``None``.
      nesterov: Nesterov form of that momentum.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.rmsprop(1e-3, decay=0.99, centered=True, momentum=0.9)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.98995, -1.98995]

    References:
      Tieleman & Hinton, `Lecture 6.5 - RMSprop
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
      Graves, `Generating Sequences With Recurrent Neural Networks
      <https://arxiv.org/abs/1308.0850>`_, 2013.
    """
    _validate.check_learning_rate("rmsprop", learning_rate)
    _check("rmsprop", decay, eps, initial_scale)
    if momentum is not None:
        _validate.check_decay("rmsprop", "momentum", momentum)
    scaler = scale_by_stddev if centered else scale_by_rms
    return chain(
        scaler(decay, eps, initial_scale, eps_in_sqrt, bias_correction),
        scale_by_learning_rate(learning_rate),
        trace(momentum, nesterov) if momentum is not None else identity(),
    )
