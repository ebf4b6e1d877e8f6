r"""Shampoo: one preconditioner per axis of each leaf, applied as inverse roots.

For a leaf :math:`G_t` with :math:`k` axes (pytorch_optimizer's ``Shampoo``, after Gupta et
al.'s Algorithm 2):

.. math::

   \tilde G_t = (1-\mu) G_t + \mu D_{t-1} \quad (\tilde G_1 = G_1), \qquad
   \tilde G_t \leftarrow \tilde G_t + \lambda p_{t-1} \quad\text{(coupled decay)},

   H_{i,t} = H_{i,t-1} + \tilde G_{t,(i)} \tilde G_{t,(i)}^\top, \quad H_{i,0} = \epsilon I,

   D_t = \tilde G_t \times_1 H_{1,t}^{-1/(2k)} \times_2 H_{2,t}^{-1/(2k)} \cdots
   \times_k H_{k,t}^{-1/(2k)}, \qquad p_t = p_{t-1} - \eta D_t

(:math:`\tilde G_{(i)}` is :math:`\tilde G` unfolded along axis :math:`i`, :math:`\times_i`
the product along axis :math:`i`, :math:`\epsilon` ``matrix_eps``, :math:`\mu` ``momentum``).
The inverse roots are taken with an SVD, :math:`U \Sigma^{-1/(2k)} V^\top`, and recomputed
only at steps :math:`t` that ``preconditioning_compute_steps`` divides; in between the last
ones are used (before the first, they are zero, so the first ``preconditioning_compute_steps
- 1`` steps move nothing but the weight decay, as in the reference). A vector is full-matrix
AdaGrad (:math:`H^{-1/2}`), a scalar plain SGD. The momentum is the reference's: it mixes the
gradient with the *preconditioned* direction :math:`D_{t-1}` of the previous step. With
``weight_decouple`` the decay is :math:`p \leftarrow p (1 - \eta\lambda)` instead
(:math:`p (1 - \lambda)` with ``fixed_decay``), applied before the step.

This is ``pytorch_optimizer.Shampoo`` (its defaults: lr 1e-3, no momentum, no weight decay,
a new preconditioner every step, matrix_eps 1e-6), tested equal with its defaults and random
others. Conditioning: a statistic made of fewer gradients than its axis is long (a vector's,
early on) has eigenvalues near ``matrix_eps``, whose inverse roots are large; with nearly
parallel gradients (a fixed loss, small steps) the step then amplifies rounding of the
gradient by orders of magnitude, in the reference as here. A larger ``matrix_eps`` (the
catalogue's example uses 1e-2) or a period of 1 keeps it tame; in float32, the SVD's absolute
error (float32's epsilon times the largest eigenvalue) is above the default ``matrix_eps``.

**Spreading the preconditioner work over devices** (``spread=``). The work is the per-axis
statistics (a contraction per axis, every step, cheap) and the inverse roots (an SVD of a
:math:`d \times d` matrix per axis, every ``preconditioning_compute_steps`` steps,
:math:`O(d^3)`, the cost that matters), independent across leaves and axes. With
``spread=mesh`` (or ``(mesh, axis)``) the update computes every leaf's statistics first, then,
under one ``lax.cond`` on the compute step, all the roots at once: roots of equal shape and
order are stacked, padded with identities to a multiple of the :math:`N` devices on the axis and
run as ``vmap`` under ``shard_map``, each device taking a contiguous :math:`1/N` of the stack
(``jaxopt_zoo/_spread.py``), and gathered back (one all-gather). Per device a group of
:math:`B` equal roots costs :math:`\lceil B/N \rceil` SVDs instead of :math:`B`. The statistics
and roots are then constrained to be replicated over the mesh (without ``spread`` XLA's
propagation places them: the statistic of an FSDP-sharded axis typically comes out sharded
along it). Each root is the same function of the same input, so the step is bit-for-bit the
unspread one (checked, params replicated, on 8 simulated devices in ``tests/sharding_checks.py`` with the
per-device SVD batch read from the compiled program). Limits: under ``jit`` over global arrays
only (not inside a ``shard_map``/``pmap`` over the same axis); balance within each shape
group, not across groups; the contraction :math:`\times_i` of an FSDP-sharded leaf is left to
XLA (it all-gathers or all-reduces as needed). Distributed Shampoo (Anil et al. 2020) also splits large axes into blocks and
runs the roots asynchronously on spare devices; the blocking changes the algorithm and is
not the reference's.

References: Gupta, Koren & Singer, `Shampoo: Preconditioned Stochastic Tensor Optimization
<https://arxiv.org/abs/1802.09568>`_, 2018; Anil, Gupta, Koren, Regan & Singer, `Scalable
Second Order Optimization for Deep Learning <https://arxiv.org/abs/2002.09018>`_, 2020.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _spread, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import as_tuple, check_same_structure, is_none
from ..transforms._weight_decay import decayed_step


class ScaleByShampooState(NamedTuple):
    """State of ``scale_by_shampoo``: the step, the last direction :math:`D_{t-1}` (the
    reference's ``momentum_buffer``, kept with or without momentum as there), and per leaf a
    tuple with one statistic and one inverse root per axis."""

    count: jax.Array
    momentum: Any
    preconditioners: Any
    inverse_roots: Any


def _inverse_root(power: int, h):
    """``h^{-1/power}`` through an SVD (float32 at least; the reference's ``compute_power_svd``)."""
    ct = jnp.promote_types(h.dtype, jnp.float32)
    u, s, vh = jnp.linalg.svd(h.astype(ct), full_matrices=False)
    return ((u * (s ** (-1.0 / power))[None, :]) @ vh).astype(h.dtype)


def _precondition(x, roots):
    """``x`` times each root along its axis (the reference's ``inv @ x`` for all axes but the
    last, ``x @ inv`` for the last)."""
    order = x.ndim
    for i, r in enumerate(roots):
        if i < order - 1:
            x = jnp.moveaxis(jnp.tensordot(r, x, axes=(1, i)), 0, i)
        else:
            x = jnp.tensordot(x, r, axes=(i, 0))
    return x


def _scale_by_shampoo(fn, momentum, preconditioning_compute_steps, matrix_eps, coupled_decay=None, spread=None):
    """``scale_by_shampoo``; ``coupled_decay`` adds ``wd * p`` to the mixed gradient (``shampoo``
    with ``weight_decouple=False``); ``spread``: a resolved ``(mesh, axes)`` or ``None``."""
    mixes = not (isinstance(momentum, (int, float)) and momentum == 0)
    k = preconditioning_compute_steps

    def init_fn(params):
        def mats(x, eps: bool):
            if x is None:
                return None
            if not _numerics.is_trained(x):
                return ()
            if eps:
                return tuple(jnp.eye(d, dtype=x.dtype) * jnp.asarray(matrix_eps, x.dtype) for d in jnp.shape(x))
            return tuple(jnp.zeros((d, d), x.dtype) for d in jnp.shape(x))

        return ScaleByShampooState(
            _numerics.zero_count(), _numerics.zeros_like(params),
            jax.tree.map(lambda x: mats(x, True), params, is_leaf=is_none),
            jax.tree.map(lambda x: mats(x, False), params, is_leaf=is_none))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if coupled_decay is not None:
            _validate.check_params("shampoo", params, updates, " (for its weight decay)")
        check_same_structure(fn, (updates, state.momentum), ("updates", "state.momentum"))
        treedef = jax.tree.structure(updates, is_leaf=is_none)
        gs = treedef.flatten_up_to(updates)
        ps = treedef.flatten_up_to(params) if coupled_decay is not None else [None] * len(gs)
        bufs = treedef.flatten_up_to(state.momentum)
        # per leaf a tuple (nnx hands tuples back as mappings; ``()`` for untrained leaves)
        hs = [as_tuple(h) for h in treedef.flatten_up_to(state.preconditioners)]
        roots = [as_tuple(r) for r in treedef.flatten_up_to(state.inverse_roots)]
        count = _numerics.safe_increment(state.count)
        compute = (count % k) == 0

        # first the mixed gradients and the statistics of every leaf ...
        trained = [g is not None and _numerics.is_trained(g) for g in gs]
        mixed, stats = list(gs), list(hs)
        for i, (g, p, buf, h) in enumerate(zip(gs, ps, bufs, hs)):
            if not trained[i]:
                continue
            dt = g.dtype
            if mixes:
                g = _numerics.lerp(g, jnp.where(state.count == 0, g, buf), momentum).astype(dt)
            if coupled_decay is not None:
                g = (g + coupled_decay * p).astype(dt)
            axes = range(g.ndim)
            mixed[i] = g
            stats[i] = tuple((hi + jnp.tensordot(g, g, axes=([a for a in axes if a != j],) * 2)).astype(dt)
                             for j, hi in enumerate(h))
        # ... then the inverse roots: per leaf, or all at once spread over the devices
        if spread is None:
            roots = [jax.lax.cond(compute, lambda h=h, power=2 * g.ndim: tuple(_inverse_root(power, hi) for hi in h),
                                  lambda r=tuple(r): r) if t else r
                     for g, h, r, t in zip(mixed, stats, roots, trained)]
        else:
            jobs = [(hi,) for h, t in zip(stats, trained) if t for hi in h]
            powers = [2 * g.ndim for g, h, t in zip(mixed, stats, trained) if t for _ in h]
            flat = jax.lax.cond(compute, lambda: _spread.map_jobs(_inverse_root, jobs, spread, powers),
                                lambda: [ri for r, t in zip(roots, trained) if t for ri in r])
            new_roots = []
            for h, r, t in zip(stats, roots, trained):
                new_roots.append(tuple(flat.pop(0) for _ in h) if t else r)
            roots = new_roots
        out = []
        for g, buf, h, r, t in zip(mixed, bufs, stats, roots, trained):
            if g is None:
                out.append((None, None, None, None))
            elif not t:  # integer/bool leaves are not trained
                out.append((jnp.zeros_like(g), buf, h, r))
            else:
                d = _precondition(g, tuple(r)).astype(g.dtype)
                out.append((d, d, h, tuple(r)))

        u, mom, h, r = (treedef.unflatten([o[i] for o in out]) for i in range(4))
        h, r = _spread.replicated((h, r), spread)
        return u, ScaleByShampooState(count, mom, h, r)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "it preconditions each axis of each leaf with that leaf's own statistics")


def _check(fn, momentum, preconditioning_compute_steps, matrix_eps):
    _validate.check_decay(fn, "momentum", momentum)
    _validate.check_int(fn, "preconditioning_compute_steps", preconditioning_compute_steps, lo=1)
    _validate.check_nonnegative(fn, "matrix_eps", matrix_eps)


def scale_by_shampoo(
    momentum: Any = 0.0,
    preconditioning_compute_steps: int = 1,
    matrix_eps: Any = 1e-6,
    *,
    spread: Any = None,
) -> GradientTransformation:
    r"""Shampoo's direction :math:`D_t` (see module docstring), not scaled by a rate, not negated.

    Args:
      momentum: weight of the previous direction in the mixed gradient, in [0, 1).
      preconditioning_compute_steps: steps between new inverse roots, an int >= 1.
      matrix_eps: the statistics start at ``matrix_eps * I``, >= 0.
      spread: ``None``, a ``jax.sharding.Mesh`` or ``(mesh, axis name(s))``: split the inverse
        roots of equal-shaped statistics over the devices of those mesh axes (see the module
        docstring); the result is unchanged.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByShampooState``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_shampoo()
      >>> g = {"w": jnp.array([[1.0, 0.0], [0.0, 2.0]])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"].round(3))  # H = eps I + G G^T per axis, D = H^{-1/4} G H^{-1/4}
      [[1. 0.]
       [0. 1.]]

    References:
      Gupta, Koren & Singer, `Shampoo: Preconditioned Stochastic Tensor Optimization
      <https://arxiv.org/abs/1802.09568>`_, 2018.
    """
    fn = "scale_by_shampoo"
    _check(fn, momentum, preconditioning_compute_steps, matrix_eps)
    return _scale_by_shampoo(fn, momentum, preconditioning_compute_steps, matrix_eps, spread=_spread.resolve(fn, spread))


def shampoo(
    learning_rate: ScalarOrSchedule = 1e-3,
    momentum: Any = 0.0,
    weight_decay: Any = 0.0,
    weight_decouple: bool = False,
    fixed_decay: bool = False,
    preconditioning_compute_steps: int = 1,
    matrix_eps: Any = 1e-6,
    *,
    spread: Any = None,
) -> GradientTransformation:
    r"""Shampoo (see module docstring), pytorch_optimizer's defaults and keywords (``lr`` is
    ``learning_rate``).

    Args:
      learning_rate: a float >= 0 or a schedule.
      momentum, preconditioning_compute_steps, matrix_eps: as in ``scale_by_shampoo``.
      weight_decay: weight decay, >= 0; added to the gradient (after the momentum) unless
        ``weight_decouple``.
      weight_decouple: decoupled decay ``p (1 - lr wd)``, before the step.
      fixed_decay: decoupled decay ``p (1 - wd)``, not scaled by the rate.
      spread: as in ``scale_by_shampoo``.

    Returns:
      A ``GradientTransformation``; its update needs ``params`` when ``weight_decay`` > 0.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
      >>> tx = zoo.shampoo(0.3)
      >>> state = tx.init(params)
      >>> loss = lambda p: jnp.sum((p["w"] - jnp.arange(6.0).reshape(3, 2) / 6) ** 2) + jnp.sum(p["b"] ** 2)
      >>> update = jax.jit(tx.update)
      >>> for _ in range(60):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(loss(params)) < 0.05)
      True

    References:
      Gupta, Koren & Singer, `Shampoo: Preconditioned Stochastic Tensor Optimization
      <https://arxiv.org/abs/1802.09568>`_, 2018.
    """
    fn = "shampoo"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, momentum, preconditioning_compute_steps, matrix_eps)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    no_decay = isinstance(weight_decay, (int, float)) and weight_decay == 0.0
    return chain(
        _scale_by_shampoo("scale_by_shampoo", momentum, preconditioning_compute_steps, matrix_eps,
                          None if weight_decouple or no_decay else weight_decay, _spread.resolve(fn, spread)),
        decayed_step("shampoo", learning_rate, weight_decay if weight_decouple else 0.0,
                     lambda p, d, lr: p * (1.0 - weight_decay * (1.0 if fixed_decay else lr)) - lr * d),
    )
