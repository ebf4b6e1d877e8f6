"""The ``jaxopt-zoo`` command.

``jaxopt-zoo demo`` trains a small Flax MLP on scikit-learn's digits with ``zoo.adamw`` and
prints the loss falling. (The full shootout, landscape and schedule pictures are built on
the same entry point.)
"""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import jaxopt_zoo as zoo

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    x_train, x_test = jnp.asarray(x_train, jnp.float32), jnp.asarray(x_test, jnp.float32)
    y_train, y_test = jnp.asarray(y_train), jnp.asarray(y_test)

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.hidden = nnx.Linear(64, 128, rngs=rngs)
            self.out = nnx.Linear(128, 10, rngs=rngs)

        def __call__(self, x):
            return self.out(nnx.relu(self.hidden(x)))

    model = MLP(nnx.Rngs(args.seed))
    tx = zoo.adamw(3e-3, weight_decay=1e-2)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, xb, yb):
        def loss_fn(m):
            return optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    @nnx.jit
    def accuracy(model, xb, yb):
        return jnp.mean(jnp.argmax(model(xb), -1) == yb)

    key = jax.random.key(args.seed)
    batch = 128
    print(f"digits: {len(x_train)} train / {len(x_test)} test; Flax nnx MLP; zoo.adamw")
    for step in range(1, args.steps + 1):
        key, sub = jax.random.split(key)
        idx = jax.random.choice(sub, len(x_train), (batch,), replace=False)
        loss = train_step(model, optimizer, x_train[idx], y_train[idx])
        if step == 1 or step % max(1, args.steps // 10) == 0:
            print(f"step {step:5d}  loss {float(loss):.4f}")
    print(f"test accuracy {float(accuracy(model, x_test, y_test)):.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxopt-zoo", description="The jaxopt_zoo command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a Flax MLP on scikit-learn's digits with zoo.adamw")
    demo.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--out", default="zoo-out", help="output folder (default zoo-out)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
