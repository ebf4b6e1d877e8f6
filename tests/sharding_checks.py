"""Sharding checks on 8 simulated CPU devices, run in a subprocess by tests/test_sharding.py.

The device count must be fixed before jax is first imported, so these checks run in their
own process (the rest of the suite keeps one device). Each check records "ok" or the reason
it failed; the result is printed as one JSON object on the last line of stdout.

Run by hand: ``python tests/sharding_checks.py`` (from the repository root).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
warnings.simplefilter("error")  # as in the test suite
# ... and its one exception (pyproject): optimistic_adam warns at construction, as optax's does
warnings.filterwarnings("ignore", message="jaxopt_zoo.optimistic_adam is deprecated")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jaxopt_zoo as zoo  # noqa: E402
from jaxopt_zoo import _registry  # noqa: E402

RESULTS: dict[str, str] = {}
NOTES: dict[str, str] = {}
TIMES: dict[str, float] = {}


def check(name):
    def wrap(fn):
        t0 = time.process_time()
        try:
            fn()
            RESULTS[name] = "ok"
        except Exception:  # noqa: BLE001 - every failure is reported to the test
            RESULTS[name] = traceback.format_exc(limit=6)
        TIMES[name] = round(time.process_time() - t0, 2)
        return fn

    return wrap


assert len(jax.devices()) == 8, jax.devices()
MESH = Mesh(np.array(jax.devices()), ("x",))
# Distinct shapes, so a state leaf is matched to its parameter by shape.
SPECS = {"w": P("x", None), "k": P(None, "x"), "b": P()}
SHAPES = {"w": (16, 6), "k": (3, 8), "b": (5,)}


def make_params(dtype=jnp.float64):
    rng = np.random.default_rng(0)
    return {k: jnp.asarray(rng.uniform(-1, 1, size=s), dtype) for k, s in SHAPES.items()}


def shard(tree):
    return {k: jax.device_put(v, NamedSharding(MESH, SPECS[k])) for k, v in tree.items()}


def loss(p):
    return sum(jnp.sum(0.5 * (x - 0.3) ** 2 + 0.2 * jnp.cos(2 * x)) for x in jax.tree.leaves(p))


def step_fn(tx):
    def step(p, s):
        value, g = jax.value_and_grad(loss)(p)
        u, s = tx.update(g, s, p, value=value, grad=g, value_fn=loss)  # extras: polyak_sgd, lbfgs
        return zoo.apply_updates(p, u), s

    return step


def run(tx, params, steps=2):
    state = jax.jit(tx.init)(params)
    step = jax.jit(step_fn(tx), donate_argnums=(0, 1))
    for _ in range(steps):
        params, state = step(params, state)
    return params, state


def state_problems(name, p, state, by_shape):
    """State leaves shaped like a sharded param must be sharded like it."""
    problems = []
    for k in SHAPES:
        if not p[k].sharding.is_equivalent_to(by_shape[SHAPES[k]], len(SHAPES[k])):
            problems.append(f"param {k}: {p[k].sharding.spec}")
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        where = jax.tree_util.keystr(path)
        if leaf.shape in by_shape and leaf.ndim > 0:
            if not leaf.sharding.is_equivalent_to(by_shape[leaf.shape], leaf.ndim):
                problems.append(f"state{where} {leaf.shape}: {leaf.sharding} instead of {by_shape[leaf.shape].spec}")
        elif leaf.ndim > 0 and leaf.size >= 8 and leaf.sharding.is_fully_replicated:
            NOTES[f"{name}: state{where} {leaf.shape}"] = "replicated (not shaped like any param)"
    if problems:
        raise AssertionError("; ".join(problems))


# for_a_step: dpsgd takes the gradient as a batch of one example, sophia the loss as obj_fn
TXS = {name: _registry.build(name)
       for name in sorted(_registry.OPTIMIZERS)}
TXS.update({
    "MultiSteps": zoo.MultiSteps(zoo.adam(1e-2), 2).gradient_transformation(),
    "apply_if_finite": zoo.apply_if_finite(zoo.adam(1e-2), 2),
    "inject_hyperparams": zoo.inject_hyperparams(zoo.adamw)(learning_rate=zoo.linear_schedule(0.1, 0.0, 10)),
    "record_norms": zoo.record_norms(zoo.lion(1e-2)),
    "reduce_on_plateau": zoo.chain(zoo.adam(1e-2), zoo.reduce_on_plateau()),
})


def all_states_sharded_like_params():
    """One init and one donated step for every optimizer at once (one compile each)."""
    params = {name: shard(make_params()) for name in TXS}
    by_shape = {SHAPES[k]: params["adam"][k].sharding for k in SHAPES}
    states = jax.jit(lambda ps: {n: TXS[n].init(ps[n]) for n in TXS})(params)
    step = jax.jit(lambda ps, ss: {n: step_fn(TXS[n])(ps[n], ss[n]) for n in TXS}, donate_argnums=(0, 1))
    for _ in range(2):
        out = step(params, states)
        params, states = {n: out[n][0] for n in TXS}, {n: out[n][1] for n in TXS}
    for name in TXS:
        check(f"state_sharded_like_params:{name}")(lambda name=name: state_problems(name, params[name], states[name], by_shape))


_t0 = time.process_time()
all_states_sharded_like_params()
TIMES["all_states (one compile)"] = round(time.process_time() - _t0, 2)


# --- sharded equals unsharded for the global reductions -----------------------------------------
REDUCERS = {
    "clip_by_global_norm": lambda: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.sgd(0.1)),
    "lars": lambda: zoo.lars(0.5, weight_decay=1e-3, trust_coefficient=0.02),
    "lamb": lambda: zoo.lamb(1e-2, weight_decay=1e-2),
    "record_norms": lambda: zoo.record_norms(zoo.adam(1e-2)),
    "adafactor": lambda: zoo.adafactor(1e-2, min_dim_size_to_factor=2),
    "adai": lambda: zoo.adai(1e-1),
    # Newton-Schulz on matrices split over devices (w by rows, k by columns); b goes to AdamW.
    "muon": lambda: zoo.muon(2e-2, weight_decay=1e-2, consistent_rms=0.2),
}


def sharded_equals_unsharded(make):
    tx = make()
    single = jax.devices()[0]
    p1, s1 = run(tx, jax.device_put(make_params(), single), steps=4)
    p8, s8 = run(tx, shard(make_params()), steps=4)
    for a, b in zip(jax.tree.leaves((p1, s1)), jax.tree.leaves((p8, s8))):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12, atol=1e-14)


def adafactor_factored_leaves_sharded():
    """Adafactor keeps row/column statistics for a factored param; for a param sharded along
    one axis, the statistic along that axis must be sharded too (not silently replicated)."""
    tx = zoo.adafactor(1e-2, min_dim_size_to_factor=2)
    _, state = run(tx, shard(make_params()))
    factored = next(s for s in jax.tree.leaves(state, is_leaf=lambda n: isinstance(n, zoo.FactoredState))
                    if isinstance(s, zoo.FactoredState))
    described = {}
    for k in ("w", "k"):
        for field in ("v_row", "v_col"):
            leaf = getattr(factored, field)[k]
            described[f"{field}[{k}] {leaf.shape}"] = str(leaf.sharding.spec)
            if leaf.shape == (16,) or leaf.shape == (8,):  # the sharded axis of w (16, 6) or k (3, 8)
                assert not leaf.sharding.is_fully_replicated, (k, field, leaf.sharding)
    NOTES["adafactor factored statistics"] = "; ".join(f"{a}: {b}" for a, b in described.items())


check("adafactor_factored_leaves_sharded")(adafactor_factored_leaves_sharded)


def adafactor_state_type_stable_under_explicit_sharding():
    """Under explicit sharding (types carry shardings) adafactor's state from ``init``, plain
    or jitted, has the type of the state ``update`` returns: the factored statistics were
    replicated at init and sharded after a step, so the state's type changed."""
    from jax.sharding import AxisType

    mesh = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Explicit,))
    tx = zoo.adafactor(1e-2, min_dim_size_to_factor=2)
    with jax.set_mesh(mesh):
        params = {k: jax.device_put(v, NamedSharding(mesh, SPECS[k])) for k, v in make_params().items()}
        update = jax.jit(lambda p, s: tx.update(jax.grad(loss)(p), s, p)[1])
        for how, init in (("plain", tx.init), ("jitted", jax.jit(tx.init))):
            before = init(params)
            after = update(params, before)
            for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(before)[0], jax.tree.leaves(after)):
                assert jax.typeof(a) == jax.typeof(b), f"{how} init: state{jax.tree_util.keystr(path)} {jax.typeof(a)} -> {jax.typeof(b)}"


check("adafactor_state_type_stable_under_explicit_sharding")(adafactor_state_type_stable_under_explicit_sharding)

for _name, _make in REDUCERS.items():
    check(f"sharded_equals_unsharded:{_name}")(lambda _make=_make: sharded_equals_unsharded(_make))


# --- data parallel: pmap / shard_map with pmean equal the single-device step ---------------------
D, BATCH = 6, 64


def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(BATCH, D))
    y = x @ rng.normal(size=D) + 0.1 * rng.normal(size=BATCH)
    return jnp.asarray(x), jnp.asarray(y)


def mse(p, x, y):
    return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)


def dp_params():
    return {"w": jnp.zeros(D), "b": jnp.zeros(())}


TX_DP = lambda: zoo.chain(zoo.clip_by_global_norm(1.0), zoo.adamw(1e-1, weight_decay=1e-2))  # noqa: E731
STEPS_DP = 5


def single_device():
    tx, (x, y), p = TX_DP(), data(), dp_params()
    s = tx.init(p)

    @jax.jit
    def step(p, s):
        u, s = tx.update(jax.grad(mse)(p, x, y), s, p)
        return zoo.apply_updates(p, u), s

    for _ in range(STEPS_DP):
        p, s = step(p, s)
    return p, s


def pmap_pmean():
    tx, (x, y), p = TX_DP(), data(), dp_params()
    n = jax.local_device_count()
    xs, ys = x.reshape(n, -1, D), y.reshape(n, -1)

    def step(p, s, xb, yb):
        g = jax.lax.pmean(jax.grad(mse)(p, xb, yb), "data")
        u, s = tx.update(g, s, p)
        return zoo.apply_updates(p, u), s

    pstep = jax.pmap(step, axis_name="data")
    rep = lambda t: jax.tree.map(lambda a: jnp.broadcast_to(a, (n,) + a.shape), t)  # noqa: E731
    p, s = rep(p), rep(tx.init(p))
    for _ in range(STEPS_DP):
        p, s = pstep(p, s, xs, ys)
    return jax.tree.map(lambda a: a[0], (p, s))


def shard_map_pmean():
    tx, (x, y), p = TX_DP(), data(), dp_params()
    mesh = Mesh(np.array(jax.devices()), ("data",))

    def local_step(p, s, xb, yb):
        g = jax.lax.pmean(jax.grad(mse)(p, xb, yb), "data")
        u, s = tx.update(g, s, p)
        return zoo.apply_updates(p, u), s

    step = jax.jit(jax.shard_map(local_step, mesh=mesh, in_specs=(P(), P(), P("data"), P("data")),
                                 out_specs=(P(), P())))
    s = tx.init(p)
    for _ in range(STEPS_DP):
        p, s = step(p, s, x, y)
    return p, s


def same_as_single(fn):
    want = single_device()
    got = fn()
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


check("data_parallel:pmap_pmean")(lambda: same_as_single(pmap_pmean))
check("data_parallel:shard_map_pmean")(lambda: same_as_single(shard_map_pmean))

print(json.dumps({"results": RESULTS, "notes": NOTES, "cpu_seconds": TIMES}))
sys.stdout.flush()
