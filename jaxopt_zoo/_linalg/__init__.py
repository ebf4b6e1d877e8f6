"""Linear algebra that optax exports at top level: power iteration, inverse p-th roots, NNLS."""
