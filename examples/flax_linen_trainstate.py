"""Train a Flax linen MLP with ``flax.training.train_state.TrainState`` and a zoo optimizer.

A zoo transformation is a drop-in ``tx`` for ``TrainState``: here gradient clipping, AdamW and
a warmup-cosine learning-rate schedule, chained with ``zoo.chain``, train a two-layer MLP on
scikit-learn's digits (8x8 images, 10 classes; bundled with scikit-learn, no download).
``TrainState.apply_gradients`` calls ``tx.update`` and ``optax.apply_updates`` itself; nothing
in the train step knows the optimizer is not optax's.

Run (from the repository root, with jaxopt_zoo, flax and scikit-learn installed)::

    python examples/flax_linen_trainstate.py            # 600 steps, a few seconds
    python examples/flax_linen_trainstate.py --steps 3  # a smoke run

It prints the training loss now and then and, at the end, the test accuracy (about 0.97).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from flax.training import train_state
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jaxopt_zoo as zoo


class MLP(nn.Module):
    hidden: int = 128

    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(self.hidden)(x)))


def load_data():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    return (np.asarray(x_train, np.float32), np.asarray(y_train, np.int32),
            np.asarray(x_test, np.float32), np.asarray(y_test, np.int32))


def make_tx(steps: int, peak_lr: float):
    warmup = max(1, steps // 10)
    schedule = zoo.warmup_cosine_decay_schedule(0.0, peak_lr, warmup, max(steps, warmup + 1), end_value=peak_lr / 100)
    return zoo.chain(zoo.clip_by_global_norm(1.0), zoo.adamw(schedule, weight_decay=1e-4))


@jax.jit
def train_step(state: train_state.TrainState, xb, yb):
    def loss_fn(params):
        logits = state.apply_fn({"params": params}, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    return state.apply_gradients(grads=grads), loss


@jax.jit
def accuracy(state: train_state.TrainState, x, y):
    return jnp.mean(jnp.argmax(state.apply_fn({"params": state.params}, x), -1) == y)


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_data()
    model = MLP()
    params = jax.jit(model.init)(jax.random.key(args.seed), x_train[:1])["params"]  # one compile, not one per op
    state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=make_tx(args.steps, args.lr))
    print(f"digits: {len(x_train)} train / {len(x_test)} test; linen MLP; "
          "tx = zoo.chain(clip_by_global_norm, adamw(warmup_cosine_decay_schedule))")

    rng = np.random.default_rng(args.seed)
    for step in range(1, args.steps + 1):
        idx = rng.choice(len(x_train), args.batch, replace=False)
        state, loss = train_step(state, x_train[idx], y_train[idx])
        if step == 1 or step % max(1, args.steps // 6) == 0 or step == args.steps:
            print(f"step {step:5d}  loss {float(loss):.4f}")
    acc = float(accuracy(state, x_test, y_test))
    print(f"final test accuracy {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
