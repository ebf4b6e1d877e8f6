"""SAM (sharpness-aware minimization) inside a Flax train step, with ``zoo.sam``.

SAM takes two gradients per step: one at the parameters ``p`` to find the ascent direction,
one at the perturbed point ``p + rho g/||g||``, and applies the second from ``p``.
``zoo.sam`` offers both of optax's ways to fit that into a train step:

* transparent mode (default): SAM is ``sync_period = 2`` consecutive ordinary updates, the
  first one climbs, the second one makes the real step. The train step is the usual
  ``grad -> apply_gradients``, called twice on the same batch (so ``TrainState.step``
  counts two per SAM step);
* opaque mode (``opaque_mode=True``): one update makes the whole SAM step; it takes the
  second gradient itself through ``grad_fn=(params, i) -> grads``, passed to ``tx.update``.

Both modes give the same parameters, and the same as ``optax.contrib.sam``, the reference:
the script trains a Flax linen MLP on a synthetic classification task the three ways and
compares them.

Run (from the repository root, with jaxopt_zoo, optax and flax installed)::

    python examples/sam_flax.py            # 400 SAM steps
    python examples/sam_flax.py --steps 3

It prints the loss now and then, the test accuracy and whether the three runs agree.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from flax.training import train_state

import jaxopt_zoo as zoo

LR, MOMENTUM, RHO = 0.05, 0.9, 0.05


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(4)(nn.relu(nn.Dense(64)(x)))


def make_data(seed: int, n: int = 2000, dim: int = 20, classes: int = 4):
    """Overlapping Gaussian blobs, 10% of the training labels flipped: a task where a flat
    minimum generalizes better than a sharp one."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 0.6
    y = rng.integers(0, classes, size=n)
    x = (centres[y] + rng.normal(size=(n, dim))).astype(np.float32)
    split = n * 3 // 4
    y_train = np.where(rng.random(split) < 0.1, rng.integers(0, classes, size=split), y[:split])
    return x[:split], y_train.astype(np.int32), x[split:], y[split:].astype(np.int32)


def loss_fn(params, apply_fn, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(apply_fn({"params": params}, x), y).mean()


@jax.jit
def transparent_step(state: train_state.TrainState, x, y):
    """The usual Flax step, twice on the same batch: climb, then the real step from p."""
    loss, grads = jax.value_and_grad(loss_fn)(state.params, state.apply_fn, x, y)
    state = state.apply_gradients(grads=grads)  # -> p + rho g/|g|
    grads = jax.grad(loss_fn)(state.params, state.apply_fn, x, y)
    return state.apply_gradients(grads=grads), loss  # -> p - lr * (momentum of) g(p + rho g/|g|)


@jax.jit
def opaque_step(state: train_state.TrainState, x, y):
    """One update makes the SAM step; it calls ``grad_fn`` for the gradient at the perturbed point."""
    loss, grads = jax.value_and_grad(loss_fn)(state.params, state.apply_fn, x, y)
    grad_fn = lambda p, i: jax.grad(loss_fn)(p, state.apply_fn, x, y)  # noqa: E731
    updates, opt_state = state.tx.update(grads, state.opt_state, state.params, grad_fn=grad_fn)
    return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state), loss


@jax.jit
def _accuracy(params, x, y):
    return jnp.mean(jnp.argmax(MLP().apply({"params": params}, x), -1) == y)


def accuracy(params, x, y) -> float:
    return float(_accuracy(params, x, y))


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="SAM steps (default 400)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = make_data(args.seed)
    model = MLP()
    params = jax.jit(model.init)(jax.random.key(args.seed), x_train[:1])["params"]
    txs = {
        "zoo.sam transparent": zoo.sam(zoo.sgd(LR, momentum=MOMENTUM), rho=RHO),
        "zoo.sam opaque": zoo.sam(zoo.sgd(LR, momentum=MOMENTUM), rho=RHO, opaque_mode=True),
        "optax.contrib.sam": optax.contrib.sam(optax.sgd(LR, momentum=MOMENTUM),
                                               optax.chain(optax.contrib.normalize(), optax.sgd(RHO))),
    }
    print(f"{len(x_train)} train / {len(x_test)} test points; linen MLP; SAM(sgd lr={LR}, momentum={MOMENTUM}), rho={RHO}")
    results = {}
    for name, tx in txs.items():
        state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=tx)
        step_fn = opaque_step if "opaque" in name else transparent_step
        rng = np.random.default_rng(args.seed)
        for step in range(1, args.steps + 1):
            idx = rng.choice(len(x_train), args.batch, replace=False)
            state, loss = step_fn(state, x_train[idx], y_train[idx])
            if step == 1 or step % max(1, args.steps // 4) == 0 or step == args.steps:
                print(f"[{name}] step {step:4d}  loss {float(loss):.4f}")
        results[name] = state.params
        print(f"[{name}] test accuracy {accuracy(state.params, x_test, y_test):.4f}  (TrainState.step {int(state.step)})")

    def close(a, b):
        return all(np.allclose(u, v, rtol=1e-4, atol=1e-6) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

    same_modes = close(results["zoo.sam transparent"], results["zoo.sam opaque"])
    same_reference = close(results["zoo.sam transparent"], results["optax.contrib.sam"])
    print(f"transparent == opaque (float32 tolerance): {same_modes}")
    print(f"zoo.sam == optax.contrib.sam (float32 tolerance): {same_reference}")
    print(f"final test accuracy {accuracy(results['zoo.sam transparent'], x_test, y_test):.4f}")
    return same_modes and same_reference


if __name__ == "__main__":
    main()
