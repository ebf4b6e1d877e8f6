"""Shared by the optax utility parity tests: random trees and a side-by-side comparison."""

import jax
import jax.numpy as jnp
import numpy as np

RTOL = {"float64": 1e-12, "float32": 1e-6}


def random_tree(dtype: str, seed: int = 0, complex_leaf: bool = False) -> dict:
    """A small tree: a scalar, a vector and a matrix in a tuple (plus a complex vector if asked)."""
    rng = np.random.default_rng(seed)
    tree = {"s": jnp.asarray(rng.normal(), dtype), "v": jnp.asarray(rng.normal(size=5), dtype),
            "m": (jnp.asarray(rng.normal(size=(3, 4)), dtype),)}
    if complex_leaf:
        ctype = {"float64": "complex128", "float32": "complex64"}[dtype]
        tree["c"] = jnp.asarray(rng.normal(size=3) + 1j * rng.normal(size=3), ctype)
    return tree


def assert_same(got, want, dtype: str, rtol: float | None = None, atol: float = 0.0) -> None:
    """Same structure, same leaf dtypes and shapes, values within ``rtol`` (exact for ints/bools)."""
    assert jax.tree.structure(got) == jax.tree.structure(want), (jax.tree.structure(got), jax.tree.structure(want))
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        assert g.shape == w.shape, (g.shape, w.shape)
        if np.issubdtype(g.dtype, np.inexact):
            np.testing.assert_allclose(g, w, rtol=RTOL[dtype] if rtol is None else rtol, atol=atol)
        else:
            np.testing.assert_array_equal(g, w)
