"""Checkpoint and resume a zoo optimizer with orbax: the resumed run equals the uninterrupted one.

A zoo optimizer state is a pytree of arrays (NamedTuples, dicts, int32 step counters; no
Python values that change), so orbax saves and restores it like the parameters. This script
uses a non-trivial state: ``zoo.chain(zoo.clip_by_global_norm(1.0),
zoo.inject_hyperparams(zoo.adamw)(learning_rate=warmup_cosine_decay_schedule(...)))`` (its
state holds Adam's moments, the update count and the schedule's current value).

It trains a small MLP regressor twice:

1. uninterrupted for ``--steps`` steps;
2. for half the steps, saving with ``orbax.checkpoint.CheckpointManager`` every
   ``--save-every`` steps; then it "crashes", and a fresh manager restores the latest
   checkpoint into an abstract target (``jax.eval_shape`` of the initial parameters and
   state, so orbax knows the tree, shapes and dtypes) and training continues.

The data order depends only on the step number, so both runs see the same batches; the final
parameters and optimizer states must be equal bit for bit. The learning rate read from the
restored state with ``zoo.current_hyperparams`` shows the schedule resumed where it stopped.

Run (from the repository root, with jaxopt_zoo and orbax-checkpoint installed)::

    python examples/checkpoint_orbax.py                 # 200 steps into a temporary folder
    python examples/checkpoint_orbax.py --steps 3
    python examples/checkpoint_orbax.py --out /tmp/ckpt # keep the checkpoints

It prints the progress of both runs and ``resumed == uninterrupted (bit for bit): True``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

import jaxopt_zoo as zoo

IN, HIDDEN = 8, 64


def init_params(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "w1": jnp.asarray(rng.normal(size=(IN, HIDDEN)) / np.sqrt(IN), jnp.float32),
        "b1": jnp.zeros((HIDDEN,), jnp.float32),
        "w2": jnp.asarray(rng.normal(size=(HIDDEN,)) / np.sqrt(HIDDEN), jnp.float32),
        "b2": jnp.zeros((), jnp.float32),
    }


def loss_fn(params, x, y):
    pred = jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    return jnp.mean((pred - y) ** 2)


def batch(step: int, seed: int, size: int = 64):
    """The batch of a step depends on (seed, step) only: a resumed run sees the same data."""
    rng = np.random.default_rng([seed, step])
    x = rng.normal(size=(size, IN)).astype(np.float32)
    y = (np.sin(x[:, 0] * 2) + x[:, 1] * x[:, 2]).astype(np.float32)
    return x, y


def make_tx(steps: int):
    warmup = max(1, steps // 10)
    schedule = zoo.warmup_cosine_decay_schedule(0.0, 1e-2, warmup, max(steps, warmup + 1), end_value=1e-4)
    return zoo.chain(zoo.clip_by_global_norm(1.0),
                     zoo.inject_hyperparams(zoo.adamw)(learning_rate=schedule, weight_decay=1e-4))


def train(params, state, start: int, stop: int, args, train_step, label: str, manager=None):
    for step in range(start, stop):
        params, state, loss = train_step(params, state, *batch(step, args.seed))
        done = step + 1
        if manager is not None and (done % args.save_every == 0 or done == stop):
            manager.save(done, args=ocp.args.StandardSave({"params": params, "opt_state": state}))
        if done in (1, stop) or done % max(1, args.steps // 4) == 0:
            lr = float(zoo.current_hyperparams(state)["learning_rate"])
            print(f"[{label}] step {done:4d}  loss {float(loss):.5f}  lr {lr:.2e}")
    return params, state


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps (default 200)")
    parser.add_argument("--save-every", type=int, default=25, help="checkpoint period in steps (default 25)")
    parser.add_argument("--out", default=None, help="checkpoint folder (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    tx = make_tx(args.steps)

    @jax.jit
    def train_step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return zoo.apply_updates(params, updates), state, loss

    params0 = init_params(args.seed)
    uninterrupted = train(params0, tx.init(params0), 0, args.steps, args, train_step, "uninterrupted")

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.out or tmp).resolve() / "run"
        options = ocp.CheckpointManagerOptions(max_to_keep=2)
        half = args.steps // 2
        with ocp.CheckpointManager(directory, options=options) as manager:
            train(params0, tx.init(params0), 0, half, args, train_step, "first half", manager)
            manager.wait_until_finished()
        print(f"-- interrupted after step {half}; checkpoints on disk: {sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())}")

        # A new process would start here: build the abstract target, restore the latest step.
        abstract = jax.eval_shape(lambda: {"params": init_params(args.seed), "opt_state": tx.init(init_params(args.seed))})
        with ocp.CheckpointManager(directory, options=options) as manager:
            latest = manager.latest_step()
            restored = manager.restore(latest, args=ocp.args.StandardRestore(abstract))
        lr = float(zoo.current_hyperparams(restored["opt_state"])["learning_rate"])
        print(f"-- restored step {latest}: lr in the restored state {lr:.2e}")
        resumed = train(restored["params"], restored["opt_state"], latest, args.steps, args, train_step, "resumed")

    same_tree = jax.tree.structure(resumed) == jax.tree.structure(uninterrupted)
    same = same_tree and all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(uninterrupted)))
    print(f"resumed == uninterrupted (bit for bit): {same}")
    held_out = batch(10**6, args.seed, 1024)  # a step number training never reaches
    print(f"final loss on a held-out batch {float(loss_fn(resumed[0], *held_out)):.5f}")
    return same


if __name__ == "__main__":
    main()
