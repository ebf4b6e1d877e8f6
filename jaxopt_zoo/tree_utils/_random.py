r"""Random pytrees: one key per leaf, and random leaves shaped like a given tree.

``tree_split_key_like(key, x)`` splits ``key`` into as many keys as ``x`` has leaves, in leaf
order; ``tree_random_like(key, x, sampler)`` draws leaf :math:`i` from
``sampler(key_i, shape_i, dtype_i)``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import jax


def tree_split_key_like(rng_key: Any, target_tree: Any) -> Any:
    """A tree shaped like ``target_tree`` whose leaves are ``jax.random.split(rng_key, n_leaves)``.

    Args:
      rng_key: the key to split.
      target_tree: the tree whose structure the keys take.

    Returns:
      A tree of keys.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> keys = zoo.tree_utils.tree_split_key_like(jax.random.key(0), {"a": jnp.zeros(2), "b": jnp.zeros(3)})
      >>> sorted(keys)
      ['a', 'b']
    """
    treedef = jax.tree.structure(target_tree)
    return jax.tree.unflatten(treedef, jax.random.split(rng_key, treedef.num_leaves))


def tree_random_like(
    rng_key: Any,
    target_tree: Any,
    sampler: Callable[..., Any] = jax.random.normal,
    dtype: Any = None,
) -> Any:
    """Random leaves shaped like ``target_tree``: leaf ``i`` is ``sampler(key_i, shape_i, dtype or dtype_i)``.

    The keys are ``tree_split_key_like(rng_key, target_tree)``. A sampler that takes
    ``out_sharding`` gets the leaf's sharding.

    Args:
      rng_key: the key.
      target_tree: a tree of arrays.
      sampler: ``(key, shape, dtype) -> array``, e.g. ``jax.random.normal`` (default).
      dtype: the dtype of the samples; ``None`` takes each leaf's dtype.

    Returns:
      A random tree shaped like ``target_tree``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> x = zoo.tree_utils.tree_random_like(jax.random.key(0), {"a": jnp.zeros((2, 3))})
      >>> print(x["a"].shape, x["a"].dtype)
      (2, 3) float32
    """
    keys = tree_split_key_like(rng_key, target_tree)
    try:
        takes_sharding = "out_sharding" in inspect.signature(sampler).parameters
    except (TypeError, ValueError):
        takes_sharding = False

    def draw(leaf, key):
        if takes_sharding:
            return sampler(key, leaf.shape, dtype or leaf.dtype, out_sharding=jax.typeof(leaf).sharding)
        return sampler(key, leaf.shape, dtype or leaf.dtype)

    return jax.tree.map(draw, target_tree, keys)


def tree_unwrap_random_key_data(input_tree: Any) -> Any:
    """Typed PRNG keys (``jax.random.key``) replaced by their raw data (``jax.random.key_data``), e.g. to compare states.

    Args:
      input_tree: a tree of arrays and keys.

    Returns:
      The tree with every key leaf unwrapped.

    Example:
      >>> import jax, jaxopt_zoo as zoo
      >>> print(zoo.tree_utils.tree_unwrap_random_key_data({"k": jax.random.key(0)}))
      {'k': Array([0, 0], dtype=uint32)}
    """
    def unwrap(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.key_data(x)
        return x

    return jax.tree.map(unwrap, input_tree)
