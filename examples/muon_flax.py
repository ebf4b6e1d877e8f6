"""Train a small transformer (Flax nnx) with Muon on its hidden matrices and AdamW elsewhere.

``zoo.muon`` is one transformation for the whole model: the leaves it is given
``MuonDimensionNumbers`` for are orthogonalised by Newton-Schulz, every other leaf is updated
by AdamW (``adam_learning_rate``, ``adam_weight_decay``). As Jordan et al. advise, Muon gets the
hidden weights only — the attention projections and the MLP kernels of every block — and
AdamW gets the embeddings, the output head, biases and LayerNorm scales. The attention
kernels are 3-D (``(d_model, heads, head_dim)`` and ``(heads, head_dim, d_model)``):
dimension numbers say which axes are the matrix's rows (reduction) and columns (output).

The task: reverse a sequence of 8 tokens (16 symbols), which needs attention across
positions. The script trains the model with Muon+AdamW and, from the same start, with
AdamW alone, and prints both test accuracies.

Run (from the repository root, with jaxopt_zoo and flax installed)::

    python examples/muon_flax.py            # 400 steps, well under a minute on a laptop CPU
    python examples/muon_flax.py --steps 3  # a smoke run

It prints how the parameters are split, the loss now and then and the final per-token test
accuracy of both runs. At 400 steps both solve the task (accuracy 1.0000); Muon+AdamW reaches
a lower training loss sooner (about 0.002 at step 100 and 0.0007 at 400, against 0.003 and
0.001 for AdamW alone, on a laptop CPU).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxopt_zoo as zoo

VOCAB, LENGTH, D_MODEL, HEADS, BLOCKS, BATCH = 16, 8, 64, 4, 2, 64


class Block(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(D_MODEL, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(HEADS, D_MODEL, decode=False, rngs=rngs)
        self.norm2 = nnx.LayerNorm(D_MODEL, rngs=rngs)
        self.up = nnx.Linear(D_MODEL, 4 * D_MODEL, rngs=rngs)
        self.down = nnx.Linear(4 * D_MODEL, D_MODEL, rngs=rngs)

    def __call__(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.down(nnx.gelu(self.up(self.norm2(x))))


class Transformer(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.embed = nnx.Embed(VOCAB, D_MODEL, rngs=rngs)
        self.pos = nnx.Embed(LENGTH, D_MODEL, rngs=rngs)
        self.blocks = nnx.List([Block(rngs) for _ in range(BLOCKS)])
        self.norm = nnx.LayerNorm(D_MODEL, rngs=rngs)
        self.head = nnx.Linear(D_MODEL, VOCAB, rngs=rngs)

    def __call__(self, tokens):
        x = self.embed(tokens) + self.pos(jnp.arange(LENGTH))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def muon_dims(path, leaf):
    """Muon for the hidden matrices of the blocks, None (AdamW) for everything else."""
    names = [str(k.key) for k in path if isinstance(k, jax.tree_util.DictKey)]  # (nnx adds a `.value` key)
    if "blocks" not in names or names[-1] != "kernel":
        return None  # embeddings, head, biases, LayerNorm scales
    if names[-2] in ("query", "key", "value"):  # (d_model, heads, head_dim): rows d_model
        return zoo.MuonDimensionNumbers(reduction_axis=0, output_axis=(1, 2))
    if names[-2] == "out":  # (heads, head_dim, d_model)
        return zoo.MuonDimensionNumbers(reduction_axis=(0, 1), output_axis=2)
    return zoo.MuonDimensionNumbers()  # the MLP's (in, out) kernels


def dims_tree(params):
    return jax.tree_util.tree_map_with_path(muon_dims, params)


def make_tx(kind: str, steps: int):
    lr = zoo.warmup_cosine_decay_schedule(0.0, 0.02, max(steps // 10, 1), max(steps, 2))
    adam_lr = zoo.warmup_cosine_decay_schedule(0.0, 3e-3, max(steps // 10, 1), max(steps, 2))
    if kind == "muon":
        return zoo.muon(lr, weight_decay=0.01, adam_learning_rate=adam_lr, adam_weight_decay=0.01,
                        muon_weight_dimension_numbers=dims_tree)
    return zoo.adamw(adam_lr, weight_decay=0.01)


def batch(rng: np.random.Generator, n: int = BATCH):
    x = rng.integers(0, VOCAB, size=(n, LENGTH))
    return jnp.asarray(x, jnp.int32), jnp.asarray(x[:, ::-1], jnp.int32)


@nnx.jit
def train_step(model, optimizer, xb, yb):
    def loss_fn(m):
        return optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def accuracy(model, x, y):
    return jnp.mean(jnp.argmax(model(x), -1) == y)


def train(kind: str, steps: int, seed: int = 0) -> float:
    model = Transformer(nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, make_tx(kind, steps), wrt=nnx.Param)
    rng = np.random.default_rng(seed)
    every = max(steps // 4, 1)
    for step in range(1, steps + 1):
        loss = train_step(model, optimizer, *batch(rng))
        if step % every == 0 or step == steps:
            print(f"[{kind}] step {step:4d}  loss {float(loss):.4f}")
    x_test, y_test = batch(np.random.default_rng(seed + 1), 1000)
    return float(accuracy(model, x_test, y_test))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()

    params = nnx.state(Transformer(nnx.Rngs(0)), nnx.Param)
    dims = jax.tree.leaves(dims_tree(params), is_leaf=lambda x: x is None or isinstance(x, zoo.MuonDimensionNumbers))
    sizes = [x.size for x in jax.tree.leaves(params)]
    on_muon = sum(s for s, d in zip(sizes, dims) if d is not None)
    print(f"Muon: {sum(d is not None for d in dims)} hidden kernels ({on_muon} weights); "
          f"AdamW: {sum(d is None for d in dims)} other leaves ({sum(sizes) - on_muon} weights)")

    acc_muon = train("muon", args.steps)
    acc_adamw = train("adamw", args.steps)
    print(f"test accuracy per token: muon+adamw {acc_muon:.4f}, adamw alone {acc_adamw:.4f}")


if __name__ == "__main__":
    main()
