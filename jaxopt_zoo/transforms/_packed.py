r"""An opt-in packed layout: every leaf of one dtype in one flat buffer.

On a CPU every array an optimizer step writes is written by its own kernel (XLA's CPU
backend has no multi-output fusion), and each kernel costs a dispatch of a few to tens of
microseconds. A model with thousands of small leaves therefore pays for its leaf count, not
its parameter count: AdamW writes p, m and v for every leaf, three kernels per leaf.

``packed(tx)`` keeps ``tx``'s state as one flat buffer per dtype, so the moments of all
leaves are updated by a handful of kernels; only the updates are cut back into leaves (and
XLA fuses that slicing into ``apply_updates``). ``pack_tree``/``unpack_tree`` go one step
further for a training loop that keeps its *params* packed too: the step is then a few
kernels whatever the leaf count.

The packed vector of a dtype is the concatenation of that dtype's leaves, raveled, in the
order of ``jax.tree.leaves``:

.. math::  \mathrm{pack}(\theta)_{\text{float32}} = [\mathrm{vec}(\theta_1); \dots; \mathrm{vec}(\theta_k)].

Only transformations that act elementwise, or through norms of the whole tree, give the
same numbers on the packed vector as on the tree: SGD (with momentum or Nesterov), Adam and
its variants (AdamW, AMSGrad, NAdam, Adamax, ...), RMSprop, Adagrad, Lion, AdaBelief,
clip, clip_by_global_norm, add_decayed_weights without a mask, scale, schedules. Transforms
that look at each leaf's shape or norm (Adafactor, LAMB, LARS, trust ratios,
clip_by_block_rms, masks and multi_transform by leaf) must not be packed.

The packed state is one 1-D array per dtype, not one array per param: it is not sharded
like the params. Use the default layout when training with sharded params.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._base import GradientTransformation
from .._tree import is_none


class PackedState(NamedTuple):
    """State of ``packed(tx)``: ``tx``'s state on the packed tree ``{dtype name: 1-D array}``."""

    inner: Any


def _dtype_key(x: Any) -> str:
    return jnp.result_type(x).name


def pack_tree(tree: Any) -> dict:
    """Concatenate the leaves of ``tree`` into one flat array per dtype.

    ``None`` leaves are skipped. The leaves of a dtype are raveled and joined in the order of
    ``jax.tree.leaves``; ``unpack_tree`` undoes it.

    Args:
      tree: a pytree of arrays (params, grads, updates).

    Returns:
      A dict ``{dtype name: 1-D array}`` with one entry per dtype present, e.g.
      ``{"float32": ...}``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> flat = zoo.pack_tree({"b": jnp.zeros(2), "w": jnp.ones((2, 2))})
      >>> flat["float32"].shape
      (6,)
    """
    groups: dict = {}
    for leaf in jax.tree.leaves(tree, is_leaf=is_none):
        if leaf is not None:
            groups.setdefault(_dtype_key(leaf), []).append(jnp.ravel(leaf))
    return {k: v[0] if len(v) == 1 else jnp.concatenate(v) for k, v in sorted(groups.items())}


def unpack_tree(packed: dict, like: Any) -> Any:
    """Cut the flat arrays of ``pack_tree`` back into a tree shaped like ``like``.

    Args:
      packed: ``{dtype name: 1-D array}`` as made by ``pack_tree`` (or any array of that layout,
        for instance updates computed on it).
      like: the tree whose structure, shapes and dtypes give the layout (arrays or
        ``jax.ShapeDtypeStruct``); ``None`` leaves stay ``None``.

    Returns:
      A tree like ``like`` whose leaves are slices of ``packed`` (in ``packed``'s dtypes).

    Raises:
      ValueError: if ``packed`` does not hold exactly the elements ``like`` needs.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"b": jnp.zeros(2), "w": jnp.ones((2, 2))}
      >>> zoo.unpack_tree(zoo.pack_tree(params), params)["w"].shape
      (2, 2)
    """
    leaves, treedef = jax.tree.flatten(like, is_leaf=is_none)
    layout, offsets = [], {}
    for leaf in leaves:
        if leaf is None:
            layout.append(None)
            continue
        key, size = _dtype_key(leaf.dtype), int(np.prod(leaf.shape))
        layout.append((key, offsets.get(key, 0), size, leaf.shape))
        offsets[key] = offsets.get(key, 0) + size
    missing = sorted(set(offsets) - set(packed))
    if missing:
        raise ValueError(f"jaxopt_zoo.unpack_tree: `packed` has no {missing[0]} entry; it has {sorted(packed)}.")
    sizes = {k: int(v.shape[0]) for k, v in packed.items()}
    if sizes != offsets:
        raise ValueError(
            f"jaxopt_zoo.unpack_tree: `packed` holds {sizes} elements by dtype but `like` needs {offsets}; "
            "was it packed from a tree like this one?"
        )
    out = []
    for item in layout:
        if item is None:
            out.append(None)
            continue
        key, start, size, shape = item
        flat = packed[key]
        out.append((flat if size == flat.shape[0] else flat[start : start + size]).reshape(shape))
    return jax.tree.unflatten(treedef, out)


def packed(tx: GradientTransformation) -> GradientTransformation:
    r"""Run ``tx`` on the packed layout: its state is one flat buffer per dtype.

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

    Returns:
      A ``GradientTransformation`` with state ``PackedState(inner=tx's state on the packed
      tree)``; ``current_hyperparams`` finds hyperparameters inside it.

    Raises:
      ValueError: at update, when the updates do not fit the packed state.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"b": jnp.zeros(3), "w": jnp.ones((3, 3))}
      >>> tx = zoo.packed(zoo.adamw(1e-3))
      >>> state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)
      >>> updates["w"].shape, state.inner[0].mu["float32"].shape
      ((3, 3), (12,))

    References:
      The same idea as the "multi-tensor apply" of NVIDIA Apex and torch.optim's
      ``foreach``/``fused`` implementations: `torch.optim documentation
      <https://pytorch.org/docs/stable/optim.html#algorithms>`_, 2023.
    """

    def init_fn(params):
        return PackedState(inner=tx.init(pack_tree(params)))

    def update_fn(updates, state, params=None, **extra_args):
        flat_params = None if params is None else pack_tree(params)
        flat_updates, inner = tx.update(pack_tree(updates), state.inner, flat_params, **extra_args)
        return unpack_tree(flat_updates, updates), PackedState(inner=inner)

    return GradientTransformation(init_fn, update_fn)
