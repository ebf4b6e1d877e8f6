r"""Momentum (``trace``) and exponential moving averages (``ema``) of the updates.

``trace``: :math:`t_k = g_k + \mu t_{k-1}`; the output is :math:`t_k`, or
:math:`g_k + \mu t_k` with Nesterov momentum (Sutskever et al. 2013's formulation).

``ema``: :math:`e_k = (1-\delta) g_k + \delta e_{k-1}`; the output is :math:`e_k`, divided
by :math:`1-\delta^k` when ``debias``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import tree_map


class TraceState(NamedTuple):
    """State of ``trace``: the momentum buffer, like params."""

    trace: Any


class EmaState(NamedTuple):
    """State of ``ema``: the update count and the average, like params."""

    count: jax.Array
    ema: Any


def trace(decay: Any, nesterov: bool = False, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Heavy-ball momentum: ``t <- g + decay * t``; output ``t`` (or ``g + decay * t``).

    Args:
      decay: the momentum coefficient, in [0, 1] (1 sums the updates, as optax and torch
        allow: a plain accumulator).
      nesterov: output the Nesterov look-ahead ``g + decay * t``.
      accumulator_dtype: dtype of the buffer (``None``: that of the params).

    Returns:
      A ``GradientTransformation`` with state ``TraceState``.

    Raises:
      ValueError: if a concrete ``decay`` is outside [0, 1].

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.trace(0.9, nesterov=True), zoo.scale(-0.1))
      >>> import jax.numpy as jnp
      >>> g = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(g, tx.init(g), g)
      >>> print([round(float(u), 6) for u in updates])
      [-0.57, 0.76]

    References:
      Sutskever, Martens, Dahl & Hinton, `On the importance of initialization and momentum
      in deep learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.
    """
    _validate.check_range("trace", "decay", decay, 0.0, 1.0)
    accumulator_dtype = _numerics.canonical_dtype(accumulator_dtype)

    def init_fn(params):
        return TraceState(trace=_numerics.zeros_like(params, accumulator_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        step = lambda g, t: None if g is None else g + decay * t  # noqa: E731
        new_trace = tree_map(step, updates, state.trace, where="trace", names=("updates", "state.trace"))
        out = tree_map(step, updates, new_trace) if nesterov else new_trace
        # The buffer keeps its dtype (a float64 momentum does not promote a float32 state).
        return out, TraceState(trace=_numerics.keep_dtype(new_trace, state.trace))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def ema(decay: Any, debias: bool = True, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Exponential moving average of the updates: ``e <- (1 - decay) * g + decay * e``.

    Args:
      decay: the averaging coefficient, in [0, 1).
      debias: divide the output by ``1 - decay**k`` (Adam-style bias correction).
      accumulator_dtype: dtype of the average (``None``: that of the params).

    Returns:
      A ``GradientTransformation`` with state ``EmaState``.

    Raises:
      ValueError: if a concrete ``decay`` is outside [0, 1).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.ema(0.9), zoo.scale(-0.1))
      >>> import jax.numpy as jnp
      >>> g = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(g, tx.init(g), g)
      >>> print([round(float(u), 6) for u in updates])
      [-0.3, 0.4]
    """
    _validate.check_decay("ema", "decay", decay)
    accumulator_dtype = _numerics.canonical_dtype(accumulator_dtype)

    def init_fn(params):
        return EmaState(count=_numerics.zero_count(), ema=_numerics.zeros_like(params, accumulator_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        new_ema = _numerics.update_moment(updates, state.ema, decay, 1, where="ema")
        count = _numerics.safe_increment(state.count)
        out = _numerics.bias_correction(new_ema, decay, count) if debias else new_ema
        return out, EmaState(count=count, ema=_numerics.keep_dtype(new_ema, state.ema))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))
