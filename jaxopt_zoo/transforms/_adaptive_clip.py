r"""Adaptive gradient clipping (AGC, Brock et al. 2021): clip each unit's update relative
to the norm of that unit's parameters.

For each unit :math:`i` (a column of a dense kernel, an output channel of a conv kernel,
the whole of a vector), with :math:`\|\cdot\|` the unit-wise L2 norm:

.. math::

   u_i \leftarrow \begin{cases} u_i & \|u_i\| < \lambda \max(\|p_i\|, \epsilon) \\
   u_i \, \lambda \max(\|p_i\|, \epsilon) / \max(\|u_i\|, 10^{-6}) & \text{otherwise}
   \end{cases}
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import EmptyState, GradientTransformation
from .._tree import tree_map

_DEFAULT_AXES = {2: 0, 3: 0, 4: (0, 1, 2), 5: (0, 1, 2, 3)}  # dense IO, multi-head, HWIO, DHWIO


AdaptiveGradClipState = EmptyState  # the state of ``adaptive_grad_clip``: optax's name, the very same class


def unitwise_norm(x: jax.Array, axis: Any = None) -> jax.Array:
    """The L2 norm of each unit of ``x``, broadcast back to ``x``'s shape.

    ``axis=None`` picks the axes from the rank, as optax does: the whole array for scalars
    and vectors (and arrays with one non-unit axis), axis 0 for ranks 2 and 3, axes
    (0, 1, 2) for rank 4 and (0, 1, 2, 3) for rank 5; other ranks need ``axis``.
    """
    x = jnp.asarray(x)
    if axis is None:
        if jnp.squeeze(x).ndim <= 1:
            axis = None
        elif x.ndim in _DEFAULT_AXES:
            axis = _DEFAULT_AXES[x.ndim]
        else:
            _validate.fail("adaptive_grad_clip", "axis", axis,
                           f"must be given for a leaf of rank {x.ndim} (shape {x.shape})")
    squared = jnp.sum(_numerics.abs_sq(x), axis=axis, keepdims=True)
    return jnp.broadcast_to(jnp.sqrt(squared), x.shape)


def adaptive_grad_clip(clipping: Any, eps: Any = 1e-3, axis: Any = None) -> GradientTransformation:
    """Clip each unit of the updates to at most ``clipping`` times its parameters' norm.

    See the module docstring for the rule. Units are chosen by ``axis`` (see
    ``unitwise_norm``).

    Args:
      clipping: the largest ratio of update norm to parameter norm, >= 0.
      eps: parameter norms below ``eps`` count as ``eps`` (so zero-initialised params can
        still move), >= 0.
      axis: the axis or axes a unit spans (``None``: chosen from each leaf's rank).

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``; its update needs ``params``.

    Raises:
      ValueError: if a concrete ``clipping`` or ``eps`` is negative; at ``update``, when
        ``params`` is missing or a leaf of rank > 5 has no ``axis``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.adaptive_grad_clip(0.1)
      >>> params = {"w": jnp.array([3.0, 4.0])}
      >>> u, _ = tx.update({"w": jnp.array([6.0, 8.0])}, tx.init(params), params)
      >>> print(u["w"])
      [0.3 0.4]

    References:
      Brock, De, Smith & Simonyan, `High-Performance Large-Scale Image Recognition Without
      Normalization <https://arxiv.org/abs/2102.06171>`_, 2021.
    """
    _validate.check_nonnegative("adaptive_grad_clip", "clipping", clipping)
    _validate.check_nonnegative("adaptive_grad_clip", "eps", eps)

    def clip_leaf(u, p):
        u_norm = unitwise_norm(u, axis)
        max_norm = clipping * jnp.maximum(unitwise_norm(p, axis), eps)
        clipped = u * (max_norm / jnp.maximum(u_norm, 1e-6))
        return jnp.where(u_norm < max_norm, u, clipped)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("adaptive_grad_clip", params, updates)
        return tree_map(clip_leaf, updates, params, where="adaptive_grad_clip", names=("updates", "params")), state

    return GradientTransformation(init_fn, update_fn)
