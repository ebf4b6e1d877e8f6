"""Train a Flax nnx model with ``nnx.Optimizer`` and a zoo optimizer; read the current lr.

``nnx.Optimizer(model, tx, wrt=nnx.Param)`` takes any zoo transformation. Wrapping the
factory in ``zoo.inject_hyperparams`` stores the hyperparameters in the optimizer state, so a
schedule's value at each step is readable: ``zoo.current_hyperparams(state)`` answers "what is
my learning rate now?" (the value used by the most recent update) wherever the
``inject_hyperparams`` state sits in a chain. nnx keeps the optimizer state as ``Variable``s;
``nnx.as_pure`` turns it into the plain pytree the zoo functions read.

The model: a two-layer MLP on scikit-learn's digits (bundled, no download), trained with
``zoo.inject_hyperparams(zoo.adamw)`` and a one-cycle learning-rate schedule.

Run (from the repository root, with jaxopt_zoo, flax and scikit-learn installed)::

    python examples/flax_nnx_optimizer.py            # 500 steps, a few seconds
    python examples/flax_nnx_optimizer.py --steps 3  # a smoke run

It prints loss and learning rate now and then, and the final test accuracy (about 0.97).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jaxopt_zoo as zoo


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, hidden: int = 128):
        self.hidden = nnx.Linear(64, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, 10, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


def load_data():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    return (np.asarray(x_train, np.float32), np.asarray(y_train, np.int32),
            np.asarray(x_test, np.float32), np.asarray(y_test, np.int32))


@nnx.jit
def train_step(model: MLP, optimizer: nnx.Optimizer, xb, yb):
    def loss_fn(m):
        return optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def accuracy(model: MLP, x, y):
    return jnp.mean(jnp.argmax(model(x), -1) == y)


def current_lr(optimizer: nnx.Optimizer) -> float:
    """The learning rate of the last update, read from the (pure) optimizer state."""
    return float(zoo.current_hyperparams(nnx.as_pure(optimizer.opt_state))["learning_rate"])


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="training steps (default 500)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--lr", type=float, default=1e-2, help="peak learning rate (default 1e-2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_data()
    model = MLP(nnx.Rngs(args.seed))
    schedule = zoo.one_cycle_schedule(args.lr, total_steps=max(args.steps, 2))
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.inject_hyperparams(zoo.adamw)(learning_rate=schedule, weight_decay=1e-4))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    print(f"digits: {len(x_train)} train / {len(x_test)} test; nnx MLP; "
          "tx = zoo.chain(clip_by_global_norm, inject_hyperparams(adamw)(one_cycle_schedule))")
    print(f"lr before the first update: {current_lr(optimizer):.3e} (= schedule(0) = {float(schedule(0)):.3e})")

    rng = np.random.default_rng(args.seed)
    lrs = []
    for step in range(1, args.steps + 1):
        idx = rng.choice(len(x_train), args.batch, replace=False)
        loss = train_step(model, optimizer, x_train[idx], y_train[idx])
        lrs.append(current_lr(optimizer))
        if step == 1 or step % max(1, args.steps // 6) == 0 or step == args.steps:
            print(f"step {step:5d}  loss {float(loss):.4f}  lr {lrs[-1]:.3e}")
    expected = jax.jit(jax.vmap(schedule))(jnp.arange(args.steps))  # the schedule at steps 0..steps-1
    print(f"lr read from the state == schedule(t) at every step: {bool(np.allclose(lrs, expected, rtol=1e-6))}")
    acc = float(accuracy(model, x_test, y_test))
    print(f"final test accuracy {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
