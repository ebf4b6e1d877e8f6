"""``flatten``: run a transformation on one vector holding every leaf."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .. import _validate
from .._base import GradientTransformation, _accepted_kwargs


def _flat(tree) -> jax.Array:
    return jnp.concatenate([jnp.reshape(x, [-1]) for x in jax.tree.leaves(tree)])


def _unflat(like, flat: jax.Array):
    leaves, treedef = jax.tree.flatten(like)
    out, start = [], 0
    for leaf in leaves:
        size = math.prod(jnp.shape(leaf))
        out.append(jnp.reshape(flat[start:start + size], jnp.shape(leaf)))
        start += size
    return jax.tree.unflatten(treedef, out)


def flatten(inner: GradientTransformation) -> GradientTransformation:
    """Run ``inner`` on the concatenation of all leaves (one vector) instead of the tree.

    Fewer, larger operations for a tree of many small leaves, at the cost of a copy. The
    inner state is built for the flat vector. Only transformations whose numbers do not
    depend on leaf shapes give the same result as without ``flatten`` (not lamb, lars,
    adafactor, per-leaf clipping). Extra keyword arguments of ``update`` reach ``inner``.

    Args:
      inner: the transformation to run on the flat vector.

    Returns:
      A ``GradientTransformation`` whose state is ``inner``'s for the flat vector.

    Raises:
      TypeError: if ``inner`` is not a transformation.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.flatten(zoo.clip_by_block_rms(1.0))
      >>> g = {"a": jnp.array([3.0]), "b": jnp.array([0.0, 0.0, 0.0])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["a"], u["b"])
      [2.] [0. 0. 0.]
    """
    if not (callable(getattr(inner, "init", None)) and callable(getattr(inner, "update", None))):
        _validate.fail("flatten", "inner", inner, "must be a GradientTransformation", error=TypeError)
    keep = _accepted_kwargs(inner.update)

    def init_fn(params):
        return inner.init(_flat(params))

    def update_fn(updates, state, params=None, **extra_args):
        flat_params = None if params is None else _flat(params)
        flat_updates, state = inner.update(_flat(updates), state, flat_params, **keep(extra_args))
        return _unflat(updates, flat_updates), state

    return GradientTransformation(init_fn, update_fn)
