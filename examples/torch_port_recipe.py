"""A whole PyTorch fine-tuning recipe ported with ``jaxopt_zoo.torch_compat``: AdamW with param
groups, a Hugging Face warmup-cosine schedule, gradient clipping and an EMA of the weights.

The PyTorch recipe (an MLP with a LayerNorm on scikit-learn's digits)::

    model = nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 10))
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or n.startswith("1.")]
    opt = torch.optim.AdamW([{"params": [model[0].weight]},                      # decayed
                             {"params": no_decay, "weight_decay": 0.0},          # biases, norm
                             {"params": [model[3].weight], "lr": HEAD_LR}],      # the head
                            lr=LR, weight_decay=WEIGHT_DECAY)
    sched = transformers.get_cosine_schedule_with_warmup(opt, num_warmup_steps=WARMUP, num_training_steps=steps)
    ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY))
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        opt.step()
        sched.step()
        ema.update_parameters(model)

The port is one chain, in the order torch applies them, trained with ``flax.nnx.Optimizer``::

    no_decay = lambda path, leaf: path[-1].key == "bias" or path[0].key == "norm"
    head = lambda path, leaf: path[0].key == "head" and path[-1].key == "kernel"
    tx = zoo.chain(
        tc.clip_grad_norm(MAX_NORM),
        tc.AdamW(lr=hf.get_cosine_schedule_with_warmup(LR, WARMUP, steps), weight_decay=WEIGHT_DECAY,
                 param_groups=[{"params": no_decay, "weight_decay": 0.0}, {"params": head, "lr": HEAD_LR}]),
        swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(EMA_DECAY)))

The head's group gets the schedule on its own base lr (torch's ``base_lrs``), and the EMA
weights are ``swa_utils.averaged_params(optimizer.opt_state)``. With ``--compare-torch``
(needs torch and transformers) the torch recipe runs too, from the same initial weights on the
same batches, and the script prints both loss curves side by side and how far apart the
weights and the EMA weights end up. ``--float64`` runs both in double precision, where they
agree to about 1e-15; in float32 they drift apart by rounding (see ``docs/torch.md``).

Run: ``python examples/torch_port_recipe.py --steps 300 --compare-torch`` (``--steps 3`` for a
smoke run).
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
LR, HEAD_LR, WEIGHT_DECAY, MAX_NORM, EMA_DECAY = 3e-3, 1e-2, 0.05, 1.0, 0.9
LAYERS = {"hidden": ("kernel", "bias"), "norm": ("scale", "bias"), "head": ("kernel", "bias")}


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, dtype=jnp.float32):
        kw = dict(dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.hidden = nnx.Linear(64, 64, **kw)
        # torch's LayerNorm: eps 1e-5 and the two-pass variance
        self.norm = nnx.LayerNorm(64, epsilon=1e-5, use_fast_variance=False, **kw)
        self.head = nnx.Linear(64, 10, **kw)

    def __call__(self, x):
        return self.head(nnx.relu(self.norm(self.hidden(x))))


def no_decay(path, leaf) -> bool:
    """torch's usual split: no weight decay on biases and norm weights."""
    return path[-1].key == "bias" or path[0].key == "norm"


def head(path, leaf) -> bool:
    """The head's weight matrix, trained with its own lr (its bias is in ``no_decay``)."""
    return path[0].key == "head" and path[-1].key == "kernel"


def warmup_steps(steps: int) -> int:
    return max(1, steps // 10)


def data(seed: int, dtype):
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.25, random_state=seed)
    return x_train.astype(dtype), y_train, x_test.astype(dtype), y_test


def batch_indices(n: int, steps: int, seed: int) -> list:
    """Shuffled epochs of full batches: the same for the JAX and the torch run."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < steps:
        perm = rng.permutation(n)
        out += [perm[i:i + BATCH] for i in range(0, n - BATCH + 1, BATCH)]
    return out[:steps]


def as_dict(tree) -> dict:
    """``{"hidden": {"kernel", "bias"}, "norm": {"scale", "bias"}, "head": {...}}`` of numpy arrays."""
    return {layer: {k: np.array(tree[layer][k][...]) for k in keys} for layer, keys in LAYERS.items()}


def recipe(steps: int):
    """The zoo's chain: clipping, AdamW with param groups under the HF schedule, EMA."""
    lr = hf.get_cosine_schedule_with_warmup(LR, num_warmup_steps=warmup_steps(steps), num_training_steps=steps)
    return zoo.chain(
        tc.clip_grad_norm(MAX_NORM),
        tc.AdamW(lr=lr, weight_decay=WEIGHT_DECAY,
                 param_groups=[{"params": no_decay, "weight_decay": 0.0}, {"params": head, "lr": HEAD_LR}]),
        swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(EMA_DECAY)))


def train_jax(model: MLP, x, y, batches: list) -> tuple[np.ndarray, dict, list]:
    """The port: (loss at every step, EMA weights, each group's lr at the last step)."""
    optimizer = nnx.Optimizer(model, recipe(len(batches)), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, xb, yb):
        def loss_fn(m):
            return optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    losses = [float(train_step(model, optimizer, jnp.asarray(x[idx]), jnp.asarray(y[idx]))) for idx in batches]
    adamw_state = optimizer.opt_state[1]  # chain: (clip, AdamW, AveragedModel)
    lrs = [float(zoo.current_hyperparams(g)["lr"][...]) for g in adamw_state.groups]
    return np.asarray(losses), as_dict(swa_utils.averaged_params(optimizer.opt_state)), lrs


def train_torch(params: dict, x, y, batches: list) -> tuple[np.ndarray, dict, dict, list]:
    """The PyTorch recipe of the module docstring from ``params`` (the Flax init):
    (loss at every step, weights, EMA weights, each group's lr at the last step)."""
    import torch
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    from transformers import get_cosine_schedule_with_warmup

    dtype = torch.float64 if params["hidden"]["kernel"].dtype == np.float64 else torch.float32
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.LayerNorm(64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 10)).to(dtype)
    with torch.no_grad():  # Flax kernels are (in, out); torch weights are (out, in)
        for layer, name in ((model[0], "hidden"), (model[3], "head")):
            layer.weight.copy_(torch.tensor(params[name]["kernel"].T))
            layer.bias.copy_(torch.tensor(params[name]["bias"]))
        model[1].weight.copy_(torch.tensor(params["norm"]["scale"]))
        model[1].bias.copy_(torch.tensor(params["norm"]["bias"]))
    decayed = [model[0].weight]
    nodecay = [p for n, p in model.named_parameters() if n.endswith("bias") or n.startswith("1.")]
    opt = torch.optim.AdamW([{"params": decayed}, {"params": nodecay, "weight_decay": 0.0},
                             {"params": [model[3].weight], "lr": HEAD_LR}], lr=LR, weight_decay=WEIGHT_DECAY)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=warmup_steps(len(batches)),
                                            num_training_steps=len(batches))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY))
    losses = []
    for idx in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(x[idx])), torch.tensor(y[idx]))
        loss.backward()
        losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        opt.step()
        lrs = [g["lr"] for g in opt.param_groups]  # the lrs this step used
        sched.step()
        ema.update_parameters(model)

    def weights(m):
        return {"hidden": {"kernel": m[0].weight.detach().numpy().T, "bias": m[0].bias.detach().numpy()},
                "norm": {"scale": m[1].weight.detach().numpy(), "bias": m[1].bias.detach().numpy()},
                "head": {"kernel": m[3].weight.detach().numpy().T, "bias": m[3].bias.detach().numpy()}}

    # torch's groups: decayed, no decay, head; the zoo's: no decay, head, the rest (decayed)
    return np.asarray(losses), weights(model), weights(ema.module), [lrs[1], lrs[2], lrs[0]]


def largest_difference(ours: dict, theirs: dict) -> float:
    """The largest difference of a leaf, relative to that leaf's largest magnitude."""
    return max(float(np.max(np.abs(ours[m][k] - theirs[m][k])) / np.max(np.abs(theirs[m][k])))
               for m in ours for k in ours[m])


def run(steps: int, seed: int = 0, float64: bool = False, compare_torch: bool = False, log_every: int | None = None,
        out=print) -> dict:
    """Train the port (and the torch recipe); return both runs' loss curves, weights and EMA weights."""
    with jax.enable_x64(True) if float64 else contextlib.nullcontext():
        dtype = np.float64 if float64 else np.float32
        x_train, y_train, x_test, y_test = data(seed, dtype)
        batches = batch_indices(len(x_train), steps, seed)
        model = MLP(nnx.Rngs(seed), dtype=dtype)
        init = as_dict(nnx.state(model, nnx.Param))
        out(f"digits: {len(x_train)} train / {len(x_test)} test, {np.dtype(dtype).name}; clip_grad_norm + AdamW "
            f"(3 param groups) + get_cosine_schedule_with_warmup + EMA({EMA_DECAY})")
        losses, ema, lrs = train_jax(model, x_train, y_train, batches)
        result = dict(losses=losses, weights=as_dict(nnx.state(model, nnx.Param)), ema=ema, lrs=lrs)
        if compare_torch:
            t_losses, t_weights, t_ema, t_lrs = train_torch(init, x_train, y_train, batches)
            result.update(torch_losses=t_losses, torch_weights=t_weights, torch_ema=t_ema, torch_lrs=t_lrs)

        log_every = log_every or max(1, steps // 10)
        out(f"{'step':>5}  {'zoo loss':>14}" + (f"  {'torch loss':>14}" if compare_torch else ""))
        for i in range(steps):
            if i == 0 or (i + 1) % log_every == 0 or i + 1 == steps:
                out(f"{i + 1:5d}  {losses[i]:14.10f}" + (f"  {result['torch_losses'][i]:14.10f}" if compare_torch else ""))
        out("last lrs (no decay, head, rest): zoo " + ", ".join(f"{v:.3e}" for v in lrs)
            + ("; torch " + ", ".join(f"{v:.3e}" for v in result["torch_lrs"]) if compare_torch else ""))

        ema_model = MLP(nnx.Rngs(seed), dtype=dtype)
        nnx.update(ema_model, jax.tree.map(jnp.asarray, ema))

        def accuracy(m):
            return float(jnp.mean(jnp.argmax(m(jnp.asarray(x_test)), -1) == jnp.asarray(y_test)))

        out(f"test accuracy: model {accuracy(model):.3f}, EMA weights {accuracy(ema_model):.3f}")
        if compare_torch:
            curve = float(np.max(np.abs(losses - result["torch_losses"]) / np.abs(result["torch_losses"])))
            out(f"largest difference to the torch run after {steps} steps (relative, {np.dtype(dtype).name}): "
                f"loss curve {curve:.2e}, weights {largest_difference(result['weights'], result['torch_weights']):.2e}, "
                f"EMA {largest_difference(ema, result['torch_ema']):.2e}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--float64", action="store_true", help="train in double precision (both sides)")
    parser.add_argument("--compare-torch", action="store_true", help="also run the torch recipe and compare")
    args = parser.parse_args(argv)
    run(args.steps, args.seed, args.float64, args.compare_torch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
