r"""Reshaping the update by a norm or a mean: ``centralize`` (gradient centralization),
``normalize_by_update_norm`` (unit global norm) and ``scale_by_param_block_norm``.

- ``centralize``: for a leaf of rank :math:`\ge 2`, subtract the mean over all axes but
  the first: :math:`u \leftarrow u - \mathrm{mean}_{1..}(u)`; vectors and scalars unchanged.
- ``normalize_by_update_norm``: :math:`u \leftarrow s\, u / (\|u\| + \epsilon)`, with
  :math:`\|u\|` the global norm of the whole tree.
- ``scale_by_param_block_norm``: :math:`u \leftarrow u \max(\|p\|, m)` per leaf.
"""

from __future__ import annotations

from typing import Any


from .. import _numerics, _validate
from .._base import EmptyState, GradientTransformation
from .._tree import tree_map


def _empty_init(params):
    del params
    return EmptyState()


def _subtract_mean(u):
    if u.ndim > 1:
        return u - u.mean(tuple(range(1, u.ndim)), keepdims=True)
    return u


def centralize() -> GradientTransformation:
    """Gradient centralization: subtract from each leaf of rank >= 2 its mean over all
    axes but the leading one.

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.centralize()
      >>> u, _ = tx.update({"w": jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]])}, tx.init(None))
      >>> print(u["w"])
      [[-1.  0.  1.]
       [-2. -1.  3.]]

    References:
      Yong, Huang, Hua & Zhang, `Gradient Centralization: A New Optimization Technique for
      Deep Neural Networks <https://arxiv.org/abs/2004.01461>`_, 2020.
    """

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return tree_map(_subtract_mean, updates), state

    return GradientTransformation(_empty_init, update_fn)


def normalize_by_update_norm(scale_factor: Any = 1.0, eps: Any = 1e-6) -> GradientTransformation:
    """Divide the updates by their global norm: ``u <- scale_factor * u / (||u|| + eps)``.

    Args:
      scale_factor: the norm of the result (up to ``eps``).
      eps: added to the norm so a zero update stays finite, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``.

    Raises:
      ValueError: if a concrete ``eps`` is negative.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.normalize_by_update_norm(scale_factor=2.0, eps=0.0)
      >>> u, _ = tx.update({"w": jnp.array([3.0, 4.0])}, tx.init(None))
      >>> print(u["w"])
      [1.2 1.6]
    """
    _validate.check_nonnegative("normalize_by_update_norm", "eps", eps)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        g_norm = (_numerics.global_norm(updates) + eps) / scale_factor
        return tree_map(lambda g: g / g_norm, updates), state

    return GradientTransformation(_empty_init, update_fn)


def scale_by_param_block_norm(min_scale: Any = 1e-3) -> GradientTransformation:
    """Multiply each leaf's update by its parameters' L2 norm: ``u <- u * max(||p||, min_scale)``.

    Args:
      min_scale: parameter norms below this count as this, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``EmptyState``; its update needs ``params``.

    Raises:
      ValueError: if a concrete ``min_scale`` is negative; at ``update``, when ``params``
        is missing.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_param_block_norm()
      >>> params = {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(1)}
      >>> u, _ = tx.update({"w": jnp.ones(2), "b": jnp.ones(1)}, tx.init(params), params)
      >>> print(u["w"], u["b"])
      [5. 5.] [0.001]
    """
    _validate.check_nonnegative("scale_by_param_block_norm", "min_scale", min_scale)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("scale_by_param_block_norm", params, updates)
        return tree_map(lambda u, p: u * _numerics.safe_norm(p, min_scale), updates, params,
                        where="scale_by_param_block_norm", names=("updates", "params")), state

    return GradientTransformation(_empty_init, update_fn)
