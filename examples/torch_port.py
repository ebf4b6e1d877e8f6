"""A PyTorch training recipe ported to JAX + Flax with ``jaxopt_zoo.torch_compat``: same numbers.

The PyTorch recipe (an MLP on scikit-learn's digits; SGD with Nesterov momentum and weight
decay; the lr halved every 5 epochs by StepLR, stepped once per epoch)::

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    for epoch in range(epochs):
        for x, y in batches:                       # 21 batches of 64 per epoch
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        sched.step()

The port keeps the optimizer line word for word (``tc.SGD(lr=..., momentum=0.9, nesterov=True,
weight_decay=5e-4)``); the scheduler becomes the ``lr`` itself: torch's StepLR stepped once
per epoch of ``steps_per_epoch`` optimizer steps is ``tc.lr_scheduler.StepLR(0.1,
step_size=5, gamma=0.5, steps_per_epoch=steps_per_epoch)`` (the zoo spelling is
``zoo.step_decay_schedule(0.1, 5 * steps_per_epoch, 0.5)``). The loop needs no
``zero_grad`` and no ``sched.step()``: the optimizer state counts the steps.

With ``--compare-torch`` (needs torch) the torch recipe runs too, from the same initial
weights on the same batches, and the script prints how far apart the two models end up.

Run: ``python examples/torch_port.py --steps 630`` (30 epochs; ``--steps 3`` for a smoke run).
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from jaxopt_zoo import torch_compat as tc

BATCH = 64
LR, MOMENTUM, WEIGHT_DECAY, STEP_EPOCHS, GAMMA = 0.1, 0.9, 5e-4, 5, 0.5


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(64, 128, rngs=rngs)
        self.out = nnx.Linear(128, 10, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


def data(seed: int):
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=seed)
    return (x_train.astype(np.float32), y_train, x_test.astype(np.float32), y_test)


def batch_indices(n: int, steps: int, seed: int) -> list:
    """Shuffled epochs of full batches: the same for the JAX and the torch run."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < steps:
        perm = rng.permutation(n)
        out += [perm[i:i + BATCH] for i in range(0, n - BATCH + 1, BATCH)]
    return out[:steps]


def train_jax(model: MLP, x, y, batches: list, steps_per_epoch: int, log_every: int):
    lr = tc.lr_scheduler.StepLR(LR, step_size=STEP_EPOCHS, gamma=GAMMA, steps_per_epoch=steps_per_epoch)
    tx = tc.SGD(lr=lr, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, xb, yb):
        def loss_fn(m):
            return optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    for step, idx in enumerate(batches, start=1):
        loss = train_step(model, optimizer, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
        if step == 1 or step % log_every == 0 or step == len(batches):
            print(f"step {step:5d}  epoch {(step - 1) // steps_per_epoch:3d}  lr {float(lr(step - 1)):.4f}  "
                  f"loss {float(loss):.4f}")
    return model


def train_torch(params: dict, x, y, batches: list, steps_per_epoch: int) -> dict:
    """The PyTorch recipe of the module docstring, started from ``params`` (the Flax init)."""
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    with torch.no_grad():  # Flax kernels are (in, out); torch weights are (out, in)
        for layer, name in ((model[0], "hidden"), (model[2], "out")):
            layer.weight.copy_(torch.tensor(np.asarray(params[name]["kernel"]).T))
            layer.bias.copy_(torch.tensor(np.asarray(params[name]["bias"])))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=STEP_EPOCHS, gamma=GAMMA)
    for step, idx in enumerate(batches, start=1):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(x[idx])), torch.tensor(y[idx]))
        loss.backward()
        opt.step()
        if step % steps_per_epoch == 0:
            sched.step()
    return {"hidden": {"kernel": model[0].weight.detach().numpy().T, "bias": model[0].bias.detach().numpy()},
            "out": {"kernel": model[2].weight.detach().numpy().T, "bias": model[2].bias.detach().numpy()}}


def pure_params(model: MLP) -> dict:
    state = nnx.state(model, nnx.Param)
    return {layer: {k: np.asarray(state[layer][k][...]) for k in ("kernel", "bias")} for layer in ("hidden", "out")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=630, help="optimizer steps (default 630 = 30 epochs)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--compare-torch", action="store_true", help="also run the torch recipe and compare")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = data(args.seed)
    steps_per_epoch = len(x_train) // BATCH
    batches = batch_indices(len(x_train), args.steps, args.seed)
    model = MLP(nnx.Rngs(args.seed))
    init = pure_params(model)
    print(f"digits: {len(x_train)} train / {len(x_test)} test, {steps_per_epoch} steps per epoch; "
          f"torch_compat.SGD(nesterov) + StepLR per epoch")
    train_jax(model, x_train, y_train, batches, steps_per_epoch, log_every=max(1, args.steps // 10))
    accuracy = float(jnp.mean(jnp.argmax(model(jnp.asarray(x_test)), -1) == jnp.asarray(y_test)))
    print(f"test accuracy {accuracy:.3f}")

    if args.compare_torch:
        theirs = train_torch(init, x_train, y_train, batches, steps_per_epoch)
        ours = pure_params(model)
        worst = max(float(np.max(np.abs(ours[m][k] - theirs[m][k])) / np.max(np.abs(theirs[m][k])))
                    for m in ours for k in ours[m])
        print(f"largest difference to the torch run after {args.steps} steps: {worst:.2e} (relative, float32)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
