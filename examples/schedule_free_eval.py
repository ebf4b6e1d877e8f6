"""Schedule-free AdamW: train at ``y``, evaluate at the average ``x`` (``schedule_free_eval_params``).

Schedule-free optimizers (Defazio et al., 2024) replace the learning-rate schedule by an
online average. They keep three sequences: the parameters the model trains at (``y``: what
``zoo.schedule_free_adamw`` returns as params, where gradients are taken), a base iterate
``z`` and the average ``x``, which is what to *evaluate* and to ship.
``zoo.schedule_free_eval_params(state, params)`` returns ``x`` (like ``optimizer.eval()`` in
the ``schedulefree`` package), from anywhere in a chain.

The script trains an MLP regressor with a deliberately large constant learning rate (after a
short warmup) on noisy targets: the training point ``y`` keeps jittering around the minimum,
while the average ``x`` settles, so its test loss is lower, without any decay schedule.

Run (from the repository root, with jaxopt_zoo and optax installed)::

    python examples/schedule_free_eval.py              # 600 steps, a few seconds
    python examples/schedule_free_eval.py --steps 3

It prints the training loss now and then, the test loss at ``y`` and at ``x`` and whether the
eval params are better.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_zoo as zoo

DIM, HIDDEN, NOISE = 20, 64, 0.5


def init_params(rng: np.random.Generator) -> dict:
    return {
        "w1": jnp.asarray(rng.normal(size=(DIM, HIDDEN)) / np.sqrt(DIM), jnp.float32),
        "b1": jnp.zeros((HIDDEN,), jnp.float32),
        "w2": jnp.asarray(rng.normal(size=(HIDDEN,)) / np.sqrt(HIDDEN), jnp.float32),
        "b2": jnp.zeros((), jnp.float32),
    }


def predict(params, x):
    return jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


@jax.jit
def loss_fn(params, x, y):
    return jnp.mean((predict(params, x) - y) ** 2)


def make_data(rng: np.random.Generator, n: int = 20000):
    """Targets of a random teacher network plus Gaussian noise (test loss floor NOISE**2)."""
    teacher = init_params(rng)
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    y = (np.asarray(predict(teacher, x)) + NOISE * rng.normal(size=n)).astype(np.float32)
    return x[: n // 2], y[: n // 2], x[n // 2:], y[n // 2:]


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate, constant after warmup (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = make_data(rng)
    tx = zoo.chain(zoo.clip_by_global_norm(1.0),
                   zoo.schedule_free_adamw(args.lr, warmup_steps=max(1, args.steps // 20), weight_decay=1e-4))

    @jax.jit
    def train_step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return zoo.apply_updates(params, updates), state, loss

    params = init_params(rng)
    state = tx.init(params)
    print(f"{len(x_train)} train / {len(x_test)} test points, noise floor {NOISE**2:.4f}; MLP; "
          f"zoo.schedule_free_adamw({args.lr}) with warmup, no decay schedule")
    for step in range(1, args.steps + 1):
        idx = rng.choice(len(x_train), args.batch, replace=False)
        params, state, loss = train_step(params, state, x_train[idx], y_train[idx])
        if step == 1 or step % max(1, args.steps // 5) == 0 or step == args.steps:
            print(f"step {step:5d}  training loss {float(loss):.4f}")

    eval_params = zoo.schedule_free_eval_params(state, params)
    y_loss, x_loss = float(loss_fn(params, x_test, y_test)), float(loss_fn(eval_params, x_test, y_test))
    print(f"test loss at y (training params):                         {y_loss:.4f}")
    print(f"test loss at x (schedule_free_eval_params(state, params)): {x_loss:.4f}")
    print(f"eval params better than training params: {x_loss < y_loss}")
    print(f"final test loss {x_loss:.4f}")
    return x_loss < y_loss


if __name__ == "__main__":
    main()
