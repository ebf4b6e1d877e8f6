"""Per-example gradient clipping (differential privacy): clip each example's gradient,
then sum over the batch.

These are functions of a batch of per-example gradients (every leaf has the batch on axis
0), not transformations: they return the clipped sum and how many examples were clipped.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _validate


def _check_batched(fn: str, grads: Any) -> None:
    leaves = jax.tree.leaves(grads)
    if not leaves:
        _validate.fail(fn, "grads", grads, "must have at least one leaf")
    batch = jnp.shape(leaves[0])[0] if jnp.ndim(leaves[0]) else None
    if batch is None or any(jnp.ndim(g) < 1 or jnp.shape(g)[0] != batch for g in leaves):
        _validate.fail(fn, "grads", jax.tree.map(jnp.shape, grads),
                       "must have the batch (one entry per example) on axis 0 of every leaf; shapes")


def per_example_global_norm_clip(grads: Any, l2_norm_clip: Any) -> tuple[Any, jax.Array]:
    r"""Clip each example's gradient to global norm ``l2_norm_clip`` and sum over examples.

    For example :math:`b` with global norm :math:`n_b`, the multiplier is
    :math:`\min(C / n_b, 1)` (1 when :math:`n_b = 0`); the result is
    :math:`\sum_b \min(C / n_b, 1)\, g_b`.

    Args:
      grads: per-example gradients, the batch on axis 0 of every leaf.
      l2_norm_clip: the largest per-example global norm ``C``, >= 0.

    Returns:
      ``(clipped_sum, num_clipped)``: the sum over the batch (leaves without axis 0) and
      the number of examples that were scaled down (int32 scalar).

    Raises:
      ValueError: if a leaf has no batch axis or batch sizes differ; if a concrete
        ``l2_norm_clip`` is negative.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> grads = [jnp.array([[0.0, 0.0, 0.0], [0.0, 3.0, 4.0], [4.0, 0.0, 3.0]])]
      >>> total, n = zoo.per_example_global_norm_clip(grads, 2.5)
      >>> print(total[0], n)
      [2.  1.5 3.5] 2

    References:
      Abadi et al., `Deep Learning with Differential Privacy
      <https://arxiv.org/abs/1607.00133>`_, 2016.
    """
    _check_batched("per_example_global_norm_clip", grads)
    _validate.check_nonnegative("per_example_global_norm_clip", "l2_norm_clip", l2_norm_clip)
    norms = jax.vmap(_numerics.global_norm)(grads)
    multipliers = jnp.nan_to_num(jnp.minimum(l2_norm_clip / norms, 1.0), nan=1.0)
    num_clipped = jnp.sum(multipliers < 1.0)
    return jax.tree.map(lambda g: jnp.tensordot(multipliers, g, axes=1), grads), num_clipped


def per_example_layer_norm_clip(
    grads: Any, global_l2_norm_clip: Any, uniform: bool = True
) -> tuple[Any, Any]:
    r"""Clip each example's gradient layer by layer (leaf by leaf) and sum over examples.

    Leaf :math:`i` of :math:`K` is clipped as in ``per_example_global_norm_clip`` to
    :math:`C/\sqrt{K}` (``uniform``) or :math:`C\sqrt{D_i/D}` (:math:`D_i` the leaf's
    size per example, :math:`D` the total), so the whole per-example gradient has norm at
    most :math:`C`.

    Args:
      grads: per-example gradients, the batch on axis 0 of every leaf.
      global_l2_norm_clip: the overall clip norm ``C``, >= 0.
      uniform: the same clip norm for every leaf (else proportional to its size).

    Returns:
      ``(clipped_sum, num_clipped)``, both trees like ``grads``: per leaf, the sum over the
      batch and the number of examples whose leaf was scaled down.

    Raises:
      ValueError: if a leaf has no batch axis or batch sizes differ; if a concrete
        ``global_l2_norm_clip`` is negative.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> grads = {"a": jnp.array([[3.0, 4.0], [0.3, 0.4]]), "b": jnp.array([[1.0], [2.0]])}
      >>> total, n = zoo.per_example_layer_norm_clip(grads, 2.0)
      >>> print(total["a"], total["b"], n["a"], n["b"])
      [1.1485281 1.5313708] [2.4142137] 1 1

    References:
      McMahan, Ramage, Talwar & Zhang, `Learning Differentially Private Recurrent Language
      Models <https://arxiv.org/abs/1710.06963>`_, 2018.
    """
    _check_batched("per_example_layer_norm_clip", grads)
    _validate.check_nonnegative("per_example_layer_norm_clip", "global_l2_norm_clip", global_l2_norm_clip)
    if uniform:
        k = len(jax.tree.leaves(grads))
        clips = jax.tree.map(lambda _: global_l2_norm_clip * (1.0 / k) ** 0.5, grads)
    else:
        total = sum(g[0].size for g in jax.tree.leaves(grads))
        clips = jax.tree.map(lambda g: global_l2_norm_clip * (g[0].size / total) ** 0.5, grads)
    pairs = jax.tree.map(per_example_global_norm_clip, grads, clips)
    return jax.tree.transpose(jax.tree.structure(grads), jax.tree.structure((0, 0)), pairs)
