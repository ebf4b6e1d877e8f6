"""A fine-tuning-style PyTorch recipe ported with ``jaxopt_zoo.torch_compat``: AdamW, a Hugging
Face warmup-cosine schedule, gradient clipping and an EMA of the weights — same numbers.

The PyTorch recipe (an MLP on scikit-learn's digits)::

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = transformers.get_cosine_schedule_with_warmup(opt, num_warmup_steps=20, num_training_steps=steps)
    ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.95))
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update_parameters(model)

The port is one chain, in the order torch applies them::

    tx = zoo.chain(tc.clip_grad_norm(1.0),
                   tc.AdamW(lr=hf.get_cosine_schedule_with_warmup(3e-3, 20, steps), weight_decay=0.01),
                   swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.95)))

and the EMA weights are ``swa_utils.averaged_params(optimizer.opt_state)``. With
``--compare-torch`` (needs torch and transformers) the torch recipe runs too, from the same
initial weights on the same batches, and the script prints how far apart the two models and
the two EMAs end up.

Run: ``python examples/torch_port_ema.py --steps 300`` (``--steps 3`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc
from jaxopt_zoo.torch_compat import swa_utils
from jaxopt_zoo.torch_compat import transformers as hf

BATCH = 64
LR, WEIGHT_DECAY, WARMUP, MAX_NORM, EMA_DECAY = 3e-3, 0.01, 20, 1.0, 0.95


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, dtype=jnp.float32):
        self.hidden = nnx.Linear(64, 128, dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(128, 10, dtype=dtype, param_dtype=dtype, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


def data(seed: int, dtype=np.float32):
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=seed)
    return (x_train.astype(dtype), y_train, x_test.astype(dtype), y_test)


def batch_indices(n: int, steps: int, seed: int) -> list:
    """Shuffled epochs of full batches: the same for the JAX and the torch run."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < steps:
        perm = rng.permutation(n)
        out += [perm[i:i + BATCH] for i in range(0, n - BATCH + 1, BATCH)]
    return out[:steps]


def as_dict(tree) -> dict:
    """``{"hidden": {"kernel", "bias"}, "out": {...}}`` of numpy arrays from an nnx State of Params."""
    return {layer: {k: np.array(tree[layer][k][...]) for k in ("kernel", "bias")}
            for layer in ("hidden", "out")}


def train_jax(model: MLP, x, y, batches: list, log_every: int):
    lr = hf.get_cosine_schedule_with_warmup(LR, num_warmup_steps=WARMUP, num_training_steps=len(batches))
    tx = zoo.chain(tc.clip_grad_norm(MAX_NORM),
                   tc.AdamW(lr=lr, weight_decay=WEIGHT_DECAY),
                   swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(EMA_DECAY)))
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
            print(f"step {step:5d}  lr {float(lr(step - 1)):.5f}  loss {float(loss):.4f}")
    return as_dict(swa_utils.averaged_params(optimizer.opt_state))


def train_torch(params: dict, x, y, batches: list) -> tuple[dict, dict]:
    """The PyTorch recipe of the module docstring, from ``params`` (the Flax init): (weights, EMA weights)."""
    import torch
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    from transformers import get_cosine_schedule_with_warmup

    dtype = torch.float64 if params["hidden"]["kernel"].dtype == np.float64 else torch.float32
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(dtype)
    with torch.no_grad():  # Flax kernels are (in, out); torch weights are (out, in)
        for layer, name in ((model[0], "hidden"), (model[2], "out")):
            layer.weight.copy_(torch.tensor(params[name]["kernel"].T))
            layer.bias.copy_(torch.tensor(params[name]["bias"]))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=WARMUP, num_training_steps=len(batches))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY))
    for idx in batches:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.tensor(x[idx])), torch.tensor(y[idx])).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        opt.step()
        sched.step()
        ema.update_parameters(model)

    def weights(m):
        return {"hidden": {"kernel": m[0].weight.detach().numpy().T, "bias": m[0].bias.detach().numpy()},
                "out": {"kernel": m[2].weight.detach().numpy().T, "bias": m[2].bias.detach().numpy()}}

    return weights(model), weights(ema.module)


def largest_difference(ours: dict, theirs: dict) -> float:
    return max(float(np.max(np.abs(ours[m][k] - theirs[m][k])) / np.max(np.abs(theirs[m][k])))
               for m in ours for k in ours[m])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--float64", action="store_true", help="train in double precision (both sides)")
    parser.add_argument("--compare-torch", action="store_true", help="also run the torch recipe and compare")
    args = parser.parse_args(argv)
    with jax.enable_x64(True) if args.float64 else contextlib.nullcontext():
        run(args)
    return 0


def run(args) -> None:
    dtype = np.float64 if args.float64 else np.float32
    x_train, y_train, x_test, y_test = data(args.seed, dtype)
    batches = batch_indices(len(x_train), args.steps, args.seed)
    model = MLP(nnx.Rngs(args.seed), dtype)
    init = as_dict(nnx.state(model, nnx.Param))
    print(f"digits: {len(x_train)} train / {len(x_test)} test; clip_grad_norm + AdamW + "
          f"get_cosine_schedule_with_warmup + EMA({EMA_DECAY})")
    ema = train_jax(model, x_train, y_train, batches, log_every=max(1, args.steps // 10))
    ema_model = MLP(nnx.Rngs(args.seed), dtype)
    nnx.update(ema_model, jax.tree.map(jnp.asarray, ema))

    def accuracy(m):
        return float(jnp.mean(jnp.argmax(m(jnp.asarray(x_test)), -1) == jnp.asarray(y_test)))

    print(f"test accuracy: model {accuracy(model):.3f}, EMA weights {accuracy(ema_model):.3f}")

    if args.compare_torch:
        theirs, theirs_ema = train_torch(init, x_train, y_train, batches)
        ours = as_dict(nnx.state(model, nnx.Param))
        print(f"largest difference to the torch run after {args.steps} steps: weights "
              f"{largest_difference(ours, theirs):.2e}, EMA {largest_difference(ema, theirs_ema):.2e} "
              f"(relative, {np.dtype(dtype).name})")


if __name__ == "__main__":
    raise SystemExit(main())
