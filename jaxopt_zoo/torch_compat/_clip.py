r"""torch's gradient clipping, ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``, as transformations.

``clip_grad_norm`` takes the ``norm_type``-norm of every leaf, then the same norm of those
norms (torch's total norm), and scales every gradient by

.. math:: \min\Big(\frac{\text{max\_norm}}{\text{total\_norm} + 10^{-6}},\ 1\Big),

always multiplying (by 1 when the norm is small), as torch does. ``zoo.clip_by_global_norm``
scales by ``max_norm / total_norm`` without the ``1e-6``; optax's ``clip_by_global_norm`` too.
``clip_grad_value`` clamps every element to ``[-clip_value, clip_value]``.

Put either first in a chain with a torch_compat optimizer, where torch calls it between
``loss.backward()`` and ``optimizer.step()``::

    tx = zoo.chain(tc.clip_grad_norm(1.0), tc.AdamW(lr=3e-4))
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import EmptyState, GradientTransformation
from .._tree import is_none


class ClipGradNormState(NamedTuple):
    """State of ``clip_grad_norm``."""

    total_norm: jax.Array  # the total norm of the last gradients (what torch's clip_grad_norm_ returns)


def _norm_order(fn: str, norm_type: Any) -> float:
    try:
        p = float(norm_type)  # torch's float(norm_type): 2, 2.0, "inf" and math.inf all work
    except (TypeError, ValueError):
        _validate.fail(fn, "norm_type", norm_type, "must be a float (or 'inf')")
    if math.isnan(p):
        _validate.fail(fn, "norm_type", norm_type, "must not be NaN")
    return p


def _vector_norm(x: jax.Array, p: float) -> jax.Array:
    """torch.linalg.vector_norm(x, p) of all elements of ``x``."""
    a = jnp.abs(x).ravel()
    if p == math.inf:
        return jnp.max(a)
    if p == -math.inf:
        return jnp.min(a)
    if p == 0:
        return jnp.sum(a != 0).astype(a.dtype)
    if p == 1:
        return jnp.sum(a)
    if p == 2:
        return jnp.sqrt(jnp.sum(a * a))
    return jnp.sum(a**p) ** (1 / p)


def _norm_dtype(tree: Any) -> Any:
    leaves = [jnp.asarray(x) for x in jax.tree.leaves(tree)]
    dtype = jnp.result_type(*leaves) if leaves else jnp.result_type(float)
    return jnp.finfo(dtype).dtype if jnp.issubdtype(dtype, jnp.inexact) else jnp.result_type(float)


def clip_grad_norm(max_norm: Any, norm_type: Any = 2.0, error_if_nonfinite: bool = False,
                   foreach: Any = None) -> GradientTransformation:
    r"""``torch.nn.utils.clip_grad_norm_`` as a transformation (see module docstring).

    Args:
      max_norm: the largest total norm kept, >= 0 (a traced value is not checked).
      norm_type: the p of the norms, any float, ``inf`` or ``'inf'`` (default 2).
      error_if_nonfinite: torch raises when the total norm is NaN or inf. A jitted step
        cannot raise on a traced value, so only ``False`` is accepted; wrap the chain in
        ``zoo.apply_if_finite`` to skip non-finite steps instead.
      foreach: accepted and ignored (a torch implementation switch).

    Returns:
      A ``GradientTransformation`` whose state ``ClipGradNormState`` holds the total norm of the
      last gradients (before clipping), the value torch's ``clip_grad_norm_`` returns.

    Raises:
      ValueError: for a negative ``max_norm``, a ``norm_type`` that is not a float, or
        ``error_if_nonfinite=True``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> from jaxopt_zoo import torch_compat as tc
      >>> clip = tc.clip_grad_norm(1.0)
      >>> grads = {"w": jnp.array([3.0, 4.0])}
      >>> clipped, state = clip.update(grads, clip.init(grads))
      >>> print(clipped["w"], state.total_norm)
      [0.5999999  0.79999983] 5.0

    References:
      PyTorch, `torch.nn.utils.clip_grad_norm_
      <https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html>`_.
      Pascanu, Mikolov & Bengio, `On the difficulty of training recurrent neural networks
      <https://arxiv.org/abs/1211.5063>`_, 2013.
    """
    del foreach
    fn = "torch_compat.clip_grad_norm"
    _validate.check_nonnegative(fn, "max_norm", max_norm)
    p = _norm_order(fn, norm_type)
    if error_if_nonfinite is not False:
        _validate.fail(fn, "error_if_nonfinite", error_if_nonfinite,
                       "must be False (a jitted step cannot raise on a traced norm; "
                       "wrap the chain in zoo.apply_if_finite to skip non-finite steps)")

    def init_fn(params):
        return ClipGradNormState(jnp.zeros([], _norm_dtype(params)))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        leaves = [g for g in jax.tree.leaves(updates, is_leaf=is_none) if g is not None]
        if not leaves:  # torch: nothing to clip, total norm 0
            return updates, state
        norms = jnp.stack([_vector_norm(g, p) for g in leaves])
        total = _vector_norm(norms, p)
        coef = jnp.minimum(max_norm / (total + 1e-6), 1.0)
        clipped = jax.tree.map(lambda g: None if g is None else g * coef.astype(g.dtype), updates, is_leaf=is_none)
        return clipped, ClipGradNormState(_numerics.keep_dtype(total, state.total_norm))

    return GradientTransformation(init_fn, update_fn)


def clip_grad_value(clip_value: Any, foreach: Any = None) -> GradientTransformation:
    """``torch.nn.utils.clip_grad_value_`` as a transformation: every element into ``[-clip_value, clip_value]``.

    Args:
      clip_value: the largest absolute value kept, >= 0 (a traced value is not checked).
      foreach: accepted and ignored (a torch implementation switch).

    Returns:
      A stateless ``GradientTransformation``.

    Raises:
      ValueError: for a negative ``clip_value``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxopt_zoo import torch_compat as tc
      >>> clip = tc.clip_grad_value(0.5)
      >>> grads = {"w": jnp.array([-2.0, 0.1, 3.0])}
      >>> print(clip.update(grads, clip.init(grads))[0]["w"])
      [-0.5  0.1  0.5]

    References:
      PyTorch, `torch.nn.utils.clip_grad_value_
      <https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_value_.html>`_.
    """
    del foreach
    _validate.check_nonnegative("torch_compat.clip_grad_value", "clip_value", clip_value)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        clipped = jax.tree.map(lambda g: None if g is None else jnp.clip(g, -clip_value, clip_value).astype(g.dtype), updates,
                               is_leaf=is_none)
        return clipped, state

    return GradientTransformation(init_fn, update_fn)
