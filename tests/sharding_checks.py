"""Sharding checks on 8 simulated CPU devices, run in a subprocess by tests/test_sharding.py.

The device count must be fixed before jax is first imported, so these checks run in their
own process (the rest of the suite keeps one device). Each check records "ok" or the reason
it failed; the result is printed as one JSON object on the last line of stdout.

Run by hand: ``python tests/sharding_checks.py`` (from the repository root).
"""

from __future__ import annotations

import json
import math
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


# --- matrix preconditioners: float32 sharded equals unsharded; spreading their matrix work -----
# (issue 17) soap / shampoo / kron on the sharded tree (w split by rows, k by columns) in
# float32: the sharded run equals the single-device one to float32 rounding (the statistics are
# per-shard partial sums plus an all-reduce, so their last bits differ); muon's is
# sharded_equals_unsharded:muon above (float64, 1e-12). soap and shampoo run sharded *with*
# spread=MESH (FSDP params, the factor work spread; the spread path equals the unspread one bit
# for bit, spread_equals_unspread below), and their factor matrices (statistics, bases, roots)
# must come out replicated, the layout spread pins; kron's are recorded in the notes (XLA's
# propagation places them; see docs/multi-device.md). soap runs with max_precondition_dim=6 so
# that every basis it builds comes from a statistic with simple eigenvalues (see _soap.py:
# otherwise the eigenvectors of a repeated eigenvalue, and so the steps, depend on the last
# bits); shampoo with matrix_eps=0.1, so that its inverse roots are well conditioned in float32.
# kron runs one step (its compile is the heaviest; every step of the first 500 refits its
# factors). Two compiles per member, to keep the subprocess short.
F32_MATRIX = {
    "soap": (lambda **kw: zoo.soap(2e-2, max_precondition_dim=6, precondition_frequency=2, **kw), 3),
    "shampoo": (lambda **kw: zoo.shampoo(2e-2, matrix_eps=1e-1, **kw), 3),
    "kron": (lambda **kw: zoo.kron(1e-2, seed=3, **kw), 1),
}


def assert_close_f32(got, want, what):
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(want)[0], jax.tree.leaves(got)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, (what, jax.tree_util.keystr(path), a.dtype, b.dtype)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-6, err_msg=f"{what}: {jax.tree_util.keystr(path)}")
        else:
            np.testing.assert_array_equal(b, a, err_msg=f"{what}: {jax.tree_util.keystr(path)}")


def factor_shardings(state):
    """The (d, d) state leaves not shaped like a param (statistics, bases, roots, factors)."""
    params = set(SHAPES.values())
    return {jax.tree_util.keystr(path): leaf.sharding for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]
            if leaf.ndim == 2 and leaf.shape[0] == leaf.shape[1] and leaf.shape not in params}


def f32_sharded_equals_unsharded(name):
    make, steps = F32_MATRIX[name]
    spread = {"spread": MESH} if name in ("soap", "shampoo") else {}
    single = run(make(), jax.device_put(make_params(jnp.float32), jax.devices()[0]), steps=steps)
    sharded = run(make(**spread), shard(make_params(jnp.float32)), steps=steps)
    assert_close_f32(sharded, single, "sharded" + (", spread" if spread else ""))
    if spread:
        for where, sharding in factor_shardings(sharded[1]).items():
            assert sharding.is_fully_replicated, (where, sharding)
    else:
        NOTES[f"{name}: factor shardings"] = ", ".join(f"{k} {v.spec}" for k, v in factor_shardings(sharded[1]).items())


for _name in F32_MATRIX:
    check(f"f32_sharded_equals_unsharded:{_name}")(lambda _name=_name: f32_sharded_equals_unsharded(_name))


# Spread: 8 equal (6, 6) layers, params replicated over the mesh (data
# parallel). Without spread every device runs all 16 eigh/QR/SVD (soap, shampoo: two axes per
# layer) or all 8 Newton-Schulz chains (muon); with spread=MESH each device runs 2 (resp. 1),
# which the compiled per-device program shows: the LAPACK custom calls / the Newton-Schulz dots
# on 6x6 matrices carry a leading batch of 16/8 (resp. 8/8). kron (4 layers, its compile is the
# heaviest) spreads the steps of its 8 triangular factors after the Gram matrices: the 6x6 dots
# in its scope ``kron_factor_step`` go from 8 to 1 per device; it runs each device's share one
# job after the other (lax.map), so the ops are the unbatched ones and the bits equal.
LAYERS = 8
SPREAD_KW = {
    "soap": (lambda **kw: zoo.soap(2e-2, precondition_frequency=2, **kw), ("syevd", "geqrf"), LAYERS * 2),
    "shampoo": (lambda **kw: zoo.shampoo(2e-2, matrix_eps=1e-2, **kw), ("gesdd",), LAYERS * 2),
    "muon": (lambda **kw: zoo.muon(2e-2, **kw), ("dot",), LAYERS),
    "kron": (lambda **kw: zoo.kron(2e-2, seed=3, **kw), ("kron_factor_step",), 4 * 2),
}
SPREAD_LAYERS = {"kron": 4}


def spread_params(layers=LAYERS):
    rng = np.random.default_rng(2)
    tree = {f"layer{i}": rng.uniform(-1, 1, size=(6, 6)) for i in range(layers)}
    return jax.device_put({k: jnp.asarray(v, jnp.float32) for k, v in tree.items()}, NamedSharding(MESH, P()))


def matrices_per_device(text, ops):
    """Per op kind, the 6x6 matrices the compiled per-device program ``text`` works on: the sum
    of the leading batch (1 when unbatched) over the LAPACK calls / dots with a 6x6 result; for
    ``kron_factor_step`` the dots in that scope, times the trip count of the loop that runs a
    device's share (the loop is gone when the share is one job)."""
    import re

    counts = {}
    for op in ops:
        pattern = (r"= f32\[((?:\d+,)?)6,6\]\S* dot\(" if op == "dot"
                   else r"= f32\[((?:\d+,)?)6,6\]\S* dot\([^\n]*" + op if op == "kron_factor_step"
                   else r"= \(f32\[((?:\d+,)?)6,6\]\S*, [^=]*custom_call_target=\"lapack_s" + op)
        counts[op] = sum(int(b[:-1]) if b else 1 for b in re.findall(pattern, text))
        if op == "kron_factor_step":
            counts[op] *= math.prod(int(n) for n in re.findall(
                r'op_name="[^"]*shard_map/while"[^\n]*"known_trip_count":\{"n":"(\d+)"', text))
    return counts


def spread_equals_unspread(name):
    make, ops, jobs = SPREAD_KW[name]
    per_device = -(-jobs // len(jax.devices()))
    layers = SPREAD_LAYERS.get(name, LAYERS)
    p0, s0, text0 = run_compiled(make(), spread_params(layers))
    p1, s1, text1 = run_compiled(make(spread=MESH), spread_params(layers))
    exact = name != "muon"
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path((p0, s0))[0], jax.tree.leaves((p1, s1))):
        if exact:  # one LAPACK call / unbatched op chain per matrix either way: the same bits
            np.testing.assert_array_equal(np.asarray(b), np.asarray(a), err_msg=jax.tree_util.keystr(path))
        else:  # batched and unbatched dots of XLA:CPU round apart in the last bit
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7, err_msg=jax.tree_util.keystr(path))
    before, after = matrices_per_device(text0, ops), matrices_per_device(text1, ops)
    NOTES[f"spread:{name}"] = f"6x6 matrices per device, unspread {before}, spread {after}"
    for op in ops:
        assert before[op] >= jobs, (op, before)
        assert 0 < after[op] <= before[op] * per_device // jobs, (op, before, after)


def run_compiled(tx, params, steps=3):
    """``run``, and the text of the compiled step (compiled once)."""
    state = jax.jit(tx.init)(params)
    step = jax.jit(step_fn(tx)).lower(params, state).compile()
    for _ in range(steps):
        params, state = step(params, state)
    return params, state, step.as_text()


for _name in SPREAD_KW:
    check(f"spread_equals_unspread:{_name}")(lambda _name=_name: spread_equals_unspread(_name))


# --- packed_apply's in-place kernels, one per shard ---------------------------------------------
# float32 params packed with chunk_size=1000: "w" (64, 16) is a chunk of its own, sharded along its
# columns, "b" (64,) too, sharded along its one axis. With JAXOPT_ZOO_KERNELS=1 each chunk's
# kernel runs on each device's shard (the clipping norm is XLA's sharded reduction, computed before).
PACKED_SPECS = {"b": P("x"), "w": P(None, "x")}
KERNELS_ENV = os.environ.get("JAXOPT_ZOO_KERNELS")  # "0": the fallback-only run, which these checks keep
KERNELS_OFF = KERNELS_ENV == "0"


def kernels_on():
    os.environ["JAXOPT_ZOO_KERNELS"] = "0" if KERNELS_OFF else "1"


def kernels_restored():
    if KERNELS_ENV is None:
        os.environ.pop("JAXOPT_ZOO_KERNELS", None)
    else:
        os.environ["JAXOPT_ZOO_KERNELS"] = KERNELS_ENV
PACKED = {
    "adamw": ("adam_apply", lambda: zoo.adamw(1e-2, weight_decay=1e-2)),
    "clip_adamw": ("adam_apply", lambda: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(b2=0.98),
                                                   zoo.add_decayed_weights(1e-2), zoo.scale(-1e-2))),
    "amsgrad": ("amsgrad_apply", lambda: zoo.amsgrad(1e-2)),
    "inject_sgd_nesterov": ("momentum_apply", lambda: zoo.inject_hyperparams(zoo.sgd)(
        learning_rate=1e-2, momentum=0.9, nesterov=True)),
    "clip_rmsprop_centered_momentum": ("rms_centered_momentum_apply", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.scale_by_stddev(0.95), zoo.scale(-1e-2), zoo.trace(0.9))),
}


def packed_params(seed=2):
    rng = np.random.default_rng(seed)
    return zoo.pack_tree({"b": jnp.asarray(rng.normal(size=64), jnp.float32),
                          "w": jnp.asarray(rng.normal(size=(64, 16)), jnp.float32)}, chunk_size=1000)


def packed_shard(flat):
    return {"float32": tuple(jax.device_put(c, NamedSharding(MESH, PACKED_SPECS[k]))
                             for k, c in zip(("b", "w"), flat["float32"]))}


def packed_run(tx, place, fused):
    """Three donated steps of ``packed_apply`` (``fused``) or update + apply_updates on the
    params and grads placed by ``place``; the compiled text. The grads are inputs (computed in
    the step, XLA would round them otherwise in each program)."""

    def step(p, s, g):
        if fused:
            return zoo.packed_apply(tx, g, s, p)
        u, s = tx.update(g, s, p)
        return zoo.apply_updates(p, u), s

    flat = place(packed_params())
    state = jax.jit(tx.init)(flat)
    compiled = jax.jit(step, donate_argnums=(0, 1)).lower(flat, state, flat).compile()
    for i in range(3):
        old = jax.tree.leaves((flat, state))
        flat, state = compiled(flat, state, place(packed_params(10 + i)))
    assert all(x.is_deleted() for x in old if x.ndim), "donated buffers were copied"
    return flat, state, compiled.as_text()


def assert_packed_equal(got, want):
    """Bit for bit with the kernels; without them (the fallback-only run) to float32 rounding:
    XLA's program for the sharded step rounds otherwise than its unsharded one (by up to 5 ulp,
    measured), the kernel does not."""
    for a, b in zip(got, want):
        if KERNELS_OFF:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def packed_apply_per_shard(name):
    kernel, make = PACKED[name]
    target = zoo._kernels.KERNELS[kernel][2]
    kernels_on()
    try:
        assert zoo._kernels.available(kernel) is not KERNELS_OFF, "the kernel is not built here"
        tx = make()
        p8, s8, text = packed_run(tx, packed_shard, fused=True)
        p1, s1, text1 = packed_run(tx, lambda f: jax.device_put(f, jax.devices()[0]), fused=True)
    finally:
        kernels_restored()
    want8, wants8, _ = packed_run(tx, packed_shard, fused=False)
    # Each device runs the kernel on its own shards: b's 64 / 8 and w's (64, 16 / 8).
    calls = [line for line in text.splitlines() if f'custom_call_target="{target}"' in line]
    assert KERNELS_OFF or (len(calls) == 2 and any("f32[8]" in c for c in calls) and any("f32[64,2]" in c for c in calls)), calls
    assert "all-gather" not in text, "the buffers are gathered"
    assert (f'custom_call_target="{target}"' in text1) is not KERNELS_OFF
    # Sharded like the params; the same numbers as unsharded (bit for bit: see NOTES) and as
    # update + apply_updates (the suite's compile flags round those otherwise than the kernel).
    for spec, leaf in zip(PACKED_SPECS.values(), p8["float32"]):
        assert leaf.sharding.spec == spec, leaf.sharding
    for a, b in zip(jax.tree.leaves((s8, p8)), jax.tree.leaves((wants8, want8))):
        if a.ndim:
            assert a.sharding.is_equivalent_to(b.sharding, a.ndim), (a.sharding, b.sharding)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    if "clip" in name:
        # The clipping norm is a sum over the shards, in another order than on one device: the
        # trajectories part by a few float32 roundings (recorded, compared above to update + apply).
        ulps = [int(np.max(np.abs(np.asarray(a).view(np.int32).astype(np.int64) - np.asarray(b).view(np.int32))))
                for a, b in zip(p8["float32"], p1["float32"])]
        NOTES[f"packed_apply_per_shard:{name}"] = f"params after 3 steps, sharded vs unsharded kernel: {ulps} ulp"
        return
    assert_packed_equal(jax.tree.leaves((p8, s8)), jax.tree.leaves((p1, s1)))


for _name in PACKED:
    check(f"packed_apply_per_shard:{_name}")(lambda _name=_name: packed_apply_per_shard(_name))


def packed_apply_per_shard_explicit():
    """Under explicit sharding (the types carry it) the kernel runs under shard_map over it."""
    from jax.sharding import AxisType

    tx = PACKED["adamw"][1]()
    mesh = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Explicit,))
    kernels_on()
    try:
        p1, s1, _ = packed_run(tx, lambda f: jax.device_put(f, jax.devices()[0]), fused=True)
        with jax.set_mesh(mesh):
            place = lambda f: {"float32": tuple(jax.device_put(c, PACKED_SPECS[k]) for k, c in zip(("b", "w"), f["float32"]))}  # noqa: E731
            p8, s8, text = packed_run(tx, place, fused=True)
    finally:
        kernels_restored()
    calls = [line for line in text.splitlines() if 'custom_call_target="jaxopt_zoo_adam_apply_f32"' in line]
    assert KERNELS_OFF or len(calls) == 2 and any("f32[8]" in c for c in calls) and any("f32[64,2]" in c for c in calls), calls
    for spec, leaf in zip(PACKED_SPECS.values(), p8["float32"] + s8[0].mu["float32"]):
        assert leaf.sharding.spec == spec, leaf.sharding
    assert_packed_equal(jax.tree.leaves((p8, s8)), jax.tree.leaves((p1, s1)))


check("packed_apply_per_shard:explicit_adamw")(packed_apply_per_shard_explicit)


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
