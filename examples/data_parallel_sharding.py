"""Data-parallel training on a ``jax.sharding.Mesh``: the result equals a single-device run.

A zoo optimizer state is a pytree of arrays shaped like the parameters, so it shards like
them: nothing in the optimizer knows about devices. This script trains a small MLP regressor
three ways and compares the final parameters:

1. on one device;
2. data-parallel: the batch is split over the mesh axis ``"data"``
   (``NamedSharding(mesh, P("data"))``), parameters and optimizer state are replicated
   (``P()``); ``jit`` inserts the all-reduce of the gradients;
3. data-parallel with sharded parameters and optimizer state (ZeRO/FSDP style): every
   weight is split over ``"data"`` along one axis, its Adam moments the same way, and the
   optimizer state is created directly with those shardings (``jax.jit(tx.init,
   out_shardings=...)``).

The optimizer is ``zoo.chain(zoo.clip_by_global_norm(1.0), zoo.adamw(...))``: the clipping
norm is a reduction over all devices, which jit handles from the shardings.

On a machine with one CPU, the devices are simulated: ``--devices N`` sets
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before jax is imported.

Multi-host (several machines or several GPU/TPU hosts): call ``jax.distributed.initialize()``
at the start of every process, build the mesh over the global ``jax.devices()``, let each
process load only its part of every batch and assemble the global batch with
``jax.make_array_from_process_local_data(batch_sharding, local_batch)``. The train step and
the optimizer are unchanged.

Run (from the repository root, with jaxopt_zoo installed)::

    python examples/data_parallel_sharding.py              # 8 simulated devices, 300 steps
    python examples/data_parallel_sharding.py --devices 4 --steps 3

It prints the loss of each run now and then and whether the sharded runs equal the
single-device run to float32 tolerance.
"""

from __future__ import annotations

import argparse
import os


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    parser.add_argument("--devices", type=int, default=8, help="devices in the mesh; simulated on CPU (default 8)")
    parser.add_argument("--batch", type=int, default=256, help="global batch size, a multiple of --devices (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser.parse_args(argv)


ARGS = parse_args()
# Simulated CPU devices must be requested before jax is imported.
os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={ARGS.devices}".strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import jaxopt_zoo as zoo  # noqa: E402

IN, HIDDEN = 16, 128
RTOL = 1e-4  # float32: the batch-mean reduction is summed in another order on N devices


def init_params(rng: np.random.Generator) -> dict:
    return {
        "w1": jnp.asarray(rng.normal(size=(IN, HIDDEN)) / np.sqrt(IN), jnp.float32),
        "b1": jnp.zeros((HIDDEN,), jnp.float32),
        "w2": jnp.asarray(rng.normal(size=(HIDDEN, 1)) / np.sqrt(HIDDEN), jnp.float32),
        "b2": jnp.zeros((1,), jnp.float32),
    }


def predict(params, x):
    return (jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"])[:, 0]


def loss_fn(params, x, y):
    return jnp.mean((predict(params, x) - y) ** 2)


def make_data(rng: np.random.Generator, n: int = 4096):
    """A regression task: targets from a random teacher network, plus noise."""
    teacher = init_params(rng)
    teacher["w1"] = teacher["w1"] * 2.0
    x = rng.normal(size=(n, IN)).astype(np.float32)
    y = np.asarray(predict(teacher, x)) + 0.05 * rng.normal(size=n).astype(np.float32)
    return x, y.astype(np.float32)


TX = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.adamw(3e-3, weight_decay=1e-4))


def step(params, state, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, state = TX.update(grads, state, params)
    return zoo.apply_updates(params, updates), state, loss


def param_spec(leaf) -> P:
    """ZeRO/FSDP-style: split a weight over "data" along its hidden-size axis; replicate the rest."""
    if HIDDEN not in leaf.shape:
        return P()
    return P(*[("data" if d == HIDDEN else None) for d in leaf.shape])


def state_shardings(state_shapes, params, param_shardings):
    """Each optimizer-state leaf shaped like a parameter takes that parameter's sharding."""
    by_shape = {p.shape: s for p, s in zip(jax.tree.leaves(params), jax.tree.leaves(param_shardings))}
    mesh = jax.tree.leaves(param_shardings)[0].mesh
    return jax.tree.map(lambda leaf: by_shape.get(leaf.shape, NamedSharding(mesh, P())), state_shapes)


def train(params, x, y, args, mesh=None, shard_params=False, label=""):
    rng = np.random.default_rng(args.seed + 1)
    batches = [rng.choice(len(x), args.batch, replace=False) for _ in range(args.steps)]
    if mesh is None:
        train_step, state = jax.jit(step), jax.jit(TX.init)(params)
        put_batch = lambda a: a  # noqa: E731
    else:
        replicated, by_batch = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
        p_sh = jax.tree.map(lambda p: NamedSharding(mesh, param_spec(p) if shard_params else P()), params)
        s_sh = state_shardings(jax.eval_shape(TX.init, params), params, p_sh)
        params = jax.device_put(params, p_sh)
        state = jax.jit(TX.init, out_shardings=s_sh)(params)  # created sharded, never gathered
        train_step = jax.jit(step, in_shardings=(p_sh, s_sh, by_batch, by_batch), out_shardings=(p_sh, s_sh, replicated))
        put_batch = lambda a: jax.device_put(a, by_batch)  # noqa: E731
        like_w1 = [leaf.sharding.spec for leaf in jax.tree.leaves(state) if leaf.shape == params["w1"].shape]
        print(f"[{label}] w1 sharded {params['w1'].sharding.spec}; optimizer-state leaves shaped like w1: {like_w1}")
    for i, idx in enumerate(batches, 1):
        params, state, loss = train_step(params, state, put_batch(x[idx]), put_batch(y[idx]))
        if i == 1 or i % max(1, args.steps // 4) == 0 or i == args.steps:
            print(f"[{label}] step {i:4d}  loss {float(loss):.5f}")
    return jax.device_get(params)


def main() -> bool:
    args = ARGS
    if args.batch % args.devices:
        raise SystemExit(f"--batch {args.batch} must be a multiple of --devices {args.devices}")
    if len(jax.devices()) < args.devices:
        raise SystemExit(f"asked for {args.devices} devices, jax sees {len(jax.devices())}: {jax.devices()}")
    if HIDDEN % args.devices:
        raise SystemExit(f"--devices must divide the hidden size {HIDDEN} to shard the weights")
    rng = np.random.default_rng(args.seed)
    x, y = make_data(rng)
    params = init_params(rng)
    # Auto axes: jit decides where to gather sharded weights and reduce gradients.
    mesh = jax.make_mesh((args.devices,), ("data",), axis_types=(jax.sharding.AxisType.Auto,),
                         devices=jax.devices()[: args.devices])
    print(f"{args.devices} devices ({jax.devices()[0].platform}), mesh axes {dict(mesh.shape)}, global batch {args.batch}")

    single = train(params, x, y, args, label="1 device")
    data_parallel = train(params, x, y, args, mesh=mesh, label="data parallel")
    sharded = train(params, x, y, args, mesh=mesh, shard_params=True, label="sharded params+state")

    ok = True
    for name, got in [("data parallel", data_parallel), ("sharded params+state", sharded)]:
        diff = max(float(np.max(np.abs(g - w)) / (np.max(np.abs(w)) + 1e-30))
                   for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(single)))
        ok &= diff <= RTOL
        print(f"{name}: largest relative difference from 1 device {diff:.1e}")
    print(f"sharded == single-device (float32 tolerance, relative {RTOL:.0e}): {ok}")
    print(f"final loss {float(loss_fn(single, x, y)):.5f}")
    return ok


if __name__ == "__main__":
    main()
