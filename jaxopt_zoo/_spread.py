r"""Spreading per-matrix preconditioner work over the devices of a mesh axis (``spread=``).

The matrix preconditioners (``soap``, ``shampoo``, ``muon``, ``kron``) do, per leaf and per
axis, a matrix computation (an ``eigh``, a QR, an SVD, a Newton–Schulz chain, a triangular
factor's step) that does not depend on the other leaves. Under ``jit`` with global arrays
every device computes all of them (their inputs are small and replicated, or gathered).
With ``spread=(mesh, axis)`` the jobs are instead

1. grouped by the shapes and dtypes of their inputs (and any static argument),
2. stacked along a new leading axis, padded with identity matrices to a multiple of the
   number :math:`N` of devices along ``axis``,
3. run as ``vmap`` of the one-matrix function under ``shard_map`` with the stack split along
   ``axis`` (``P(axis)``): device :math:`i` runs jobs :math:`i\,B/N .. (i+1)\,B/N - 1` of the
   group, contiguous blocks of the stack (per-device shape ``(ceil(B/N), d, d)``); with
   ``sequential=True`` as ``lax.map`` instead, one job after the other, each with the
   unbatched ops (``kron``: XLA:CPU rounds batched matrix products apart from single ones),
4. and handed back as a stack sharded along ``axis``; using the results (replicated) costs
   one all-gather of the stack, which XLA inserts.

The work per device of a group of :math:`B` jobs goes from :math:`B` to
:math:`\lceil B/N \rceil`; a group with :math:`B < N` still runs one job per device (the
padding), so per-device time never grows, only the idle devices' flops. The result of each
job is computed by the same function on the same input, so the spread update equals the
unspread one (``vmap`` of a batched LAPACK call runs the same per-matrix routine, ``lax.map``
the same unbatched ops; the sharding checks pin it, see ``tests/sharding_checks.py``).

Limits: ``spread`` is for ``jit`` over global (``NamedSharding``) arrays; inside a
``shard_map``/``pmap`` over the same axis there is no second level to split (use it outside).
The jobs' inputs are gathered to the devices that run them; with FSDP the statistics of a
sharded axis are all-reduced first (XLA does this for the contraction that makes them).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from . import _validate


def resolve(fn: str, spread: Any):
    """``spread`` checked and normalised: ``None`` or ``(mesh, axes)`` with ``axes`` a tuple of
    axis names of ``mesh``. Accepts a ``Mesh`` (all its axes), ``(mesh, name)`` or ``(mesh, names)``."""
    if spread is None:
        return None
    if isinstance(spread, Mesh):
        mesh, axes = spread, tuple(spread.axis_names)
    elif isinstance(spread, tuple) and len(spread) == 2 and isinstance(spread[0], Mesh):
        mesh, axes = spread[0], spread[1] if isinstance(spread[1], tuple) else (spread[1],)
    else:
        _validate.fail(fn, "spread", spread, "must be None, a jax.sharding.Mesh or a (mesh, axis name(s)) pair")
    if not axes or any(a not in mesh.axis_names for a in axes):
        _validate.fail(fn, "spread", spread, f"must name axes of the mesh {tuple(mesh.axis_names)}")
    return mesh, axes


def devices(spread) -> int:
    mesh, axes = spread
    return math.prod(mesh.shape[a] for a in axes)


def _pad(x: jax.Array, n: int) -> jax.Array:
    """``x`` (a stack) extended by ``n`` identity matrices (zeros for non-matrix entries)."""
    if n == 0:
        return x
    shape = x.shape[1:]
    fill = jnp.eye(shape[0], shape[1], dtype=x.dtype) if len(shape) == 2 else jnp.zeros(shape, x.dtype)
    return jnp.concatenate([x, jnp.broadcast_to(fill, (n,) + shape)])


def vmap(fn: Callable, stacked: Any, spread, sequential: bool = False) -> Any:
    """``jax.vmap(fn)(stacked)``; with ``spread`` the stack (a pytree of arrays with one leading
    batch axis) is padded to a multiple of the devices and split over them. ``sequential``:
    each device runs its share one job after the other (``lax.map``) instead of as one
    batch, so every job runs the unbatched ops of ``fn`` (the same rounding as unstacked)."""
    each = (lambda x: jax.lax.map(fn, x)) if sequential else jax.vmap(fn)
    if spread is None:
        return each(stacked)
    mesh, axes = spread
    b = jax.tree.leaves(stacked)[0].shape[0]
    padded = jax.tree.map(lambda x: _pad(x, -b % devices(spread)), stacked)
    spec = P(axes if len(axes) > 1 else axes[0])
    out = jax.shard_map(each, mesh=mesh, in_specs=(spec,), out_specs=spec)(padded)
    return jax.tree.map(lambda y: y[:b], out)


def map_jobs(fn: Callable, jobs: Sequence[tuple], spread, static: Sequence[Any] | None = None,
             sequential: bool = False) -> list:
    """``[fn(s, *job) for job, s in zip(jobs, static)]`` (``fn(*job)`` without ``static``), with
    the jobs of equal input shapes, dtypes and static value stacked and run as one ``vmap``
    (``lax.map`` if ``sequential``), spread over the devices (see the module docstring)."""
    keys = [None] * len(jobs) if static is None else list(static)
    groups: dict = {}
    for i, (job, s) in enumerate(zip(jobs, keys)):
        groups.setdefault((tuple((a.shape, a.dtype) for a in job), s), []).append(i)
    out = [None] * len(jobs)
    for (_, s), members in groups.items():
        stacked = tuple(jnp.stack([jobs[i][k] for i in members]) for k in range(len(jobs[members[0]])))
        result = vmap(lambda a, s=s: fn(*a) if static is None else fn(s, *a), stacked, spread, sequential)
        for j, i in enumerate(members):
            out[i] = jax.tree.map(lambda y, j=j: y[j], result)
    return out


def replicated(tree: Any, spread) -> Any:
    """``tree`` constrained to be replicated over the spread mesh (the factor matrices' layout
    with ``spread``: every device holds every factor; without it XLA's propagation decides)."""
    if spread is None:
        return tree
    sharding = jax.sharding.NamedSharding(spread[0], P())
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)
