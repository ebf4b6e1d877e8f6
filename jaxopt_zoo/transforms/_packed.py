r"""An opt-in packed layout: the leaves of one dtype in a few flat buffers.

Every array that enters or leaves a jitted step costs the host a few microseconds
(argument checks, buffer bookkeeping, a Python object per output), and on XLA's CPU
backend every array the step writes is written by its own kernel. A model with thousands
of small leaves therefore pays for its leaf count, not its parameter count: in the layout
that mirrors the params, AdamW passes p, g, m and v of every leaf into ``jit`` and p, m and
v out. Measured on 2,048 leaves, a jitted step that does nothing with those arrays costs as
much as optax's whole AdamW step (``benchmarks/``, the ``[no-op step]`` rows).

``packed(tx)`` keeps ``tx``'s state as flat buffers per dtype, so the moments of all
leaves are a few arrays updated by a handful of kernels; only the updates are cut back into
leaves (and XLA fuses that slicing into ``apply_updates``). ``pack_tree``/``unpack_tree`` go one step
further for a training loop that keeps its *params* packed too: the step is then a few
kernels whatever the leaf count.

The packed vector of a dtype is the concatenation of that dtype's leaves, raveled, in the
order of ``jax.tree.leaves``, cut into chunks of about ``CHUNK_SIZE`` elements (small chunks
keep XLA from splitting each small kernel across threads, which costs more than it saves):

.. math::  \mathrm{pack}(\theta)_{\text{float32}} = [\mathrm{vec}(\theta_1); \dots; \mathrm{vec}(\theta_k)].

Only transformations that act elementwise, or through scalars of the whole tree (a global
norm, a step count, a loss value), give the same numbers on the packed vector as on the
tree: SGD (with momentum or Nesterov), Adam and its variants (AdamW, AMSGrad, NAdam,
Adamax, ...), RMSprop, Adagrad, Lion, AdaBelief, clip, clip_by_global_norm,
add_decayed_weights without a mask, scale, schedules, and wrappers of those (chain,
lookahead, SAM, inject_hyperparams, apply_if_finite, MultiSteps, monitor). Transforms that
look at each leaf's shape, norm or place in the tree (Adafactor, LAMB, LARS, trust ratios,
clip_by_block_rms, gradient centralization, masks and multi_transform) would give other
numbers: ``packed`` refuses them with a ValueError naming them (DESIGN §9).

Which is which is an allowlist (``jaxopt_zoo._packable``): each zoo factory tags what it
returns as elementwise, per-leaf, or made of members; a transformation without a tag (from
optax, hand-written, or an optax combinator such as ``optax.chain`` around zoo members) is
refused too, because nothing says its numbers survive packing. Build the chain with
``zoo.chain`` to pack it.

The packed state is a few 1-D arrays per dtype, not one array per param: it is not sharded
like the params. Use the default layout when training with sharded params.

**The fused update kernel (opt-in, ``JAXOPT_ZOO_KERNELS=1``).** When ``tx`` is Adam or AdamW built by the zoo (``zoo.adam``,
``zoo.adamw``, or ``zoo.chain([clip_by_global_norm(...), ...], scale_by_adam(...),
[add_decayed_weights(wd)], scale(-lr) | scale_by_schedule(...))``, with float hyperparameters, float32 params and moments, no
Nesterov/AMSGrad), the step runs on CPU as one C++ kernel per chunk (``jaxopt_zoo._kernels``,
``adam_cpu.cc``) that reads p, g, m, v once and writes the update, m and v, the moments in
place. It gives the numbers of the unfused path (the same floating-point operations as XLA's
program for it) and the same state, so checkpoints move freely between the two. Everything
else, every install built without the kernels, and every run without
``JAXOPT_ZOO_KERNELS=1`` (the default: it does not yet beat the pure-JAX path, see
``benchmarks/README.md``) runs the pure-JAX path. The update kernel of ``packed`` runs only with a single device (the pure-JAX path otherwise);
the in-place kernels of ``packed_apply`` run on sharded buffers too, one call per device on its
shards (below).

**The in-place step (its kernels on by default).** ``packed_apply(tx, grads, state, params)`` is the whole step on packed
params, ``apply_updates(params, tx.update(...))``; with its kernel, each chunk is one pass that
reads p, g, m, v and writes p, m and v over their own buffers (28 bytes per float32
parameter, the memory floor), where ``update`` + ``apply_updates`` also write the update and
read it back (40 bytes). These in-place kernels run by default where the package was built with
them (``jaxopt_zoo._kernels``: ``JAXOPT_ZOO_KERNELS=0`` turns every kernel off, ``=1`` adds the
update kernel of ``packed``).

**On a GPU or TPU: Pallas kernels.** There the C++ kernels do not run; for the same chains
(float32 params, one device; the Adam family also with bfloat16 moments) ``packed_apply``
calls the Pallas form of each in-place kernel per chunk (``jaxopt_zoo/_kernels/pallas_adam.py``,
``pallas_momentum.py``, ``pallas_lion.py``, ``pallas_rms.py``; p and the state in place), and
``packed``'s Adam update path the Pallas Adam kernel, when asked for with
``JAXOPT_ZOO_PALLAS=1`` (and ``JAXOPT_ZOO_KERNELS`` lets the kernel run; per-leaf grads are
packed first).
They have never been run on a GPU or TPU (this project's machines have none): their lowering
to Triton and Mosaic is tested, not their speed or their numbers on a device.
``JAXOPT_ZOO_PALLAS=interpret`` runs them in Pallas' interpret mode on any backend, CPU
included -- a testing aid (slow), with which tests/test_kernels_pallas.py checks this wiring
and its numbers: within 1 ulp of the pure-JAX path for every chain above (see
``pallas_adam.py``, "Numbers").

**Sharded buffers.** With several devices, ``packed_apply``'s kernel call is partitioned as
``shard_map`` over the params' sharding (``jax.experimental.custom_partitioning``: under ``jit``
the sharding is known only when XLA partitions the program; under explicit sharding, whose types
carry it, ``shard_map`` itself; inside a ``shard_map`` the kernel runs on the shards it is given): each device runs the kernel on its
own shards of p, g and the state, in place, and the global scalars (the clipping norm, the step
count, the schedule) are computed before it on the whole sharded tree (XLA's sharded reduction).
The numbers are the unsharded kernel's bit for bit, except that a clipping norm summed over
shards may round otherwise (measured: 1 ulp of the norm on 8 devices).
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _kernels, _numerics, _packable, _validate
from .._base import GradientTransformation, apply_updates
from .._tree import is_none


class PackedState(NamedTuple):
    """State of ``packed(tx)``: ``tx``'s state on the packed tree ``{dtype name: (chunk, ...)}``."""

    inner: Any


# Elements per packed chunk. Measured on a 2-core CPU (AdamW, 256 leaves of 512): chunks of
# 16 Ki elements step in 2.5 ms and compile in 6 s; one chunk of 128 Ki elements takes
# 12.5 ms and 27 s, because XLA then splits every small slicing kernel across threads.
CHUNK_SIZE = 1 << 14


def _dtype_key(x: Any) -> str:
    return jnp.result_type(x).name


def _layout(like: Any, chunk_size: int):
    """Where each leaf goes: ``(treedef, [None | (key, chunk, offset, size, shape)], {key: [chunk sizes]})``.

    Leaves of a dtype fill chunks of at most ``chunk_size`` elements in tree order; a leaf of
    ``chunk_size`` elements or more is a chunk of its own.
    """
    leaves, treedef = jax.tree.flatten(like, is_leaf=is_none)
    if chunk_size is None:
        chunk_size = float("inf")
    places, chunks, open_chunk = [], {}, {}
    for leaf in leaves:
        if leaf is None:
            places.append(None)
            continue
        key, size = _dtype_key(leaf.dtype), int(np.prod(leaf.shape))
        sizes = chunks.setdefault(key, [])
        if open_chunk.get(key) and size < chunk_size and sizes[-1] + size <= chunk_size:
            places.append((key, len(sizes) - 1, sizes[-1], size, tuple(leaf.shape)))
            sizes[-1] += size
        else:
            places.append((key, len(sizes), 0, size, tuple(leaf.shape)))
            sizes.append(size)
            open_chunk[key] = size < chunk_size
    return treedef, places, chunks



def _check_chunk_size(fn: str, chunk_size: Any) -> None:
    """``chunk_size`` is ``None`` (one buffer per dtype) or an integer >= 1."""
    if chunk_size is not None:
        _validate.check_int(fn, "chunk_size", chunk_size, lo=1)

def pack_tree(tree: Any, chunk_size: int | None = CHUNK_SIZE) -> dict:
    """Concatenate the leaves of ``tree`` into flat chunks, grouped by dtype.

    The leaves of each dtype are raveled and joined, in the order of ``jax.tree.leaves``,
    into chunks of at most ``chunk_size`` elements (a larger leaf is a chunk by itself).
    ``None`` leaves are skipped. ``unpack_tree`` undoes it.

    Args:
      tree: a pytree of arrays (params, grads, updates).
      chunk_size: the most elements a chunk of several leaves holds; ``None``: one chunk per
        dtype. Small chunks suit ``packed(tx)``, whose updates are cut back into leaves every
        step; a training loop that keeps its params packed is fastest with ``None``.

    Returns:
      A dict ``{dtype name: (chunk, ...)}`` with one entry per dtype present, e.g.
      ``{"float32": (chunk0, chunk1)}``; a chunk of several leaves is 1-D, a chunk of a
      single leaf is that leaf unchanged.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> flat = zoo.pack_tree({"b": jnp.zeros(2), "w": jnp.ones((2, 2))})
      >>> [c.shape for c in flat["float32"]]
      [(6,)]
    """
    _check_chunk_size("pack_tree", chunk_size)
    _, places, chunks = _layout(tree, chunk_size)
    parts = {key: [[] for _ in sizes] for key, sizes in chunks.items()}
    for leaf, place in zip(jax.tree.leaves(tree, is_leaf=is_none), places):
        if place is not None:
            parts[place[0]][place[1]].append(leaf)
    return {key: tuple(_join(p) for p in parts[key]) for key in sorted(parts)}


def _join(leaves: list) -> jax.Array:
    # A chunk of one leaf is the leaf itself, in its own shape: nothing is copied, and its
    # state keeps the leaf's shape (and sharding).
    return leaves[0] if len(leaves) == 1 else jnp.concatenate([jnp.ravel(x) for x in leaves])


def unpack_tree(packed: dict, like: Any, chunk_size: int | None = CHUNK_SIZE) -> Any:
    """Cut the chunks of ``pack_tree`` back into a tree shaped like ``like``.

    Under ``jit`` on one device, the leaves are cut at offsets the compiled program reads at
    run time (with the same values, so the same numbers), so that XLA compiles what consumes
    them -- a loss, its gradient, ``apply_updates`` -- to one kernel per leaf shape, as for
    per-leaf params, not one per leaf (2,048 leaves of one shape: one kernel to compile
    instead of 2,048); with several devices (the chunks may be sharded) they are constant
    slices. Its gradient is one concatenation per chunk.

    Args:
      packed: ``{dtype name: (1-D array, ...)}`` as made by ``pack_tree`` (or any arrays of
        that layout, for instance updates computed on it).
      like: the tree whose structure, shapes and dtypes give the layout (arrays or
        ``jax.ShapeDtypeStruct``); ``None`` leaves stay ``None``.
      chunk_size: the ``chunk_size`` given to ``pack_tree``.

    Returns:
      A tree like ``like`` whose leaves are slices of ``packed`` (in ``packed``'s dtypes).

    Raises:
      ValueError: if ``packed`` does not hold exactly the chunks ``like`` needs.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"b": jnp.zeros(2), "w": jnp.ones((2, 2))}
      >>> zoo.unpack_tree(zoo.pack_tree(params), params)["w"].shape
      (2, 2)
    """
    return _unpack(packed, like, chunk_size, run_time_offsets=True)


def _unpack(packed: dict, like: Any, chunk_size: int | None, *, run_time_offsets: bool) -> Any:
    """``unpack_tree``; ``run_time_offsets=False`` cuts at constant offsets always (``packed``'s
    updates: its chunks of 16 Ki repeat their offsets, so the consumers' kernels are few anyway,
    and the updates keep the roundings the kernels of its update form reproduce)."""
    _check_chunk_size("unpack_tree", chunk_size)
    treedef, places, chunks = _layout(like, chunk_size)
    missing = sorted(set(chunks) - set(packed))
    if missing:
        raise ValueError(f"jaxopt_zoo.unpack_tree: `packed` has no {missing[0]} entry; it has {sorted(packed)}.")
    have = {k: [int(np.prod(c.shape)) for c in v] for k, v in packed.items()}
    if have != chunks:
        raise ValueError(
            f"jaxopt_zoo.unpack_tree: `packed` holds chunks of {have} elements by dtype but `like` needs "
            f"{chunks}; was it packed from a tree like this one, with the same chunk_size?"
        )
    # Cut each chunk into its leaves (one differentiable op per chunk, see ``_cut``).
    members: dict = {}
    for i, place in enumerate(places):
        if place is not None:
            members.setdefault((place[0], place[1]), []).append(i)
    out: list = [None] * len(places)
    cuts = []
    for (key, chunk), idx in members.items():
        flat = packed[key][chunk]
        if len(idx) == 1 and tuple(flat.shape) == places[idx[0]][4]:
            out[idx[0]] = flat  # a chunk of one leaf is that leaf
        else:
            cuts.append((flat, idx))
    starts = _starts(cuts, places) if run_time_offsets else None
    for flat, idx in cuts:
        shapes = tuple(places[i][4] for i in idx)
        offsets = None if starts is None else tuple(starts[places[i][2]] for i in idx)
        for i, leaf in zip(idx, _cut(flat, offsets, shapes, tuple(flat.shape))):
            out[i] = leaf
    return jax.tree.unflatten(treedef, out)


def _starts(cuts: list, places: list) -> dict | None:
    """The offsets at which ``_cut`` cuts leaves, as int32 scalars XLA cannot fold: ``{offset: scalar}``.

    XLA compiles one kernel per distinct fused computation and reuses it for identical ones
    (the same ops on the same shapes). A leaf cut at a constant offset is a slice whose
    offset is part of its computation, so every leaf's consumers (the loss, its gradient,
    ``apply_updates``) compile to kernels of their own, about 15 ms of LLVM each on a 2-core
    CPU, where optax's per-leaf program compiles a kernel per leaf shape. Cut
    at an offset the program only knows at run time (``dynamic_slice``), the leaves' kernels
    are one per shape again. The offsets are the outputs of a ``cond`` whose two branches
    both return them and whose predicate (is the first element NaN?) XLA cannot evaluate, so
    it cannot fold them back into constants; the values, and so the numbers, are those of
    the constant offsets. What it costs at run time: the taken branch writes one int32 per
    distinct offset (a copy each), and the leaves' kernels read their offsets; in a quiet
    ``make bench`` on 2,048 leaves of one chunk, the train step took 2.0 ms against 1.1 ms with
    constant slices (optax's 43 ms), and compiled in 6.3 s against 28.6 s.

    ``None`` (cut at constant offsets) when nothing is cut, when a chunk holds 2**31 elements
    or more (int32 offsets), and with several devices outside ``shard_map``: a chunk may then
    be sharded, and XLA's partitioner gathers a chunk cut at run-time offsets whole onto every
    device (and leaves its gradient replicated), where it moves only the shards each constant
    slice needs.
    """
    anchors = [flat for flat, _ in cuts if flat.size]
    if not anchors or max(flat.size for flat, _ in cuts) >= 2**31:
        return None
    if jax.device_count() > 1 and not getattr(jax.sharding.get_abstract_mesh(), "manual_axes", ()):
        return None
    values = sorted({places[i][2] for _, idx in cuts for i in idx})
    first = jnp.ravel(anchors[0])[0]
    if not jnp.issubdtype(first.dtype, jnp.inexact):
        first = first.astype(jnp.float32)
    consts = lambda: tuple(np.int32(v) for v in values)  # noqa: E731
    return dict(zip(values, jax.lax.cond(first != first, consts, consts)))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _cut(flat: jax.Array, offsets: tuple | None, shapes: tuple, flat_shape: tuple) -> tuple:
    """The consecutive leaves of ``shapes`` that tile the chunk ``flat`` (of ``flat_shape``), in order.

    ``offsets``: where each leaf starts, as int32 scalars (``_starts``), or ``None`` to slice
    at constant offsets. Its gradient is one concatenation of the leaves' cotangents. Left to
    autodiff, each slice's transpose would be a zero-padded copy of the whole chunk, summed:
    k leaves of a chunk of n elements then cost k·n (2,048 leaves of 512 in one chunk: 52 s
    a step on a 2-core CPU instead of milliseconds).
    """
    vec, out, start = jnp.ravel(flat), [], 0
    for k, shape in enumerate(shapes):
        size = int(np.prod(shape))
        if offsets is None:
            leaf = vec[start : start + size]
        else:
            leaf = jax.lax.dynamic_slice(vec, (offsets[k],), (size,), allow_negative_indices=False)
        out.append(leaf if leaf.shape == shape else leaf.reshape(shape))
        start += size
    return tuple(out)


def _cut_fwd(flat, offsets, shapes, flat_shape):
    return _cut(flat, offsets, shapes, flat_shape), None


def _cut_bwd(shapes, flat_shape, _, cotangents):
    return jnp.concatenate([jnp.ravel(c) for c in cotangents]).reshape(flat_shape), None


_cut.defvjp(_cut_fwd, _cut_bwd)


def packed(tx: GradientTransformation, chunk_size: int | None = CHUNK_SIZE) -> GradientTransformation:
    r"""Run ``tx`` on the packed layout: its state is a few flat buffers per dtype.

    ``packed(tx).update(g, s, p) = unpack(tx.update(pack(g), s, pack(p)))``: the same
    numbers as ``tx`` for any elementwise or global-norm transformation (see the module
    docstring for which ones), with a few kernels for the state instead of a few per leaf.
    Params and updates keep their tree form, so it is used exactly like ``tx``::

        tx = zoo.packed(zoo.adamw(1e-3))
        state = tx.init(params)
        updates, state = tx.update(grads, state, params)
        params = zoo.apply_updates(params, updates)

    Args:
      tx: the transformation to run on packed arrays; updates must have their params'
        dtypes.
      chunk_size: elements per chunk of small leaves (see ``pack_tree``).

    Returns:
      A ``GradientTransformation`` with state ``PackedState(inner=tx's state on the packed
      tree)``; ``current_hyperparams`` finds hyperparameters inside it.

    Raises:
      ValueError: when ``tx`` is not known to act elementwise (the message names the
        transformation, e.g. ``lamb, through scale_by_trust_ratio``); at update, when the
        updates do not fit the packed state.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"b": jnp.zeros(3), "w": jnp.ones((3, 3))}
      >>> tx = zoo.packed(zoo.adamw(1e-3))
      >>> state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)
      >>> updates["w"].shape, state.inner[0].mu["float32"][0].shape
      ((3, 3), (12,))

    References:
      The same idea as the "multi-tensor apply" of NVIDIA Apex and torch.optim's
      ``foreach``/``fused`` implementations: `torch.optim documentation
      <https://pytorch.org/docs/stable/optim.html#algorithms>`_, 2023.
    """
    _check_chunk_size("packed", chunk_size)
    _check_packable("packed", tx)

    def init_fn(params):
        return PackedState(inner=tx.init(pack_tree(params, chunk_size)))

    plan = _adam_plan(tx)

    def update_fn(updates, state, params=None, **extra_args):
        flat_params = None if params is None else pack_tree(params, chunk_size)
        flat_grads = pack_tree(updates, chunk_size)
        if plan is not None and not extra_args and _fusable(plan, flat_grads, state.inner, flat_params):
            flat_updates, inner = _fused_adam_update(plan, flat_grads, state.inner, flat_params)
        else:
            flat_updates, inner = tx.update(flat_grads, state.inner, flat_params, **extra_args)
        return _unpack(flat_updates, updates, chunk_size, run_time_offsets=False), PackedState(inner=inner)

    return _packable.composite(GradientTransformation(init_fn, update_fn), tx)


def _check_packable(fn: str, tx: Any) -> None:
    why = _packable.reason(tx)
    if why is not None:
        raise ValueError(
            f"{_validate.PREFIX}{fn}: argument `tx` must act elementwise (or through scalars of the whole "
            f"tree) to give the same numbers on packed buffers, got {why}. Use it without packed."
        )


def packed_apply(tx: GradientTransformation, grads: dict, state: Any, params: dict, **extra_args) -> tuple:
    r"""One whole step on packed params: ``tx``'s update applied to them, in place where it can be.

    ``packed_apply(tx, g, s, p) = (apply_updates(p, u), s')`` with ``u, s' = tx.update(g, s, p)``,
    for params, grads and state in the packed layout (``pack_tree``, ``tx.init`` of the packed
    params). The same numbers as those two calls, and their pure-JAX path wherever a fused
    kernel does not run. By default (not with ``JAXOPT_ZOO_KERNELS=0``), on CPU in an install built
    with the kernels (``jaxopt_zoo._kernels``), on float32 buffers, each chunk is one
    C++ kernel that reads p, g and the state and writes p and the state over their own buffers
    (``jaxopt_zoo/_kernels/*_cpu.cc``), for the chains
    ``[clip_by_global_norm], [add_decayed_weights], core, [add_decayed_weights], scale(-lr) |
    scale_by_schedule`` with float hyperparameters, where the core is ``scale_by_adam`` (NAdam's
    ``nesterov``, and ``amsgrad``/``scale_by_amsgrad`` with its running maximum; no weight decay before it), ``trace`` (SGD with momentum or Nesterov),
    ``scale_by_lion`` (mode ``'hard'``, no weight decay before it) or ``scale_by_rms`` or
    ``scale_by_stddev`` (no bias correction; optionally followed by ``trace``, rmsprop's momentum): what
    ``zoo.adam``, ``zoo.adamw``, ``zoo.sgd(lr, momentum)``, ``zoo.lion`` and ``zoo.rmsprop`` (centred or not)
    build, and ``zoo.nadam``/``zoo.nadamw``/``zoo.amsgrad``; the Adam family also with bfloat16 moments
    (``mu_dtype=nu_dtype=jnp.bfloat16``, float32 math; on CPU not NAdam with them after
    ``clip_by_global_norm`` with weight decay or a ``b2`` that bfloat16 does not round to 1, which XLA
    rounds otherwise: those run the pure-JAX path); and ``inject_hyperparams`` of these
    (without stateful schedules; its float32 hyperparameters go to the kernel as runtime scalars,
    the state is the one ``tx.update`` gives, so ``current_hyperparams`` and checkpoints work on either path).
    AdamW then moves 28 bytes per parameter, its memory floor, where ``update`` + ``apply_updates`` move 40 (the update is written and read back); momentum SGD, Lion and
    RMSprop move 20 (28 with momentum). On a GPU or TPU the same chains (not AMSGrad or
    centred RMSprop) run as Pallas kernels instead (see the module docstring; never run on one here).
    Jit the training step with params and state donated, so nothing is copied::

        flat = zoo.pack_tree(params, chunk_size=None)
        state = tx.init(flat)

        @functools.partial(jax.jit, donate_argnums=(0, 1))
        def train_step(flat, state, batch):
            grads = jax.grad(lambda f: loss(zoo.unpack_tree(f, like, chunk_size=None), batch))(flat)
            return zoo.packed_apply(tx, grads, state, flat)

    The grads may also come per leaf, as an ordinary pytree (``jax.grad`` of a loss on the
    unpacked params): ``packed_apply(tx, grads, state, flat)`` then gives the numbers of
    ``packed_apply(tx, pack_tree(grads, ...), state, flat)``, and each kernel takes the leaves as
    they are, one FFI operand per leaf against the packed p and state (the multi-tensor form
    of torch.optim's fused AdamW), so nothing is concatenated: still 28 bytes per parameter for
    AdamW, where packing the grads first costs 8 more. Only the params and state are
    packed; with them per leaf too, passing 7 arrays per leaf through ``jit`` costs the host
    about as much as optax's whole step on many leaves (``benchmarks/README.md``).

    Args:
      tx: the transformation (not wrapped in ``packed``); it must act elementwise, as for
        ``packed``.
      grads: the gradients, packed like ``params``, or per leaf: the tree of the params
        ``params`` were packed from (its leaves tile ``params``' chunks in the order of
        ``jax.tree.leaves``, whatever ``chunk_size`` packed them).
      state: ``tx``'s state on the packed params (``tx.init(pack_tree(params, ...))``).
      params: the packed params (``pack_tree``).
      **extra_args: passed to ``tx.update`` (a step that has some runs the pure-JAX path).

    Returns:
      ``(new_params, new_state)``, packed as ``params`` and ``state``.

    Raises:
      ValueError: when ``tx`` is not known to act elementwise (as ``packed``); when per-leaf
        ``grads`` do not tile the chunks of ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.adamw(0.1)
      >>> tree = {"b": jnp.zeros(2), "w": jnp.ones((2, 2))}
      >>> flat = zoo.pack_tree(tree, chunk_size=None)
      >>> flat, state = zoo.packed_apply(tx, flat, tx.init(flat), flat)
      >>> print(flat["float32"][0].round(4))  # one Adam step of 0.1 on [b, w] = [0, 0, 1, 1, 1, 1]
      [0.  0.  0.9 0.9 0.9 0.9]
      >>> flat, state = zoo.packed_apply(tx, tree, state, flat)  # the same grads, given per leaf
      >>> print([round(float(x), 4) for x in flat["float32"][0]])  # a second step of 0.1
      [0.0, 0.0, 0.8, 0.8, 0.8, 0.8]

    References:
      The "fused" optimizers of torch.optim (one kernel per step that writes the params and
      state in place): `torch.optim documentation <https://pytorch.org/docs/stable/optim.html#algorithms>`_, 2023.
    """
    _check_packable("packed_apply", tx)
    inject = None if extra_args else _inject_parts(tx)
    if inject is not None:
        return _inject_apply(inject, grads, state, params)
    leaves = _grad_leaves(grads, params)
    if leaves is not None:  # per-leaf grads: packed lazily, for the paths without a multi-tensor kernel
        grads = {key: tuple(_join(chunk) for chunk in chunks) for key, chunks in leaves.items()}
    if not extra_args and all(isinstance(t, dict) for t in (grads, params)):
        plan = _adam_plan(tx, apply=True)
        if plan is not None and plan.amsgrad:  # no multi-tensor form: the lazily packed grads
            if _fusable(plan, grads, state, params, "amsgrad_apply"):
                return _fused_adam_apply(plan, grads, state, params, "amsgrad_apply")
        else:
            for kernel, moments in (("adam_apply", jnp.float32), ("adam_apply_bf16_state", jnp.bfloat16)):
                multi = kernel.replace("apply", "apply_multi")
                if plan is not None and leaves is not None and _fusable(plan, grads, state, params, multi, moments):
                    return _fused_adam_apply(plan, grads, state, params, multi, leaves["float32"])
                if plan is not None and _fusable(plan, grads, state, params, kernel, moments):
                    return _fused_adam_apply(plan, grads, state, params, kernel)
        other = None if plan is not None else _apply_plan(tx)
        if other is not None and leaves is not None and _apply_fusable(other, grads, state, params, "_multi"):
            return _fused_apply(other, grads, state, params, leaves["float32"])
        if other is not None and _apply_fusable(other, grads, state, params):
            return _fused_apply(other, grads, state, params)
    updates, state = tx.update(grads, state, params, **extra_args)
    return apply_updates(params, updates), state


def _grad_leaves(grads: Any, params: Any) -> dict | None:
    """``None`` when ``grads`` are packed like ``params``; else ``grads`` are an ordinary pytree
    (per leaf, as ``jax.grad`` of a loss on the unpacked params gives them), and this returns its
    leaves by the chunk of ``params`` they fall in: ``{dtype name: [[leaf, ...] per chunk]}``.

    The leaves of a dtype tile that dtype's chunks in the order of ``jax.tree.leaves`` (as
    ``pack_tree`` lays them out), so the chunks' sizes say where each leaf goes, whatever
    ``chunk_size`` packed them.
    """
    if not isinstance(params, dict) or not all(isinstance(c, tuple) for c in params.values()):
        return None
    if jax.tree.structure(grads) == jax.tree.structure(params) and all(
            jnp.shape(g) == jnp.shape(p) for g, p in zip(jax.tree.leaves(grads), jax.tree.leaves(params))):
        return None
    by_key: dict = {}
    for leaf in jax.tree.leaves(grads):
        by_key.setdefault(_dtype_key(leaf), []).append(leaf)
    fail = (f"{_validate.PREFIX}packed_apply: argument `grads` must be packed like `params` or be the per-leaf "
            f"tree of the params they were packed from; its leaves do not tile the chunks of `params`")
    if set(by_key) != set(params):
        raise ValueError(f"{fail} (dtypes {sorted(by_key)} against {sorted(params)}).")
    out = {}
    for key, leaves in by_key.items():
        sizes, chunks, i = [int(np.prod(jnp.shape(c))) for c in params[key]], [], 0
        for size in sizes:
            chunk, filled = [], 0
            while i < len(leaves) and filled < size:
                chunk.append(leaves[i])
                filled += int(np.prod(jnp.shape(leaves[i])))
                i += 1
            if filled != size:
                raise ValueError(f"{fail} ({key} chunks of {sizes} elements).")
            chunks.append(chunk)
        if i != len(leaves):
            raise ValueError(f"{fail} ({key} chunks of {sizes} elements, more leaves than they hold).")
        out[key] = chunks
    return out


# ------------------------------------------------------------------------ the fused kernel


class _AdamPlan(NamedTuple):
    """A chain the Adam kernel covers: where its members sit in the chain's state, and their
    hyperparameters (Python numbers, or a schedule)."""

    clip: float | None  # clip_by_global_norm's max_norm when the chain starts with it
    adam: int  # index of scale_by_adam's state in the chain's state tuple
    b1: float
    b2: float
    eps: float
    eps_root: float
    decay: float | None  # add_decayed_weights' rate, None without it
    scale: float | None  # scale(step_size), or
    schedule: tuple | None  # (index of scale_by_schedule's state, its step_size_fn)
    nesterov: bool = False  # NAdam's first moment (packed_apply only)
    amsgrad: bool = False  # AMSGrad's running maximum (packed_apply only, not with nesterov)


def _closure(fn: Any, qualname: str) -> dict | None:
    """The free variables of ``fn`` if it is the jaxopt_zoo function ``qualname``, else None."""
    if getattr(fn, "__qualname__", None) != qualname or not str(getattr(fn, "__module__", "")).startswith("jaxopt_zoo."):
        return None
    try:
        return inspect.getclosurevars(fn).nonlocals
    except (TypeError, ValueError):
        return None


def _is_number(x: Any) -> bool:
    """A Python int or float, or a traced float scalar (a hyperparameter of ``inject_hyperparams``)."""
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) or _is_traced_float(x)


def _is_float(x: Any) -> bool:
    """A Python float, or a traced float scalar."""
    return isinstance(x, float) or _is_traced_float(x)


def _is_traced_float(x: Any) -> bool:
    # A runtime scalar of the step (inject_hyperparams' state): it reaches the kernel through
    # ``hyper`` like any other scalar. A concrete array is not one: XLA folds it as a constant.
    # Float32 only: a float64 one (a schedule's value under x64) makes the unfused path compute
    # the update in float64, which the float32 kernels do not.
    return isinstance(x, jax.core.Tracer) and x.shape == () and x.dtype == jnp.float32


# --------------------------------------------------------------- inject_hyperparams around a kernel


def _inject_parts(tx: Any) -> dict | None:
    """The closure of ``inject_hyperparams(factory)(...)``'s update, when it has no stateful schedule."""
    parts = _closure(getattr(tx, "update", None), "inject_hyperparams.<locals>.wrapped_factory.<locals>.update_fn")
    if parts is None or parts.get("stateful") or not {"current", "dtype_for", "inner_factory", "fixed"} <= set(parts):
        return None
    return parts


def _inject_apply(parts: dict, grads: dict, state: Any, params: dict) -> tuple:
    """``packed_apply`` of ``inject_hyperparams(factory)(...)``: what its update does (the
    hyperparameters of this step as arrays, the inner transformation built with them), with
    ``packed_apply`` of the inner transformation in place of its update, so a kernel covers it
    with the hyperparameters as runtime scalars of its ``hyper`` vector. The state is the one
    ``tx.update`` gives (``current_hyperparams`` reads it, checkpoints move between the paths)."""
    from ._inject import InjectHyperparamsState

    hparams = parts["current"](state.count, state.hyperparams, parts["dtype_for"](params))
    inner = parts["inner_factory"](**parts["fixed"], **hparams)
    new_params, inner_state = packed_apply(inner, grads, state.inner_state, params)
    return new_params, InjectHyperparamsState(_numerics.safe_increment(state.count), hparams, inner_state)


def _adam_plan(tx: Any, apply: bool = False) -> _AdamPlan | None:
    """Recognise ``chain([clip_by_global_norm], scale_by_adam, [add_decayed_weights], scale |
    scale_by_schedule)``.

    The members are recognised by their update functions and their hyperparameters read from
    those functions' closures. Anything else (other members, a mask, array-valued
    hyperparameters; Nesterov and AMSGrad unless ``apply``, for ``packed_apply``'s kernels) gives
    ``None``: the pure-JAX path.
    """
    chain = _closure(getattr(tx, "update", None), "chain.<locals>.update_fn")
    if chain is None or "transforms" not in chain:
        return None
    transforms = list(chain["transforms"])
    members = [_closure(getattr(t, "update", None), "scale_by_adam.<locals>.update_fn") for t in transforms]
    first = next((i for i, m in enumerate(members) if m is not None), None)
    if first is None or first > 1 or len(transforms) - first not in (2, 3):
        return None
    clip = None
    if first == 1:
        clip = _clip_max_norm(transforms[0])
        if clip is None:
            return None
    adam = members[first]
    nesterov, amsgrad = adam.get("nesterov"), adam.get("amsgrad")
    if (nesterov not in ((False, True) if apply else (False,)) or amsgrad not in ((False, True) if apply else (False,))
            or (nesterov and amsgrad) or adam.get("bias_correction_mu") is not True
            or adam.get("bias_correction_nu") is not True):
        return None
    hyper = [adam.get(k) for k in ("b1", "b2", "eps", "eps_root")]
    # Float decays only: the kernel reproduces the program XLA makes of float bias corrections.
    if not all(map(_is_number, hyper)) or not all(map(_is_float, hyper[:2])):
        return None
    rest = transforms[first + 1:]
    decay = None
    if len(rest) == 2:
        decay = _decay_rate(rest.pop(0))
        if decay is None:
            return None
    last, index = rest[0].update, len(transforms) - 1
    scale = _closure(last, "scale.<locals>.update_fn")
    if scale is not None and _is_number(scale.get("step_size")):
        return _AdamPlan(clip, first, *hyper, decay, scale["step_size"], None, nesterov, amsgrad)
    schedule = _closure(last, "scale_by_schedule.<locals>.update_fn")
    if schedule is not None and callable(schedule.get("step_size_fn")):
        return _AdamPlan(clip, first, *hyper, decay, None, (index, schedule["step_size_fn"]), nesterov, amsgrad)
    return None


def _fusable(plan: _AdamPlan, flat_grads: dict, inner: Any, flat_params: dict | None, kernel: str = "adam",
             moments: Any = jnp.float32) -> bool:
    """Whether this step can run the kernel: float32 grads and params, moments of dtype
    ``moments``, one device, a CPU backend on which the kernel is built."""
    if flat_params is None and plan.decay is not None:
        return False
    adam = inner[plan.adam]
    states = (adam.mu, adam.nu) + ((adam.nu_max,) if plan.amsgrad else ())
    trees = [flat_grads, *states] + ([] if flat_params is None else [flat_params])
    if any(not isinstance(t, dict) or set(t) != {"float32"} for t in trees):
        return False
    if any(jnp.result_type(c) != jnp.float32 for t in (trees[0], *trees[1 + len(states):]) for c in t["float32"]):
        return False
    if any(jnp.result_type(c) != moments for t in states for c in t["float32"]):
        return False
    # The CPU kernels: not NAdam with bfloat16 moments and clipping, with weight decay or a b2 that
    # bfloat16 does not round to 1 (as it does 0.999), or a b2 known only at run time: XLA rounds
    # those programs otherwise than the kernel (up to hundreds of ulp in 20 steps, the sweep of
    # issue 18), so they run the pure-JAX path, the numbers of the unfused one. (The Pallas kernels
    # pin their roundings: they run.)
    if (_pallas_mode(kernel) is None and moments == jnp.bfloat16 and plan.nesterov and plan.clip is not None
            and (plan.decay is not None or not isinstance(plan.b2, (int, float)) or float(np.asarray(plan.b2, jnp.bfloat16)) != 1.0)):
        return False
    return _kernel_runs(kernel)


def _kernel_runs(kernel: str) -> bool:
    """Whether ``kernel`` runs in this step: its Pallas form when ``_pallas_mode`` asks for one
    (packed grads, one device), else the CPU kernel where it is built; the update kernel of
    ``packed`` and the multi-tensor forms (per-leaf grads) on one device only, the in-place ones
    per shard too."""
    if _pallas_mode(kernel) is not None:
        return kernel in _PALLAS_KERNELS and jax.device_count() == 1
    one_device = kernel == "adam" or "_multi" in kernel
    return kernel in _kernels.KERNELS and (not one_device or jax.device_count() == 1) and _kernels.available(kernel)


# The kernels that have a Pallas form (not AMSGrad's, centred RMSprop's or the multi-tensor ones).
_PALLAS_KERNELS = ("adam", "adam_apply", "adam_apply_bf16_state", "momentum_apply", "lion_apply", "rms_apply",
                   "rms_momentum_apply")


def _pallas_mode(kernel: str) -> str | None:
    """Whether ``kernel`` runs as a Pallas kernel (``jaxopt_zoo/_kernels/pallas_*.py``):
    ``"device"`` (compiled for a GPU or TPU), ``"interpret"`` (Pallas' interpreter, any backend)
    or ``None`` (the CPU kernels or pure JAX).

    ``JAXOPT_ZOO_PALLAS``: ``1`` uses the Pallas kernels on a GPU or TPU backend (where
    ``JAXOPT_ZOO_KERNELS`` lets ``kernel`` run); ``interpret`` runs them in interpret mode on any
    backend, CPU included (a testing aid: slow; it checks the wiring and the numbers here);
    unset or ``0``: never (they have not been run on a GPU or TPU yet). Read whenever a step is
    traced.
    """
    env = os.environ.get("JAXOPT_ZOO_PALLAS", "").strip().lower()
    if env == "interpret":
        return "interpret"
    if env in _kernels.TRUE and jax.default_backend() in ("gpu", "cuda", "rocm", "tpu") and _kernels.enabled(kernel):
        return "device"
    return None


def _adam_chunk_call(kernel: str, p, g, state: tuple, hyper) -> tuple:
    """One chunk through ``kernel`` (``"adam"``: ``(u, m', v')``; ``"adam_apply"``,
    ``"adam_apply_bf16_state"``: ``(p', m', v')``): the Pallas kernel when ``_pallas_mode(kernel)``
    says so (on the chunk raveled: a chunk of one leaf keeps the leaf's shape), else the CPU kernel."""
    mode = _pallas_mode(kernel)
    if mode is None:
        return _kernels.adam_chunk(p, g, *state, hyper) if kernel == "adam" else _kernels.apply_chunk_per_shard(kernel, p, g, state, hyper)
    from .._kernels import pallas_adam  # imports jax.experimental.pallas: only when used

    call = pallas_adam.adam_chunk_pallas if kernel == "adam" else pallas_adam.adam_apply_chunk_pallas
    outs = call(*(jnp.ravel(x) for x in (p, g, *state)), hyper, interpret=mode == "interpret")
    return tuple(o.reshape(p.shape) for o in outs)


def _clip_scalars(plan: Any, flat_grads: dict) -> list:
    """The kernels' clipping scalars ``[mode, norm, max_norm]``: as clip_by_global_norm, the grads
    are scaled when their norm is not below max_norm (mode 2), else kept (mode 1); 0: no clipping."""
    if plan.clip is None:
        return [0.0, 1.0, 1.0]
    norm = _numerics.global_norm(flat_grads).astype(jnp.float32)
    return [jnp.where(jnp.squeeze(norm < plan.clip), 1.0, 2.0), norm, plan.clip]


def _step_size(plan: Any, inner: tuple, new_inner: list) -> jax.Array:
    """The chain's last scale as a float32 scalar: the schedule at its count (whose state in
    ``new_inner`` is advanced), or the fixed scale."""
    if plan.schedule is None:
        return jnp.asarray(plan.scale, jnp.float32)
    index, step_size_fn = plan.schedule
    new_inner[index] = inner[index]._replace(count=_numerics.safe_increment(inner[index].count))
    return jnp.array(step_size_fn(inner[index].count), dtype=jnp.float32)


def _adam_scalars(plan: _AdamPlan, flat_grads: dict, inner: tuple, apply: bool) -> tuple:
    """The kernel's ``hyper`` vector for this step and the chain's new state without the moments.

    The scalars are computed here with the very expressions of the unfused path (so in the
    same dtypes: a Python hyperparameter meets a float32 array, the bias correction is
    ``1 - b**t`` cast to float32) and handed to the kernel as one float32 vector. ``apply``:
    for the in-place step (``packed_apply``), whose program XLA rewrites otherwise.
    """
    f32 = jnp.float32
    new_inner = list(inner)
    clip = _clip_scalars(plan, flat_grads)
    adam = inner[plan.adam]
    count = _numerics.safe_increment(adam.count)
    bc1, bc2 = (1 - plan.b1**count).astype(f32), (1 - plan.b2**count).astype(f32)
    r1, r2 = f32(1) / bc1, f32(1) / bc2
    # Which form XLA's simplifier makes of the ratio (see adam_cpu.cc): form 1 when the bias
    # correction is computed in float32 (not cast from float64) and shared by several chunks.
    form = float(jnp.result_type(1 - plan.b1**count) == f32 and len(flat_grads["float32"]) > 1)
    s = _step_size(plan, inner, new_inner)
    wd = 0.0 if plan.decay is None else plan.decay
    bc1n = (1 - plan.b1**_numerics.safe_increment(count)).astype(f32)  # NAdam's 1 - b1^(t+1)
    # NAdam: 2 when eps_root is 0 in the program (a Python 0, which XLA folds away: the kernel then
    # contracts m^ as XLA does there, adam_cpu.cc's MhFirst), 1 otherwise; 0: Adam.
    nesterov = (2.0 if isinstance(plan.eps_root, (int, float)) and plan.eps_root == 0 else 1.0) if plan.nesterov else 0.0
    hyper = jnp.stack([jnp.asarray(x, f32) for x in (
        1 - plan.b1, plan.b1, 1 - plan.b2, plan.b2, r1, r2, plan.eps_root, plan.eps, wd, s,
        0.0 if plan.decay is None else 1.0, form, bc1, bc2, *clip, nesterov, f32(1) / bc1n, bc1n,
        *(jnp.asarray(b, jnp.bfloat16) if isinstance(b, (int, float)) else b for b in (plan.b1, plan.b2)))])
    new_inner[plan.adam] = adam._replace(count=count)
    return hyper, new_inner


def _fused_adam_update(plan: _AdamPlan, flat_grads: dict, inner: tuple, flat_params: dict | None) -> tuple:
    """The step of ``plan``'s chain with the Adam kernel: the updates and the chain's new state."""
    hyper, new_inner = _adam_scalars(plan, flat_grads, inner, apply=False)
    adam = new_inner[plan.adam]
    grads = flat_grads["float32"]
    params = grads if flat_params is None else flat_params["float32"]
    outs = [_adam_chunk_call("adam", p, g, (m, v), hyper) for p, g, m, v in zip(params, grads, adam.mu["float32"],
                                                                                 adam.nu["float32"])]
    new_inner[plan.adam] = adam._replace(mu={"float32": tuple(o[1] for o in outs)},
                                         nu={"float32": tuple(o[2] for o in outs)})
    return {"float32": tuple(o[0] for o in outs)}, tuple(new_inner)


def _fused_adam_apply(plan: _AdamPlan, flat_grads: dict, inner: tuple, flat_params: dict,
                      kernel: str = "adam_apply", grad_leaves: list | None = None) -> tuple:
    """``plan``'s chain applied with the in-place Adam kernel: the new params and state.
    ``grad_leaves``: the per-leaf grads of each chunk, for a ``*_multi`` kernel (``flat_grads``,
    their lazy concatenation, then serves only the clipping norm)."""
    hyper, new_inner = _adam_scalars(plan, flat_grads, inner, apply=True)
    adam = new_inner[plan.adam]
    states = [adam.mu["float32"], adam.nu["float32"]] + ([adam.nu_max["float32"]] if plan.amsgrad else [])
    chunks = zip(flat_params["float32"], flat_grads["float32"] if grad_leaves is None else grad_leaves, *states)
    if grad_leaves is None:
        outs = [_adam_chunk_call(kernel, p, g, tuple(s), hyper) for p, g, *s in chunks]
    else:
        outs = [_kernels.apply_leaves(kernel, p, g, tuple(s), hyper) for p, g, *s in chunks]
    new = {"mu": {"float32": tuple(o[1] for o in outs)}, "nu": {"float32": tuple(o[2] for o in outs)}}
    if plan.amsgrad:
        new["nu_max"] = {"float32": tuple(o[3] for o in outs)}
    new_inner[plan.adam] = adam._replace(**new)
    return {"float32": tuple(o[0] for o in outs)}, tuple(new_inner)


# ------------------------------------------------ the in-place kernels of the other members


class _ApplyPlan(NamedTuple):
    """A chain an ``*_apply`` kernel other than Adam's covers (``packed_apply``): ``[clip_by_global_norm],
    [add_decayed_weights], core, [add_decayed_weights], scale | scale_by_schedule``."""

    kernel: str  # "momentum_apply" (trace: SGD with momentum or Nesterov), "lion_apply", "rms[_centered]_apply"
    core: int  # index of the core's state in the chain's state tuple
    args: tuple  # the core's hyperparameters: (decay, nesterov), (b1, b2) or (decay, eps, eps_in_sqrt)
    clip: float | None
    decay_in: float | None  # add_decayed_weights before the core (coupled, as torch's SGD)
    decay_out: float | None  # add_decayed_weights after it (decoupled)
    scale: float | None
    schedule: tuple | None  # (index of scale_by_schedule's state, its step_size_fn)
    after: tuple | None = None  # RMSprop's momentum after the scale: (index of trace's state, decay, nesterov)


def _clip_max_norm(t: Any) -> float | None:
    stateless = _closure(t.update, "_stateless.<locals>.update_fn")
    norm = _closure(None if stateless is None else stateless.get("transform_tree"), "clip_by_global_norm.<locals>.clip_tree")
    return norm["max_norm"] if norm is not None and _is_number(norm.get("max_norm")) else None


def _decay_rate(t: Any) -> float | None:
    wd = _closure(t.update, "add_decayed_weights.<locals>.update_fn")
    return wd["weight_decay"] if wd is not None and _is_number(wd.get("weight_decay")) else None


def _core(t: Any) -> tuple | None:
    """``(kernel, args)`` when ``t`` is a core an apply kernel covers, with float hyperparameters."""
    trace = _closure(t.update, "trace.<locals>.update_fn")
    if trace is not None and _is_float(trace.get("decay")) and isinstance(trace.get("nesterov"), bool):
        return "momentum_apply", (trace["decay"], trace["nesterov"])
    lion = _closure(t.update, "scale_by_lion.<locals>.update_fn")
    if lion is not None and lion.get("sign") is jnp.sign and all(_is_float(lion.get(b)) for b in ("b1", "b2")):
        return "lion_apply", (lion["b1"], lion["b2"])
    for qualname, kernel in (("scale_by_rms", "rms_apply"), ("scale_by_stddev", "rms_centered_apply")):  # stddev: centred
        rms = _closure(t.update, f"{qualname}.<locals>.update_fn")
        inv_root = None if rms is None else _closure(rms.get("inv_root"), "_inverse_root.<locals>.<lambda>")
        if (rms is not None and rms.get("bias_correction") is False and _is_float(rms.get("decay"))
                and inv_root is not None and _is_number(inv_root.get("eps"))):
            # _inverse_root's two lambdas: rsqrt(v + eps) (eps in the root) or 1 / (sqrt(v) + eps).
            return kernel, (rms["decay"], inv_root["eps"], "rsqrt" in rms["inv_root"].__code__.co_names)
    return None


def _apply_plan(tx: Any) -> _ApplyPlan | None:
    """Recognise a chain of ``_ApplyPlan``'s form (``zoo.sgd`` with momentum, ``zoo.lion``, ...)."""
    chain = _closure(getattr(tx, "update", None), "chain.<locals>.update_fn")
    if chain is None or "transforms" not in chain:
        return None
    rest = list(enumerate(chain["transforms"]))
    clip = _clip_max_norm(rest[0][1]) if rest else None
    if clip is not None:
        rest.pop(0)
    decay_in = _decay_rate(rest[0][1]) if rest else None
    if decay_in is not None:
        rest.pop(0)
    core = _core(rest[0][1]) if rest else None
    if core is None or (decay_in is not None and core[0] == "lion_apply"):
        return None
    index = rest.pop(0)[0]
    decay_out = _decay_rate(rest[0][1]) if rest else None
    if decay_out is not None:
        rest.pop(0)
    after = None
    if core[0] in ("rms_apply", "rms_centered_apply") and len(rest) == 2:  # rmsprop's tail: identity() or trace(momentum, nesterov)
        tail_index, tail = rest.pop()
        if _closure(tail.update, "identity.<locals>.update_fn") is None:
            momentum = _core(tail)
            if momentum is None or momentum[0] != "momentum_apply":
                return None
            after = (tail_index, *momentum[1])
    if len(rest) != 1:
        return None
    last_index, last = rest[0]
    kernel = core[0].replace("_apply", "_momentum_apply") if after is not None else core[0]
    scale = _closure(last.update, "scale.<locals>.update_fn")
    if scale is not None and _is_number(scale.get("step_size")):
        return _ApplyPlan(kernel, index, core[1], clip, decay_in, decay_out, scale["step_size"], None, after)
    schedule = _closure(last.update, "scale_by_schedule.<locals>.update_fn")
    if schedule is not None and callable(schedule.get("step_size_fn")):
        return _ApplyPlan(kernel, index, core[1], clip, decay_in, decay_out, None, (last_index, schedule["step_size_fn"]),
                          after)
    return None


def _moments(plan: _ApplyPlan, inner: tuple) -> tuple:
    """The moment trees of ``plan``'s chain state, in its kernel's order."""
    core = inner[plan.core]
    if plan.kernel == "momentum_apply":
        return (core.trace,)
    if plan.kernel == "lion_apply":
        return (core.mu,)
    rms = (core.mu, core.nu) if plan.kernel.startswith("rms_centered") else (core.nu,)
    return rms if plan.after is None else (*rms, inner[plan.after[0]].trace)


def _apply_fusable(plan: _ApplyPlan, flat_grads: dict, inner: Any, flat_params: dict, form: str = "") -> bool:
    trees = [flat_grads, flat_params, *_moments(plan, inner)]
    if any(not isinstance(t, dict) or set(t) != {"float32"} for t in trees):
        return False
    if any(jnp.result_type(c) != jnp.float32 for t in trees for c in t["float32"]):
        return False
    return _kernel_runs(plan.kernel + form)


def _apply_chunk_call(kernel: str, p, g, state: tuple, hyper) -> tuple:
    """``_kernels.apply_chunk`` of an in-place kernel other than Adam's, or its Pallas form
    (``_kernels/pallas_{momentum,lion,rms}.py``, on the chunk raveled) when ``_pallas_mode(kernel)`` says so."""
    mode = _pallas_mode(kernel)
    if mode is None:
        return _kernels.apply_chunk_per_shard(kernel, p, g, state, hyper)
    from .._kernels import pallas_lion, pallas_momentum, pallas_rms  # jax.experimental.pallas: only when used

    family = {"momentum_apply": pallas_momentum, "lion_apply": pallas_lion}.get(kernel, pallas_rms)
    outs = family.apply_chunk_pallas(jnp.ravel(p), jnp.ravel(g), tuple(jnp.ravel(x) for x in state), hyper,
                                     interpret=mode == "interpret")
    return tuple(o.reshape(p.shape) for o in outs)


def _fused_apply(plan: _ApplyPlan, flat_grads: dict, inner: tuple, flat_params: dict,
                 grad_leaves: list | None = None) -> tuple:
    """``plan``'s chain applied with its in-place kernel: the new params and state. The scalars
    are computed with the expressions of the unfused path, as for Adam (``_adam_scalars``).
    ``grad_leaves``: the per-leaf grads of each chunk, for the kernel's multi-tensor form."""
    f32 = jnp.float32
    new_inner = list(inner)
    clip = _clip_scalars(plan, flat_grads)
    s = _step_size(plan, inner, new_inner)
    flag = lambda x: 0.0 if x is None else 1.0  # noqa: E731
    _or0 = lambda x: 0.0 if x is None else x  # noqa: E731  (x may be traced: no `x or 0.0`)
    if plan.kernel == "momentum_apply":
        decay, nesterov = plan.args
        scalars = (decay, float(nesterov), _or0(plan.decay_in), flag(plan.decay_in), _or0(plan.decay_out),
                   flag(plan.decay_out), s, *clip)
    elif plan.kernel == "lion_apply":
        b1, b2 = plan.args
        scalars = (1.0 - b1, b1, 1.0 - b2, b2, _or0(plan.decay_out), flag(plan.decay_out), s, *clip)
    else:
        decay, eps, eps_in_sqrt = plan.args
        _, momentum, nesterov = plan.after or (None, 0.0, False)
        scalars = (1 - decay, decay, eps, float(eps_in_sqrt), _or0(plan.decay_in), flag(plan.decay_in),
                   _or0(plan.decay_out), flag(plan.decay_out), s, flag(plan.after), momentum, float(nesterov), *clip)
    hyper = jnp.stack([jnp.asarray(x, f32) for x in scalars])
    moments = [m["float32"] for m in _moments(plan, inner)]
    if grad_leaves is None:
        outs = [_apply_chunk_call(plan.kernel, p, g, tuple(m), hyper)
                for p, g, *m in zip(flat_params["float32"], flat_grads["float32"], *moments)]
    else:
        outs = [_kernels.apply_leaves(plan.kernel + "_multi", p, g, tuple(m), hyper)
                for p, g, *m in zip(flat_params["float32"], grad_leaves, *moments)]
    new = [{"float32": tuple(o[1 + i] for o in outs)} for i in range(len(moments))]
    core = inner[plan.core]
    if plan.kernel == "momentum_apply":
        new_inner[plan.core] = core._replace(trace=new[0])
    elif plan.kernel == "lion_apply":
        new_inner[plan.core] = core._replace(count=_numerics.safe_increment(core.count), mu=new[0])
    else:
        centred = plan.kernel.startswith("rms_centered")
        new_inner[plan.core] = core._replace(mu=new[0], nu=new[1]) if centred else core._replace(nu=new[0])
        if plan.after is not None:
            new_inner[plan.after[0]] = inner[plan.after[0]]._replace(trace=new[-1])
    return {"float32": tuple(o[0] for o in outs)}, tuple(new_inner)
