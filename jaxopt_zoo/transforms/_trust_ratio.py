r"""Layer-wise trust ratios (LARS, LAMB) and parameter-scale multiplication (Adafactor).

``scale_by_trust_ratio``: each leaf's update is rescaled by
:math:`\tau \|p\| / (\|u\| + \epsilon)` (1 where either norm is 0), so every layer moves by a
step proportional to its own size.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import EmptyState, GradientTransformation
from .._tree import tree_map


ScaleByTrustRatioState = EmptyState  # the state of ``scale_by_trust_ratio``: optax's name, the very same class


def scale_by_trust_ratio(min_norm: Any = 0.0, trust_coefficient: Any = 1.0, eps: Any = 0.0) -> GradientTransformation:
    r"""Rescale each leaf by its trust ratio ``trust_coefficient * ||p|| / (||u|| + eps)``.

    Args:
      min_norm: norms below this count as this (``safe_norm``), >= 0.
      trust_coefficient: the factor :math:`\tau`, >= 0.
      eps: added to the update norm, >= 0.

    Returns:
      A stateless ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative argument, or when ``params`` is missing.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.scale_by_adam(), zoo.scale_by_trust_ratio(), zoo.scale(-1e-3))
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.998419, -1.998419]

    References:
      You, Gitman & Ginsburg, `Large Batch Training of Convolutional Networks
      <https://arxiv.org/abs/1708.03888>`_, 2017.
    """
    for arg, value in (("min_norm", min_norm), ("trust_coefficient", trust_coefficient), ("eps", eps)):
        _validate.check_nonnegative("scale_by_trust_ratio", arg, value)

    def init_fn(params):
        del params
        return EmptyState()

    def scale_leaf(u, p):
        param_norm = _numerics.safe_norm(p, min_norm)
        update_norm = _numerics.safe_norm(u, min_norm)
        ratio = trust_coefficient * param_norm / (update_norm + eps)
        zero = jnp.logical_or(param_norm == 0.0, update_norm == 0.0)
        return u * jnp.where(zero, jnp.array(1.0, dtype=p.dtype), ratio)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("scale_by_trust_ratio", params, updates)
        return tree_map(scale_leaf, updates, params, where="scale_by_trust_ratio", names=("updates", "params")), state

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "scale_by_trust_ratio", "its ratio uses each leaf's norms")


def scale_by_param_block_rms(min_scale: Any = 1e-3) -> GradientTransformation:
    r"""Multiply each leaf's update by the RMS of its parameter: ``u <- u * max(rms(p), min_scale)``.

    Args:
      min_scale: the smallest factor, >= 0.

    Returns:
      A stateless ``GradientTransformation``; its update needs ``params``.

    References:
      Shazeer & Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.
    """
    _validate.check_nonnegative("scale_by_param_block_rms", "min_scale", min_scale)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("scale_by_param_block_rms", params, updates)
        return jax.tree.map(lambda u, p: u * _numerics.safe_root_mean_squares(p, min_scale), updates, params), state

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "scale_by_param_block_rms", "it scales each leaf by its RMS")
