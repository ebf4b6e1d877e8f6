r"""Adafactor: Adam-like steps with factored second moments (sublinear memory).

For a leaf whose two largest dimensions are at least ``min_dim_size_to_factor``, the
second moment of an ``n x m`` matrix is kept as a row vector ``R`` (n) and a column
vector ``C`` (m) instead of ``n * m`` numbers:

.. math::

   \beta_t = 1 - (t+1)^{-0.8}, \quad
   R_t = \beta_t R_{t-1} + (1-\beta_t)\,\mathrm{mean}_{cols}(g^2 + \epsilon), \quad
   C_t = \beta_t C_{t-1} + (1-\beta_t)\,\mathrm{mean}_{rows}(g^2 + \epsilon),

   u = g \,/\, \sqrt{(R_t / \mathrm{mean}(R_t)) \otimes C_t}.

Smaller leaves keep a full second moment. The update is then clipped to RMS
``clipping_threshold``, multiplied by the learning rate and (``multiply_by_parameter_scale``)
by the RMS of the parameter. Memory: ``n + m`` numbers instead of ``n * m`` per factored
matrix, and no first moment unless ``momentum`` is set. optax computes the decay rate
:math:`\beta_t` in float32; so does this implementation, to stay equal to it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import check_same_structure, unzip
from ..transforms._clipping import clip_by_block_rms
from ..transforms._momentum import ema
from ..transforms._scaling import scale, scale_by_learning_rate
from ..transforms._trust_ratio import scale_by_param_block_rms
from ..transforms._weight_decay import add_decayed_weights


class FactoredState(NamedTuple):
    """State of ``scale_by_factored_rms``: placeholders of shape (1,) where a form is unused."""

    count: jax.Array
    v_row: Any  # factored leaves: the row statistics
    v_col: Any  # factored leaves: the column statistics
    v: Any  # unfactored leaves: the full second moment


def decay_rate_pow(step: Any, exponent: Any = 0.8) -> jax.Array:
    """Adafactor's increasing decay ``1 - (step + 1) ** -exponent`` (in float32, as optax)."""
    t = jnp.asarray(step, jnp.float32) + 1  # (in float: step + 1 would overflow at the int32 max)
    return 1.0 - t ** (-exponent)


def _factored_dims(shape, factored: bool, min_dim: int):
    """The (second largest, largest) dimensions to factor over, or ``None``."""
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim:
        return None
    return int(order[-2]), int(order[-1])


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: Any = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: Any = 1e-30,
    decay_rate_fn: Callable[[Any, Any], Any] = decay_rate_pow,
) -> GradientTransformation:
    r"""Divide by the (factored) root mean square of past gradients (see module docstring).

    Args:
      factored: factor the second moment of leaves with two large dimensions.
      decay_rate: the exponent of ``decay_rate_fn`` (0.8: :math:`1 - (t+1)^{-0.8}`).
      step_offset: subtracted from the step before computing the decay.
      min_dim_size_to_factor: factor only when the two largest dimensions are this large.
      epsilon: added to the squared gradient, >= 0.
      decay_rate_fn: ``(step, decay_rate) -> decay``.

    Returns:
      A ``GradientTransformation`` with state ``FactoredState``; its update needs ``params``.

    References:
      Shazeer & Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.
    """
    _validate.check_nonnegative("scale_by_factored_rms", "epsilon", epsilon)
    _validate.check_int("scale_by_factored_rms", "min_dim_size_to_factor", min_dim_size_to_factor, lo=0)
    _validate.check_nonnegative("scale_by_factored_rms", "decay_rate", decay_rate)
    _validate.check_int("scale_by_factored_rms", "step_offset", step_offset, lo=0)

    def placeholder(p):
        return jnp.zeros((1,), p.dtype)

    def init_fn(params):
        def leaf_state(p):
            dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
            if dims is None:
                return placeholder(p), placeholder(p), jnp.zeros_like(p)
            d1, d0 = dims
            # zeros_like of the reductions update makes: the same shape, dtype and sharding
            # (under explicit sharding a plain jnp.zeros would be replicated, and the state's
            # type would change after one step). Only their type is used: jit drops the means.
            # An abstract param (jax.ShapeDtypeStruct, as in jax.eval_shape) is made concrete first.
            src = p if isinstance(p, jax.Array) else jnp.zeros_like(p)
            return (jnp.zeros_like(jnp.mean(src, axis=d0), p.dtype), jnp.zeros_like(jnp.mean(src, axis=d1), p.dtype),
                    placeholder(p))

        return FactoredState(_numerics.zero_count(), *unzip(jax.tree.map(leaf_state, params), 3))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("scale_by_factored_rms", params, updates)
        check_same_structure("scale_by_factored_rms", (updates, state.v, params), ("updates", "state.v", "params"))
        beta = decay_rate_fn(state.count - step_offset, decay_rate)

        def leaf(g, v_row, v_col, v, p):
            dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
            g_sq = _numerics.abs_sq(g) + epsilon
            if dims is None:
                new_v = (beta * v + (1.0 - beta) * g_sq).astype(p.dtype)
                return g * new_v**-0.5, placeholder(p), placeholder(p), new_v
            d1, d0 = dims
            row = (beta * v_row + (1.0 - beta) * jnp.mean(g_sq, axis=d0)).astype(p.dtype)
            col = (beta * v_col + (1.0 - beta) * jnp.mean(g_sq, axis=d1)).astype(p.dtype)
            reduced_d1 = d1 - 1 if d1 > d0 else d1
            row_factor = (row / jnp.mean(row, axis=reduced_d1, keepdims=True)) ** -0.5
            col_factor = col**-0.5
            u = g * jnp.expand_dims(row_factor, axis=d0) * jnp.expand_dims(col_factor, axis=d1)
            return u, row, col, placeholder(p)

        updates, v_row, v_col, v = unzip(jax.tree.map(leaf, updates, state.v_row, state.v_col, state.v, params), 4)
        return updates, FactoredState(_numerics.safe_increment(state.count), v_row, v_col, v)

    tx = GradientTransformation(init_fn, update_fn)
    if not factored:  # one second moment per element: elementwise
        return _packable.elementwise(tx)
    return _packable.per_leaf(tx, "scale_by_factored_rms", "its factored moments follow each leaf's shape")


def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: Any = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: Any = 1.0,
    momentum: Any = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: Any = None,
    eps: Any = 1e-30,
    factored: bool = True,
    weight_decay_mask: Any = None,
) -> GradientTransformation:
    r"""Adafactor (see module docstring), with optax's arguments and defaults.

    Args:
      learning_rate: a float >= 0, a schedule, or ``None`` (no learning-rate scaling: with
        ``multiply_by_parameter_scale`` the step is relative to the parameter's size).
      min_dim_size_to_factor, decay_rate, decay_offset, factored, eps: as in
        ``scale_by_factored_rms``.
      multiply_by_parameter_scale: multiply the step by ``max(rms(p), 1e-3)``.
      clipping_threshold: clip each leaf's update to this RMS (``None``: no clipping).
      momentum: optional EMA coefficient of the updates, in [0, 1) (stored in ``dtype_momentum``).
      dtype_momentum: dtype of that EMA; for a complex param its complex counterpart
        (``float32`` -> ``complex64``). optax keeps it real there and drops the imaginary
        part of the momentum; the zoo equals ``optax.adafactor(dtype_momentum=jnp.complex64)``.
      weight_decay_rate: optional decay added after the scaling (not multiplied by the lr).
      weight_decay_mask: where to apply it.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate, eps or decay, or a momentum outside [0, 1).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.adafactor(learning_rate=1e-2)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.984189, -1.984189]

    References:
      Shazeer & Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.
    """
    if learning_rate is not None:
        _validate.check_learning_rate("adafactor", learning_rate)
    _validate.check_nonnegative("adafactor", "eps", eps)
    _validate.check_int("adafactor", "min_dim_size_to_factor", min_dim_size_to_factor, lo=0)
    _validate.check_nonnegative("adafactor", "decay_rate", decay_rate)
    _validate.check_int("adafactor", "decay_offset", decay_offset, lo=0)
    if momentum is not None:
        _validate.check_decay("adafactor", "momentum", momentum)
    if weight_decay_rate is not None:
        _validate.check_nonnegative("adafactor", "weight_decay_rate", weight_decay_rate)
    if clipping_threshold is not None:
        _validate.check_positive("adafactor", "clipping_threshold", clipping_threshold)
    parts = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        parts.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        parts.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        parts.append(scale_by_param_block_rms())
    if momentum is not None:
        parts.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        parts.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    parts.append(scale(-1))
    return _packable.named(chain(*parts), "adafactor")
