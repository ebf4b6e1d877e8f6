"""One home for the arithmetic every optimizer repeats.

Step counters, zero-initialised accumulators, exponential moving averages of moments,
bias corrections and safe norms are written once here and used by every transform, so a
fix (or a faster layout) lands everywhere at once.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from . import _validate
from ._tree import check_same_structure, is_none, tree_map

# --------------------------------------------------------------------------- counters

COUNT_DTYPE = jnp.int32


def zero_count() -> jax.Array:
    """A fresh step counter: an int32 scalar 0."""
    return jnp.zeros([], COUNT_DTYPE)


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1``, saturating at the dtype's maximum instead of wrapping around.

    optax's ``safe_increment``: integer counters stop at ``iinfo(dtype).max``, float counters
    at ``finfo(dtype).max``; the result keeps ``count``'s dtype.

    Args:
      count: an integer or float array (usually the int32 scalar step counter).

    Returns:
      ``count + 1`` where ``count`` is below its dtype's maximum, else that maximum.

    Raises:
      ValueError: if ``count`` is neither integer nor floating (bool, complex).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> zoo.safe_increment(jnp.asarray(2147483647, jnp.int32))
      Array(2147483647, dtype=int32)
    """
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        top = jnp.iinfo(count.dtype).max
    elif jnp.issubdtype(count.dtype, jnp.floating):
        top = jnp.finfo(count.dtype).max
    else:
        _validate.fail("safe_increment", "count", count, "must have an integer or floating dtype")
    top = jnp.array(top, count.dtype)
    return jnp.where(count < top, count + jnp.array(1, count.dtype), top)


# optax's older name: the counter is int32 in practice, the function takes any counter.
safe_int32_increment = safe_increment


# ---------------------------------------------------------------------- accumulators


def accumulator_dtype(x: Any, dtype: Any) -> Any:
    """The dtype of an accumulator for leaf ``x``: ``dtype`` (``None``: ``x``'s own).

    A real ``dtype`` for a complex leaf means its complex counterpart (``float32`` ->
    ``complex64``): a real accumulator would drop the imaginary part of what it averages.
    """
    if dtype is None:
        return None
    if jnp.iscomplexobj(x) and not jnp.issubdtype(dtype, jnp.complexfloating):
        return jnp.promote_types(dtype, jnp.complex64)
    return dtype


def zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros shaped like every array leaf of ``tree`` (``dtype`` overrides the leaf's, see
    ``accumulator_dtype`` for complex leaves)."""
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=accumulator_dtype(x, dtype)), tree)


def full_like(tree: Any, value: Any, dtype: Any = None) -> Any:
    """``value`` broadcast to every array leaf of ``tree``."""
    return jax.tree.map(lambda x: jnp.full_like(x, value, dtype=accumulator_dtype(x, dtype)), tree)


def copy_tree(tree: Any) -> Any:
    """A copy of ``tree`` whose array leaves own their buffers: how params are stored in a state.

    A state that held the params' own arrays (``jax.tree.map(lambda x: x, params)``) would
    pass the same buffer twice to a train step jitted with ``donate_argnums=(params, state)``,
    which XLA refuses ("Attempt to donate the same buffer twice"). The copy keeps each
    leaf's dtype and sharding; under ``jit`` it costs nothing beyond the output buffer the
    state needs anyway. ``None`` leaves stay ``None``.
    """
    return jax.tree.map(jnp.copy, tree)


def scalar_dtype(tree: Any) -> Any:
    """The dtype of a scalar state entry for ``tree``: the lowest-precision float of its leaves.

    As optax's ``tree.dtype(tree, "lowest")`` on float leaves: float16/bfloat16 params give a
    float16/bfloat16 scalar, float32 and float64 params together give float32. Complex leaves
    count as their real counterpart; a tree without float leaves gives JAX's default float.
    """
    dtypes = [jnp.real(jnp.zeros([], jnp.asarray(x).dtype)).dtype for x in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    if not dtypes:
        return jnp.result_type(float)
    low = dtypes[0]
    for d in dtypes[1:]:
        if jnp.promote_types(low, d) == low:
            low = d
    return low


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

    optax's ``update_moment``. ``None`` leaves of ``updates`` stay ``None``. The result is
    computed in the promoted dtype; store it with ``keep_dtype``.

    Args:
      updates: the new values ``g`` (a pytree).
      moments: the running averages ``m``, structured like ``updates``.
      decay: the decay rate.
      order: the power of ``g`` averaged (1: mean, 2: uncentred second moment).
      where: the public name shown if the two trees do not match (zoo-only).

    Returns:
      The updated averages, structured like ``updates``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.update_moment(jnp.array([2.0]), jnp.array([1.0]), 0.9, 2))
      [1.3]
    """
    return tree_map(
        lambda g, t: None if g is None else _ema(g, t, decay, order),
        updates,
        moments,
        where=where,
        names=("updates", "moment"),
    )


def update_infinity_moment(updates: Any, moments: Any, decay: Any, eps: Any, *, where: str = "update_infinity_moment") -> Any:
    """AdaMax's infinity-norm average: ``u <- max(|g| + eps, decay * u)`` leaf by leaf.

    optax's ``update_infinity_moment``; ``None`` leaves of ``updates`` stay ``None``.

    Args:
      updates: the new values ``g``.
      moments: the running maxima ``u``, structured like ``updates``.
      decay: the decay applied to the old maximum.
      eps: added to ``|g|``.
      where: the public name shown if the two trees do not match (zoo-only).

    Returns:
      The updated maxima, structured like ``updates``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.update_infinity_moment(jnp.array([-2.0, 0.5]), jnp.array([1.0, 1.0]), 0.9, 0.0))
      [2.  0.9]
    """
    return tree_map(
        lambda g, t: None if g is None else jnp.maximum(jnp.abs(g) + eps, decay * t),
        updates,
        moments,
        where=where,
        names=("updates", "moment"),
    )


def update_moment_per_elem_norm(
    updates: Any, moments: Any, decay: Any, order: int, *, where: str = "update_moment"
) -> Any:
    """EMA of ``|g|**order`` elementwise: ``v <- (1 - decay) * |g|**order + decay * v``.

    optax's ``update_moment_per_elem_norm``. For real ``g`` this is ``g**order``; for complex
    ``g`` it uses ``|g|^2`` so that the second moment is real. ``None`` leaves stay ``None``.

    Args:
      updates: the new values ``g``.
      moments: the running averages, structured like ``updates``.
      decay: the decay rate.
      order: the power of ``|g|`` averaged.
      where: the public name shown if the two trees do not match (zoo-only).

    Returns:
      The updated averages, structured like ``updates``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.update_moment_per_elem_norm(jnp.array([1j]), jnp.array([0.0]), 0.5, 2))
      [0.5]
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
    """Adam's bias correction ``m / (1 - decay**count)``, leaf by leaf.

    optax's ``bias_correction``. ``count`` is the number of updates so far (>= 1). The
    factor ``1 - decay**count`` is computed in the promoted precision of ``decay`` and
    ``count`` and then cast to each leaf's dtype, so bf16 moments stay bf16 (and ``decay**count``
    is not rounded to 1 in low precision). At the saturated int32 maximum, ``decay**count``
    underflows to 0 and the correction is exactly 1, so it stays finite.

    Args:
      moment: the moment estimate (a pytree).
      decay: its decay rate.
      count: the step count, >= 1.

    Returns:
      ``moment / (1 - decay**count)``, each leaf in its own dtype.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.bias_correction(jnp.array([0.5]), 0.5, jnp.asarray(1)))
      [1.]
    """
    correction = 1 - decay ** jnp.asarray(count)  # a Python int count acts as under jit
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


# ------------------------------------------------- powers of the step count, in double where known


def _log_decay(decay: Any) -> Any:
    """``log(decay)``: a Python float (double precision) when ``decay`` is concrete, else traced."""
    known = _validate.concrete_float(decay)
    if known is None:
        return jnp.log(decay)
    return math.log(known) if known > 0 else -math.inf


def one_minus_power(decay: Any, count: jax.Array) -> jax.Array:
    """``1 - decay**count`` (a bias correction, ``count >= 1``) to the precision of its dtype.

    torch computes its per-step scalars (``1 - beta2**step``) in Python doubles. With x64 off,
    a float32 ``0.999**k`` is off by ``k * 1.3e-8`` (0.999 itself rounds), which
    ``1 - 0.999**k`` turns into a 1e-5 relative error. Here it is ``-expm1(count * log(decay))``
    with the log taken in double where ``decay`` is known: float32's own precision. In float64
    it is torch's ``1 - decay**count``.
    """
    x = count * _log_decay(decay)
    return 1 - decay**count if jnp.result_type(x) == jnp.float64 else -jnp.expm1(x)


def _inv_minus_inv_expm1(y: jax.Array) -> jax.Array:
    """``1/y - 1/expm1(y)`` for ``y >= 0``, without its cancellation near 0 (a series below 0.3)."""
    small = y < 0.3
    ys = jnp.where(small, y, 0.0)
    yl = jnp.where(small, 1.0, y)
    y2 = ys * ys
    series = 0.5 - ys / 12 * (1 - y2 / 60 * (1 - y2 / 42 * (1 - y2 / 40 * (1 - y2 / 39.6))))
    return jnp.where(small, series, 1 / yl - 1 / jnp.expm1(yl))


def radam_rho_inf(b2: Any) -> Any:
    r"""RAdam's :math:`\rho_\infty = 2/(1-\beta_2) - 1` (a Python float for a concrete ``b2``)."""
    known = _validate.concrete_float(b2)
    return 2 / (1 - b2) - 1 if known is None else 2 / (1 - known) - 1


def radam_rho(b2: Any, count: jax.Array, *, precise: bool = True) -> jax.Array:
    r"""RAdam's :math:`\rho_k = \rho_\infty - 2k\beta_2^k/(1-\beta_2^k)` at ``count = k >= 1``.

    ``precise=False`` is the plain formula in the count's float dtype (optax's arithmetic: in
    float32 its two ~2/(1-b2) terms cancel to a few hundredths). ``precise=True`` is torch's
    double-precision value to the result's precision: in float64 torch's own formula; in
    float32, with :math:`a = -\log\beta_2`,
    :math:`\rho_k = (\rho_\infty - 2/a) + 2k\,(1/(ka) - 1/\mathrm{expm1}(ka))`, the constant
    in double where ``b2`` is known.
    """
    a = -_log_decay(b2) if precise else None
    if not precise or jnp.result_type(count * a) == jnp.float64:
        b2_k = b2**count
        return radam_rho_inf(b2) - 2 * count * b2_k / (1 - b2_k)
    const = radam_rho_inf(b2) - 2 / a  # a Python double for a known b2 (b2 = 0: a = inf, rho = 1)
    return const + 2 * count * _inv_minus_inv_expm1(count * a)


def radam_rectifier(rho: jax.Array, rho_inf: Any, threshold: Any, *, strict: bool = False) -> tuple:
    r"""RAdam's rectification: ``(on, r)`` with ``on`` = :math:`\rho_k \ge` ``threshold``
    (``>`` when ``strict``, torch's test) and

    .. math:: r_k = \sqrt{\frac{(\rho_k-4)(\rho_k-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_k}}

    where ``on`` (elsewhere ``r`` is that of :math:`\rho_\infty`, finite, and unused).
    """
    on = rho > threshold if strict else rho >= threshold
    safe = jnp.where(on, rho, rho_inf)
    return on, jnp.sqrt((safe - 4) * (safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe))


# --------------------------------------------------------------------------- norms


def global_norm(updates: Any) -> jax.Array:
    """The L2 norm of all leaves of ``updates`` taken together (``None`` leaves skipped).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> float(zoo.global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}))
      5.0
    """
    leaves = jax.tree.leaves(updates, is_leaf=is_none)
    squares = [jnp.sum(abs_sq(x)) for x in leaves if x is not None]
    if not squares:
        return jnp.zeros([])
    return jnp.sqrt(sum(squares))


def safe_norm(x: jax.Array, min_norm: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """``max(norm(x), min_norm)`` with a gradient that is finite at ``x = 0``.

    optax's ``safe_norm``: ``jnp.maximum(jnp.linalg.norm(x), min_norm)`` has a NaN gradient
    at ``x = 0`` (both branches are differentiated); here the norm is taken of ones wherever
    it is below ``min_norm``, so the gradient there is 0.

    Args:
      x: an array.
      min_norm: the lower bound of the result.
      ord, axis, keepdims: as in ``jnp.linalg.norm``.

    Returns:
      The norm, at least ``min_norm``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(jax.grad(lambda x: zoo.safe_norm(x, 1e-6))(jnp.zeros(2)))
      [0. 0.]
    """
    norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    x = jnp.where(norm <= min_norm, jnp.ones_like(x), x)
    norm = jnp.squeeze(norm, axis=axis) if not keepdims else norm
    masked_norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    return jnp.where(norm <= min_norm, min_norm, masked_norm)


def safe_root_mean_squares(x: jax.Array, min_rms: Any) -> jax.Array:
    """``max(rms(x), min_rms)`` with a gradient that is finite at ``x = 0``.

    optax's ``safe_root_mean_squares``. ``rms(x) = sqrt(mean(|x|^2))``: real for complex
    ``x`` (``mean(x**2)`` would be complex, and near zero when the phases cancel).

    Args:
      x: an array.
      min_rms: the lower bound of the result.

    Returns:
      The root mean square of ``x``, at least ``min_rms``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.safe_root_mean_squares(jnp.array([1.0, 7.0]), 1.0))
      5.0
    """
    rms = jnp.sqrt(jnp.mean(abs_sq(x)))
    x = jnp.where(rms <= min_rms, jnp.ones_like(x), x)
    return jnp.where(rms <= min_rms, min_rms, jnp.sqrt(jnp.mean(abs_sq(x))))


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


# ------------------------------------------------------------ whole-tree reductions


def lowest_float_dtype(tree: Any) -> Any:
    """The narrowest inexact dtype among the leaves of ``tree`` (a scalar state kept in it
    follows the params, as optax's ``tree.dtype(params, 'lowest')``); the default float if
    the tree has none."""
    dtypes = [jnp.asarray(x).dtype for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    if not dtypes:
        return jnp.asarray(1.0).dtype
    return min(dtypes, key=lambda d: jnp.finfo(d).bits)


def is_trained(x: Any) -> bool:
    """Whether leaf ``x`` is trained: float or complex (integer and bool leaves are not)."""
    return jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)


def vdot(a: jax.Array, b: jax.Array) -> jax.Array:
    """``<a, b> = sum(conj(a) * b)`` at full precision, without flattening (sharding-friendly)."""
    a, b = jnp.asarray(a), jnp.asarray(b)
    if jnp.iscomplexobj(a):
        a = jnp.conj(a)
    return jnp.tensordot(a, b, a.ndim, precision=jax.lax.Precision.HIGHEST)


def tree_vdot(a: Any, b: Any) -> jax.Array:
    """``sum_i <a_i, b_i>`` over the inexact leaves of two trees of one structure (``a``
    conjugated; integer/bool leaves are not trained): the inner product of two trees."""
    pairs = [(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)) if is_trained(x)]
    return jnp.asarray(sum((vdot(x, y) for x, y in pairs), 0))


def tree_l1_norm(tree: Any) -> jax.Array:
    """``sum |x|`` over every element of every inexact leaf."""
    return jnp.asarray(sum((jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(tree) if is_trained(x)), 0))


def tree_sq_norm(tree: Any) -> jax.Array:
    """``sum_leaves sum |x|^2``: the squared L2 norm of a tree (0 for an empty one)."""
    return jnp.asarray(jax.tree.reduce(lambda s, t: s + t, jax.tree.map(lambda x: jnp.sum(abs_sq(x)), tree), initializer=0))
