r"""GaLore: a base optimizer run on low-rank projections of the matrix gradients.

For a matrix leaf with gradient :math:`G_t \in \mathbb{R}^{m \times n}` (rows: the reduction
axis, fan-in; columns: the output axis, fan-out), rank :math:`r = \min(\text{rank}, m, n)`,
projection gap :math:`T` and the base optimizer :math:`\rho` (Adam by default):

.. math::

   U \Sigma V^\top = \operatorname{svd}(G_t) \quad \text{when } t \bmod T = 0 \text{ (else keep the projector)}

   \text{left:}\quad P_t = U_{:, :r}, \qquad R_t = P_t^\top G_t \in \mathbb{R}^{r \times n},
   \qquad \Delta_t = s \, P_t \, \rho_t(R_t)

   \text{right:}\quad Q_t = V_{:, :r}, \qquad R_t = G_t Q_t \in \mathbb{R}^{m \times r},
   \qquad \Delta_t = s \, \rho_t(R_t) \, Q_t^\top

   W_t = W_{t-1} - \eta_t (\Delta_t + \lambda W_{t-1}).

The base optimizer's state lives in the shape of :math:`R_t`; it is kept (not reset) when
the projector changes, as in the authors' code and optax. The SVD is computed in float32
and the projector stored in the leaf's dtype (both references do this). Leaves that are
not projected (by default every leaf that is not a real floating 2-D array) get
:math:`\rho` on the full gradient, without the scale :math:`s`. N-D leaves are projected
through ``GaLoreDimensionNumbers(reduction_axis, output_axis)``: the reduction axes are
flattened into the rows and the output axes into the columns (every axis must be named).

**Which side is projected: the authors' rule by default.** ``proj_type`` picks the side:

* ``'std'`` (default; the paper's Algorithm 2 and the authors' ``GaLoreProjector``): project
  the *shorter* side, so the projector is the small matrix and the base optimizer's state
  is :math:`r \times \max(m, n)`: left when :math:`m \le n`, else right.
* ``'reverse_std'`` (optax.contrib.galore's rule): project the *longer* side, so the
  projector is :math:`\max(m, n) \times r` and the state :math:`r \times \min(m, n)`: left
  when :math:`m \ge n`, else right.
* ``'left'`` / ``'right'``: always that side of the (reduction, output) matrix.

optax.contrib.galore always uses the ``'reverse_std'`` rule, which departs from the paper
and the official code (`jiaweizzhao/GaLore <https://github.com/jiaweizzhao/GaLore>`_,
``galore_projector.py``): for a non-square matrix the two rules keep different subspaces
fixed between SVDs (the column space vs the row space of the gradient) and normalise
different coordinates with Adam, so the trajectories differ. ``galore(...,
proj_type='reverse_std')`` equals optax.contrib.galore (float64 to 1e-10 over 120 steps,
tests/reference/test_galore.py, which also pins the difference of the default); for a
square matrix both rules project the reduction side and agree.

The authors hold torch's ``(out, in)`` weights, the transpose of the ``(in, out)`` =
(reduction, output) matrix used here, so their ``'left'`` is ``'right'`` here and vice
versa; ``'std'`` and ``'reverse_std'`` are defined so that they pick the same side of the
same layer as the authors' code (``'std'``: on a square matrix the input side, as the
authors' ``'std'`` does; ``'reverse_std'``: on a square matrix the input side as optax does,
where the authors' ``'reverse_std'`` takes the output side). The authors' ``GaLoreAdamW``
also is Hugging Face's AdamW (``eps`` added before the bias correction, decay applied after
the step); here the base optimizer is any gradient transformation (``scale_by_adam`` by
default, as in optax) and the decay is ``galore``'s decoupled ``weight_decay``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from .._tree import check_same_structure, is_none
from ._adam import scale_by_adam
from ._muon import _per_leaf
from ._alias import adaptive_alias

PROJ_TYPES = ("std", "reverse_std", "left", "right")


class GaLoreDimensionNumbers(NamedTuple):
    """Which axes of a weight form the rows (reduction) and columns (output) of its matrix.

    The default ``(0, 1)`` is a ``y = x @ W`` matrix. Every axis must be named by one of the
    two (GaLore has no batch axes); axes may be negative, and a tuple of axes is flattened
    into one matrix dimension (e.g. ``(embed, heads, head_dim)`` with ``reduction_axis=0,
    output_axis=(1, 2)``).
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


class GaLoreState(NamedTuple):
    """State of ``scale_by_galore`` (optax's fields)."""

    count: jax.Array  # int32 scalar, saturating: steps taken
    base_optimizer_state: Any  # the base optimizer's state, in the projected shapes
    # per leaf: the (m, r) or (n, r) projector; a 0-d zero for an unprojected leaf (optax stores a
    # (0, 0) array there, which orbax refuses to save: zero-size arrays)
    projector: Any


def _is_dims(x: Any) -> bool:
    """A ``GaLoreDimensionNumbers`` (this library's or optax's: a namedtuple with its fields)."""
    return isinstance(x, tuple) and getattr(x, "_fields", None) == GaLoreDimensionNumbers._fields


def _projectable(x: Any) -> bool:
    return x is not None and jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)


def _layout(x: jax.Array, dims: Any, fn: str) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """The transpose that puts the reduction axes first, and the matrix size (m, n)."""
    if x.ndim < 2:
        _validate.fail(fn, "weight_dimension_numbers", dims, f"can only be given for leaves of rank >= 2 (a leaf has shape {x.shape})")
    as_tuple = lambda a: (a,) if isinstance(a, int) else tuple(a)  # noqa: E731
    red = tuple(a % x.ndim for a in as_tuple(dims.reduction_axis))
    out = tuple(a % x.ndim for a in as_tuple(dims.output_axis))
    if not red or not out or set(red) & set(out) or len(set(red) | set(out)) != x.ndim or len(red + out) != x.ndim:
        _validate.fail(fn, "weight_dimension_numbers", dims,
                       f"must split the axes of each leaf into disjoint, non-empty reduction and output axes "
                       f"naming every axis once (leaf shape {x.shape})")
    perm = red + out
    return perm, tuple(x.shape[a] for a in perm), math.prod(x.shape[a] for a in red), math.prod(x.shape[a] for a in out)


def _to_matrix(x: jax.Array, layout) -> jax.Array:
    perm, _, m, n = layout
    return jnp.transpose(x, perm).reshape(m, n)


def _from_matrix(y: jax.Array, layout) -> jax.Array:
    perm, shape, _, _ = layout
    inverse = tuple(sorted(range(len(perm)), key=lambda i: perm[i]))
    return y.reshape(shape).transpose(inverse)


def _left(proj_type: str, m: int, n: int) -> bool:
    """Whether the projector acts on the rows (reduction side) of an (m, n) matrix."""
    return {"std": m <= n, "reverse_std": m >= n, "left": True, "right": False}[proj_type]


def _dims_per_leaf(spec: Any, tree: Any, fn: str) -> list:
    """The dimension numbers of every leaf of ``tree`` (``None``: not projected)."""
    leaves = jax.tree.leaves(tree, is_leaf=is_none)
    if callable(spec) and not _is_dims(spec):
        spec = spec(tree)
    if spec is None:
        return [GaLoreDimensionNumbers() if _projectable(x) and jnp.ndim(x) == 2 else None for x in leaves]
    if _is_dims(spec):
        return [spec if _projectable(x) and jnp.ndim(x) >= 2 else None for x in leaves]
    dims = _per_leaf(spec, tree, _is_dims)
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not _is_dims(d):
            _validate.fail(fn, "weight_dimension_numbers", d, "must hold GaLoreDimensionNumbers or None")
        if x is not None and not _projectable(x):
            _validate.fail(fn, "weight_dimension_numbers", d,
                           f"can only be given for real floating leaves (a leaf has dtype {jnp.asarray(x).dtype})")
    return [None if x is None else d for x, d in zip(leaves, dims)]


def _check(fn: str, rank: Any, update_proj_gap: Any, scale: Any, proj_type: Any, base_optimizer: Any) -> None:
    _validate.check_int(fn, "rank", rank, lo=1)
    _validate.check_int(fn, "update_proj_gap", update_proj_gap, lo=1)
    _validate.check_range(fn, "scale", scale, -math.inf, math.inf, lo_open=True, hi_open=True)
    _validate.check_choice(fn, "proj_type", proj_type, PROJ_TYPES)
    if base_optimizer is not None and not (hasattr(base_optimizer, "init") and hasattr(base_optimizer, "update")):
        _validate.fail(fn, "base_optimizer", base_optimizer, "must be a gradient transformation (init, update) or None")


def scale_by_galore(
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: Any = 1.0,
    base_optimizer: GradientTransformation | None = None,
    weight_dimension_numbers: Any = None,
    *,
    proj_type: str = "std",
) -> GradientTransformation:
    r"""Run ``base_optimizer`` on low-rank projections of the matrix gradients (module docstring).

    Args:
      rank: the projection rank r, an int >= 1 (capped at each matrix's smaller size).
      update_proj_gap: recompute the projectors from the gradient's SVD every this many
        steps (at steps 0, T, 2T, ...), an int >= 1.
      scale: factor of the projected-back updates (finite; not applied to unprojected leaves).
      base_optimizer: a gradient transformation that needs no params (it sees the projected
        shapes), e.g. ``scale_by_adam()`` (the default), ``scale_by_lion()``; ``adamw`` and
        other optimizers that read params do not work here: use ``galore``'s ``weight_decay``.
      weight_dimension_numbers: ``None`` (project every real floating 2-D leaf), one
        ``GaLoreDimensionNumbers`` (for every real floating leaf of rank >= 2), a tree like
        the params (or a prefix of it) of ``GaLoreDimensionNumbers`` / ``None``, or a
        callable ``params -> such a tree``.
      proj_type: which side of each matrix is projected: ``'std'`` (the authors' rule, the
        shorter side), ``'reverse_std'`` (optax's rule, the longer side), ``'left'`` or
        ``'right'`` (see the module docstring).

    Returns:
      A ``GradientTransformation`` with state ``GaLoreState``.

    Raises:
      ValueError: for a bad argument or bad dimension numbers.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_galore(rank=2)
      >>> state = tx.init({"w": jnp.zeros((6, 3)), "b": jnp.zeros(3)})
      >>> state.projector["w"].shape, state.base_optimizer_state.mu["w"].shape
      ((3, 2), (6, 2))

    References:
      Zhao et al., `GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection
      <https://arxiv.org/abs/2403.03507>`_, 2024; code:
      `jiaweizzhao/GaLore <https://github.com/jiaweizzhao/GaLore>`_.
    """
    fn = "scale_by_galore"
    _check(fn, rank, update_proj_gap, scale, proj_type, base_optimizer)
    base = scale_by_adam() if base_optimizer is None else base_optimizer

    def plan(tree):
        leaves, treedef = jax.tree.flatten(tree, is_leaf=is_none)
        dims = _dims_per_leaf(weight_dimension_numbers, tree, fn)
        layouts = [None if d is None else _layout(jnp.asarray(x), d, fn) for x, d in zip(leaves, dims)]
        return leaves, treedef, layouts

    def shapes(layout):
        """(projector shape, projected shape) of a matrix."""
        _, _, m, n = layout
        r = min(rank, m, n)
        return ((m, r), (r, n)) if _left(proj_type, m, n) else ((n, r), (m, r))

    def init_fn(params):
        leaves, treedef, layouts = plan(params)
        projectors, proxies = [], []
        for x, lay in zip(leaves, layouts):
            if x is None:
                projectors.append(None)
                proxies.append(None)
            elif lay is None:
                projectors.append(jnp.zeros((), jnp.asarray(x).dtype))
                proxies.append(jnp.zeros_like(x))
            else:
                p_shape, r_shape = shapes(lay)
                projectors.append(jnp.zeros(p_shape, x.dtype))
                proxies.append(jnp.zeros(r_shape, x.dtype))
        return GaLoreState(_numerics.zero_count(), base.init(treedef.unflatten(proxies)), treedef.unflatten(projectors))

    def update_fn(updates, state, params=None, **extra_args):
        del params
        check_same_structure(fn, (updates, state.projector), ("updates", "state.projector"))
        leaves, treedef, layouts = plan(updates)
        refresh = state.count % update_proj_gap == 0
        lows, projectors = [], []
        for g, p, lay in zip(leaves, jax.tree.leaves(state.projector, is_leaf=is_none), layouts):
            if g is None or lay is None:
                lows.append(g)
                projectors.append(p)
                continue
            mat = _to_matrix(g, lay)
            m, n = mat.shape
            r = min(rank, m, n)
            left = _left(proj_type, m, n)

            def fresh(mat=mat, r=r, left=left):
                u, _, vh = jnp.linalg.svd(mat.astype(jnp.float32), full_matrices=False)
                return (u[:, :r] if left else vh[:r, :].T).astype(mat.dtype)

            p = jax.lax.cond(refresh, fresh, lambda p=p: p)
            lows.append(p.T @ mat if left else mat @ p)
            projectors.append(p)
        low_updates, base_state = base.update(treedef.unflatten(lows), state.base_optimizer_state, None, **extra_args)
        out = []
        for g, u, p, lay in zip(leaves, jax.tree.leaves(low_updates, is_leaf=is_none), projectors, layouts):
            if g is None or lay is None:
                out.append(u)
                continue
            m, n = lay[2], lay[3]
            full = p @ u if _left(proj_type, m, n) else u @ p.T
            out.append((scale * _from_matrix(full, lay)).astype(g.dtype))
        new_state = GaLoreState(_numerics.safe_increment(state.count), base_state, treedef.unflatten(projectors))
        return treedef.unflatten(out), new_state

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn, "it projects each matrix leaf on its SVD")


def galore(
    learning_rate: Any,
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: Any = 1.0,
    base_optimizer: GradientTransformation | None = None,
    weight_decay: Any = 0.0,
    mask: Any = None,
    weight_dimension_numbers: Any = None,
    *,
    proj_type: str = "std",
) -> GradientTransformation:
    r"""GaLore: ``base_optimizer`` on low-rank gradient projections, decoupled weight decay.

    ``p <- p - lr_t (Δ_t + weight_decay · p)`` with ``Δ_t`` from ``scale_by_galore`` (module
    docstring); as optax, ``chain(scale_by_galore(...), add_decayed_weights(weight_decay,
    mask), scale_by_learning_rate(learning_rate))``. ``proj_type='reverse_std'`` gives
    optax.contrib.galore's numbers; the default ``'std'`` is the paper's and the authors'.

    Args:
      learning_rate: a float >= 0 or a schedule (set 1.0 if ``base_optimizer`` has one).
      rank, update_proj_gap, scale, base_optimizer, weight_dimension_numbers, proj_type: as
        in ``scale_by_galore``.
      weight_decay: decoupled decay in the full parameter space, multiplied by the
        learning rate, >= 0.
      mask: booleans (a tree like the params, a prefix of it, or a callable ``params ->
        such a tree``): which leaves decay (``None``: all).

    Returns:
      A ``GradientTransformation``; its update needs ``params`` when ``weight_decay`` is used.
      Under ``inject_hyperparams`` the learning rate, ``scale`` and ``weight_decay`` can be
      injected; ``rank`` and ``update_proj_gap`` shape the computation, so name them in
      ``static_args``.

    Raises:
      ValueError: for a bad argument or bad dimension numbers.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones((8, 4)), "b": jnp.zeros(4)}
      >>> loss = lambda p: jnp.sum((jnp.arange(8.0) @ p["w"] + p["b"] - 1.0) ** 2)
      >>> tx = zoo.galore(0.05, rank=2, update_proj_gap=10)
      >>> state, start = tx.init(params), loss(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{start:.1f} -> {loss(params):.2f}")
      2916.0 -> 0.00

    References:
      Zhao et al., `GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection
      <https://arxiv.org/abs/2403.03507>`_, 2024; code:
      `jiaweizzhao/GaLore <https://github.com/jiaweizzhao/GaLore>`_.
    """
    fn = "galore"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, rank, update_proj_gap, scale, proj_type, base_optimizer)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    tx = adaptive_alias(
        scale_by_galore(rank, update_proj_gap, scale, base_optimizer, weight_dimension_numbers, proj_type=proj_type),
        learning_rate, weight_decay, mask)
    return _packable.per_leaf(tx, fn, "it projects each matrix leaf on its SVD")
