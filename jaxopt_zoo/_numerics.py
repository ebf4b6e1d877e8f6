"""One home for the arithmetic every optimizer repeats.

Step counters, zero-initialised accumulators, exponential moving averages of moments,
bias corrections and safe norms are written once here and used by every transform, so a
fix (or a faster layout) lands everywhere at once.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._tree import check_same_structure, is_none, tree_map

# --------------------------------------------------------------------------- counters

COUNT_DTYPE = jnp.int32


def zero_count() -> jax.Array:
    """A fresh step counter: an int32 scalar 0."""
    return jnp.zeros([], COUNT_DTYPE)


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1``, saturating at the dtype's maximum instead of wrapping around."""
    count = jnp.asarray(count)
    top = jnp.array(jnp.iinfo(count.dtype).max, count.dtype)
    return jnp.where(count < top, count + 1, top)


# ---------------------------------------------------------------------- accumulators


def zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros shaped like every array leaf of ``tree`` (``dtype`` overrides the leaf's)."""
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def full_like(tree: Any, value: Any, dtype: Any = None) -> Any:
    """``value`` broadcast to every array leaf of ``tree``."""
    return jax.tree.map(lambda x: jnp.full_like(x, value, dtype=dtype), tree)


def cast_tree(tree: Any, dtype: Any) -> Any:
    """Cast every leaf to ``dtype``; ``dtype=None`` leaves the tree as it is."""
    if dtype is None:
        return tree
    return jax.tree.map(lambda x: jnp.asarray(x).astype(dtype), tree)


def keep_dtype(new: Any, old: Any) -> Any:
    """``new`` cast leaf by leaf to the dtypes of ``old``: how a state entry is stored.

    A float64 hyperparameter (say a schedule under x64) must not promote a float32 state:
    the next step would see a different state type (and a ``scan`` would refuse it).
    """
    return jax.tree.map(lambda n, o: None if n is None else jnp.asarray(n).astype(o.dtype), new, old, is_leaf=is_none)


def canonical_dtype(dtype: Any) -> Any:
    """``dtype`` as a JAX dtype honouring x64 mode (``None`` stays ``None``)."""
    if dtype is None:
        return None
    return jax.dtypes.canonicalize_dtype(dtype)


# ------------------------------------------------------------------------- moments


def abs_sq(x: jax.Array) -> jax.Array:
    """``|x|^2`` as a real array, for real and complex ``x``."""
    if jnp.iscomplexobj(x):
        return (x.conj() * x).real
    return x * x


def _ema(g: jax.Array, t: jax.Array, decay: Any, order: int) -> jax.Array:
    """One leaf's EMA of the ``order``-th power (the rule of ``update_moment``)."""
    return (1 - decay) * (g**order) + decay * t


def _ema_norm(g: jax.Array, t: jax.Array, decay: Any, order: int) -> jax.Array:
    """One leaf's EMA of ``|g|**order`` (the rule of ``update_moment_per_elem_norm``)."""
    if not jnp.iscomplexobj(g):
        return _ema(g, t, decay, order)
    half = order / 2
    return (1 - decay) * abs_sq(g) ** (int(half) if float(half).is_integer() else half) + decay * t


def update_moment(updates: Any, moments: Any, decay: Any, order: int, *, where: str = "update_moment") -> Any:
    """EMA of the ``order``-th power: ``m <- (1 - decay) * g**order + decay * m``.

    The result is computed in the promoted dtype; store it with ``keep_dtype``.
    """
    return tree_map(
        lambda g, t: None if g is None else _ema(g, t, decay, order),
        updates,
        moments,
        where=where,
        names=("updates", "moment"),
    )


def update_moment_per_elem_norm(
    updates: Any, moments: Any, decay: Any, order: int, *, where: str = "update_moment"
) -> Any:
    """EMA of ``|g|**order`` elementwise: ``v <- (1 - decay) * |g|**order + decay * v``.

    For real ``g`` this is ``g**order``; for complex ``g`` it uses ``|g|^2`` so that the
    second moment is real.
    """
    return tree_map(
        lambda g, t: None if g is None else _ema_norm(g, t, decay, order),
        updates,
        moments,
        where=where,
        names=("updates", "moment"),
    )


def update_moments(updates: Any, mu: Any, nu: Any, b1: Any, b2: Any, *, where: str = "update_moments") -> tuple:
    """Adam's two moments at once: ``update_moment(g, mu, b1, 1)`` and
    ``update_moment_per_elem_norm(g, nu, b2, 2)``, in one walk over the tree.
    """
    check_same_structure(where, (updates, mu, nu), ("updates", "mu", "nu"))

    def both(g, m, v):
        if g is None:
            return None, None
        return _ema(g, m, b1, 1), _ema_norm(g, v, b2, 2)

    leaves, treedef = jax.tree.flatten(updates, is_leaf=is_none)
    pairs = [
        both(g, m, v)
        for g, m, v in zip(leaves, jax.tree.leaves(mu, is_leaf=is_none), jax.tree.leaves(nu, is_leaf=is_none))
    ]
    return treedef.unflatten([p[0] for p in pairs]), treedef.unflatten([p[1] for p in pairs])


def bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    """Adam's bias correction ``m / (1 - decay**count)``.

    ``count`` is the number of updates so far (>= 1). At the saturated int32 maximum,
    ``decay**count`` underflows to 0 and the correction is exactly 1, so it stays finite.
    """
    correction = 1 - decay**count
    return jax.tree.map(lambda t: t / correction.astype(t.dtype), moment)


def first_moment_hat(mu: Any, updates: Any, b1: Any, count: jax.Array, nesterov: bool) -> Any:
    """Adam's bias-corrected first moment, or its Nesterov form (Dozat 2016).

    ``mu / (1 - b1**count)``; with ``nesterov``,
    ``b1 * mu / (1 - b1**(count+1)) + (1 - b1) * g / (1 - b1**count)``.
    """
    if not nesterov:
        return bias_correction(mu, b1, count)
    return jax.tree.map(
        lambda m, g: b1 * m + (1 - b1) * g,
        bias_correction(mu, b1, safe_increment(count)),
        bias_correction(updates, b1, count),
    )


# --------------------------------------------------------------------------- norms


def global_norm(tree: Any) -> jax.Array:
    """The L2 norm of all leaves of ``tree`` taken together (``None`` leaves skipped).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> float(zoo.global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}))
      5.0
    """
    leaves = jax.tree.leaves(tree, is_leaf=is_none)
    squares = [jnp.sum(abs_sq(x)) for x in leaves if x is not None]
    if not squares:
        return jnp.zeros([])
    return jnp.sqrt(sum(squares))


def safe_norm(x: jax.Array, min_norm: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """``max(norm(x), min_norm)`` with a gradient that is finite at ``x = 0``."""
    norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    x = jnp.where(norm <= min_norm, jnp.ones_like(x), x)
    norm = jnp.squeeze(norm, axis=axis) if not keepdims else norm
    masked_norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    return jnp.where(norm <= min_norm, min_norm, masked_norm)


def safe_root_mean_squares(x: jax.Array, min_rms: Any) -> jax.Array:
    """``max(rms(x), min_rms)`` with a gradient that is finite at ``x = 0``."""
    rms = jnp.sqrt(jnp.mean(jnp.square(x)))
    x = jnp.where(rms <= min_rms, jnp.ones_like(x), x)
    return jnp.where(rms <= min_rms, min_rms, jnp.sqrt(jnp.mean(jnp.square(x))))


def lerp(start: jax.Array, end: jax.Array, weight: Any) -> jax.Array:
    """``start + weight * (end - start)``, evaluated the way torch's ``lerp`` does.

    torch uses ``end - (end - start) * (1 - weight)`` when ``weight >= 0.5``; matching it
    keeps torch-referenced optimizers equal to the last bit more often.
    """
    w = jnp.asarray(weight)
    return jnp.where(w < 0.5, start + w * (end - start), end - (end - start) * (1 - w))


def value_at(value: Any, count: Any) -> Any:
    """A hyperparameter at step ``count``: ``value(count)`` for a schedule, else ``value``."""
    return value(count) if callable(value) else value
