"""The benchmark workloads (W1-W7): parameter trees, optimizers and bytes moved per parameter.

A row pits a zoo transformation against the optax one with the same name and
hyperparameters on the same tree. ``bytes_per_param`` is the memory an ideal step must move
per float32 parameter (each array read or written once), so ``floor = bytes * N / bandwidth``:

* AdamW reads p, g, m, v and writes p, m, v: 28 bytes (bf16 moments: 20);
* the W3 chain adds one pass over g for the global norm: 32;
* SGD with momentum and Lion read p, g, m and write p, m: 20;
* Adafactor reads p, g and writes p (its factored moments are tiny): 12;
* W7, Muon on a transformer-like 12-block tree (``muon_tree``), reads p, g, m and writes p,
  m: 20 — but its Newton-Schulz matmuls make it compute-bound, so its floor is only a
  reference; the row's point is zoo vs optax.contrib.muon, step and compile time.
* W8, SOAP and Shampoo against pytorch_optimizer's (``benchmarks/vs_torch.py``) on
  ``preconditioner_tree``: compute-bound too (statistics, rotations, eigh/QR/SVD refreshes),
  so no floor; the rows give zoo/torch and each side's state bytes over the params' bytes.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np


def last_level_cache_bytes() -> int:
    """The largest CPU cache this machine reports (sysfs; ``sysconf`` otherwise), 0 if unknown."""
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        with open(path) as f:
            text = f.read().strip()
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * scale)
    if not sizes:
        try:
            sizes.append(int(os.sysconf("SC_LEVEL3_CACHE_SIZE")))
        except (ValueError, OSError):
            pass
    return max(sizes, default=0)


def floor_elements() -> int:
    """The floor's triad size: its two float32 arrays together at least 4x the last-level cache,
    STREAM's rule for measuring memory rather than cache (DESIGN §6: "arrays far larger than
    cache"), and never below 16 Mi elements (128 MiB)."""
    return max(16 * 2**20, -(-4 * last_level_cache_bytes() // 8))


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Problem sizes; ``quick`` and ``toy`` shrink them for smoke runs and the test suite."""

    w1_elements: int = 16 * 2**20
    w2_trees: tuple = ((2048, (512,)), (200, (128, 160)))  # (leaves, leaf shape)
    w3_tree: tuple = (200, (128, 160))
    w4_leaf_counts: tuple = (16, 128, 512, 2048)
    w4_leaf_shape: tuple = (256,)
    w4_chain_lengths: tuple = (1, 2, 4, 8)
    w4_chain_leaves: int = 128
    w5_trees: tuple = ((1, (16 * 2**20,)), (200, (128, 160)))
    w6_shape: tuple = (4096, 4096)
    w7_muon: tuple = (12, 256)  # (blocks, width) of the transformer-like Muon tree
    # W8: (count, shape) groups of the SOAP/Shampoo tree (matrices and vectors)
    w8_tree: tuple = ((4, (256, 256)), (2, (512, 128)), (4, (256,)), (2, (512,)))
    floor_elements: int = dataclasses.field(default_factory=floor_elements)
    reps: int = 7

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            w1_elements=4 * 2**20,
            w2_trees=((512, (512,)), (100, (128, 160))),
            w3_tree=(100, (128, 160)),
            w4_leaf_counts=(16, 128, 512),
            w4_chain_lengths=(1, 4, 8),
            w4_chain_leaves=64,
            w5_trees=((1, (4 * 2**20,)), (100, (128, 160))),
            w6_shape=(2048, 2048),
            w7_muon=(12, 128),
            w8_tree=((2, (256, 256)), (1, (512, 128)), (2, (256,)), (1, (512,))),
            floor_elements=8 * 2**20,  # a smoke run: this triad may sit in cache
            reps=5,
        )

    @classmethod
    def toy(cls) -> Sizes:
        return cls(
            w1_elements=4096,
            w2_trees=((8, (16,)),),
            w3_tree=(4, (8, 8)),
            w4_leaf_counts=(2, 4),
            w4_leaf_shape=(8,),
            w4_chain_lengths=(1, 2),
            w4_chain_leaves=2,
            w5_trees=((2, (64,)),),
            w6_shape=(16, 8),
            w7_muon=(2, 8),
            w8_tree=((1, (8, 8)), (1, (16, 4)), (1, (8,))),
            floor_elements=4096,
            reps=2,
        )


def make_tree(leaves: int, shape: tuple, seed: int = 0) -> dict:
    """A dict of ``leaves`` float32 arrays of ``shape`` with small random values."""
    rng = np.random.default_rng(seed)
    return {f"layer{i:04d}": jnp.asarray(rng.uniform(-0.1, 0.1, size=shape), jnp.float32) for i in range(leaves)}


def muon_tree(blocks: int, width: int, seed: int = 0) -> dict:
    """A transformer-like tree: per block four (width, width) attention matrices, a
    (width, 4 width) and a (4 width, width) MLP kernel, two biases and two norm scales; plus an
    embedding-sized (4 width, width) matrix and a bias outside the blocks. Muon gets every
    matrix, Adam the vectors."""
    rng = np.random.default_rng(seed)
    mat = lambda *s: jnp.asarray(rng.normal(size=s) / np.sqrt(s[0]), jnp.float32)  # noqa: E731
    vec = lambda n: jnp.asarray(rng.normal(size=n) * 0.1, jnp.float32)  # noqa: E731
    tree = {}
    for i in range(blocks):  # a flat dict ("block00/q", ...), like make_tree's
        block = {"q": mat(width, width), "k": mat(width, width), "v": mat(width, width), "o": mat(width, width),
                 "up": mat(width, 4 * width), "down": mat(4 * width, width), "up_bias": vec(4 * width),
                 "down_bias": vec(width), "norm1": vec(width), "norm2": vec(width)}
        tree.update({f"block{i:02d}/{k}": v for k, v in block.items()})
    tree.update({"head/kernel": mat(4 * width, width), "head/bias": vec(width)})
    return tree


def preconditioner_tree(groups: tuple, seed: int = 0) -> dict:
    """W8's tree: for each ``(count, shape)`` group, ``count`` float32 leaves of ``shape``
    (matrices scaled like weights, vectors small like biases)."""
    rng = np.random.default_rng(seed)
    tree = {}
    for count, shape in groups:
        scale = 1.0 / np.sqrt(shape[0]) if len(shape) > 1 else 0.1
        for i in range(count):
            key = f"{'x'.join(map(str, shape))}/{i}"
            tree[key] = jnp.asarray(rng.normal(size=shape) * scale, jnp.float32)
    return tree


def grads_like(params: Any, seed: int = 1) -> Any:
    """Gradients for a step: fixed random values of the params' shapes."""
    rng = np.random.default_rng(seed)
    return {k: jnp.asarray(rng.normal(0.0, 1e-2, size=v.shape), v.dtype) for k, v in params.items()}


def n_params(tree: Any) -> int:
    return int(sum(np.prod(v.shape) for v in tree.values()))


# Each factory takes the library module (jaxopt_zoo or optax): their names and meanings agree.


def adamw(lib) -> Any:
    return lib.adamw(1e-3, weight_decay=1e-4)


def adamw_bf16(lib) -> Any:
    if lib.__name__ == "optax":  # optax has mu_dtype only
        return lib.adamw(1e-3, weight_decay=1e-4, mu_dtype=jnp.bfloat16)
    return lib.adamw(1e-3, weight_decay=1e-4, mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16)


def w3_chain(lib) -> Any:
    sched = lib.cosine_decay_schedule(1e-3, 10_000)
    return lib.chain(
        lib.clip_by_global_norm(1.0),
        lib.scale_by_adam(),
        lib.add_decayed_weights(1e-4),
        lib.scale_by_schedule(lambda t: -sched(t)),
    )


def chain_of_length(length: int) -> Callable:
    """A chain of ``length`` members: the W3 chain, then alternating trace / scale."""

    def make(lib):
        sched = lib.cosine_decay_schedule(1e-3, 10_000)
        members = [
            lib.clip_by_global_norm(1.0),
            lib.scale_by_adam(),
            lib.add_decayed_weights(1e-4),
            lib.scale_by_schedule(lambda t: -sched(t)),
        ]
        extra = [lib.trace(0.5), lib.scale(1.0)]
        while len(members) < length:
            members.append(extra[len(members) % 2])
        return lib.chain(*members[:length])

    return make


def sgd_momentum(lib) -> Any:
    return lib.sgd(1e-2, momentum=0.9)


def lion(lib) -> Any:
    return lib.lion(1e-4)


def adafactor(lib) -> Any:
    return lib.adafactor(1e-3)


def muon(lib) -> Any:
    """Muon with optax's defaults (the zoo's too), so both libraries compute the same step."""
    if lib.__name__ == "optax":
        return lib.contrib.muon(2e-2, weight_decay=1e-2)
    return lib.muon(2e-2, weight_decay=1e-2)


# Bytes an ideal step moves per float32 parameter (see the module docstring).
BYTES = {
    "adamw": 28,
    "adamw_bf16": 20,
    "w3_chain": 32,
    "sgd_momentum": 20,
    "lion": 20,
    "adafactor": 12,
    "muon": 20,  # p, g, m read, p, m written; the Newton-Schulz matmuls make it compute-bound
}
