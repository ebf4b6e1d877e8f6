"""The Pallas kernels (jaxopt_zoo/_kernels/pallas_*.py) against the unfused path, in interpret
mode on CPU.

Two levels. ``packed_apply`` and ``packed`` with ``JAXOPT_ZOO_PALLAS=interpret`` (the wiring of
transforms/_packed.py) against their own pure-JAX path, over the chains the kernels cover
(Adam, AdamW, NAdam, NAdamW, clip_by_global_norm with a schedule, float32 and bfloat16 moments;
momentum SGD, Lion, RMSprop), one chunk and several: p' (or the update) and the state to 1 ulp.
A one-off run of every chain x dtype x chunking x x64 over 20 steps gave the same (pallas_adam's
docstring, "Numbers").
And the Adam kernel alone on one 1-D chunk against a one-chunk unfused step (float64, ragged and
exact blocks, bfloat16 moments, the update form), to 1 ulp. The kernel's program depends only
on the dtypes and sizes (the hyperparameters arrive at run time), so the cases share few
compilations.

``ZOO_PALLAS_INTERPRET=0`` runs the kernel-level tests compiled for the default backend instead
(on a GPU or TPU, where it is meant to run; never done on this machine).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _numerics
from jaxopt_zoo._kernels import pallas_adam, pallas_common, pallas_lion, pallas_momentum, pallas_rms

# Interpret mode is compared with the unfused path to the ulp: both as XLA's optimized LLVM rounds them.
pytestmark = pytest.mark.llvm_optimized

INTERPRET = os.environ.get("ZOO_PALLAS_INTERPRET", "1") != "0"
STEPS = 6

# name -> hyperparameters; "lr" a float or ("cosine", peak, steps); "clip" a max norm.
CONFIGS = {
    "adam": dict(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, lr=1e-3),
    "adamw_random": dict(b1=0.81, b2=0.95, eps=1e-6, eps_root=1e-9, lr=3e-2, wd=3e-3),
}


def _tx(cfg: dict, state_dtype=None):
    lr = cfg["lr"]
    scale = (zoo.scale_by_schedule(lambda t: -zoo.cosine_decay_schedule(lr[1], lr[2])(t)) if isinstance(lr, tuple)
             else zoo.scale(-lr))
    parts = [zoo.clip_by_global_norm(cfg["clip"])] if "clip" in cfg else []
    parts.append(zoo.scale_by_adam(cfg["b1"], cfg["b2"], cfg["eps"], cfg["eps_root"], mu_dtype=state_dtype,
                                   nesterov=cfg.get("nesterov", False), nu_dtype=state_dtype))
    if "wd" in cfg:
        parts.append(zoo.add_decayed_weights(cfg["wd"]))
    return zoo.chain(*parts, scale)


def _hyper(cfg: dict, g, state, form: int):
    """The kernel's scalars for the step from ``state``, with the unfused path's expressions."""
    f = g.dtype
    adam = state[1 if "clip" in cfg else 0]
    t = _numerics.safe_increment(adam.count)
    if isinstance(cfg["lr"], tuple):
        s = jnp.asarray(-zoo.cosine_decay_schedule(cfg["lr"][1], cfg["lr"][2])(state[-1].count), f)
    else:
        s = -cfg["lr"]
    clip, n, c = 0, 1.0, 1.0
    if "clip" in cfg:
        n, c = _numerics.global_norm(g).astype(f), cfg["clip"]
        clip = jnp.where(n < c, 1.0, 2.0)
    return pallas_adam.hyper_vector(b1=cfg["b1"], b2=cfg["b2"], eps=cfg["eps"], eps_root=cfg["eps_root"], s=s, t=t,
                                    wd=cfg.get("wd"), form=form, clip=clip, n=n, c=c,
                                    nesterov=cfg.get("nesterov", False), dtype=f)


def _run(name, dtype, n, block, state_dtype=None, apply=True, x64=True):
    """Worst disagreements over ``STEPS`` steps: ``{"out": ulps of p' (or u), "m": ulps of m',
    "v": ulps of v'}``."""
    cfg = CONFIGS[name]
    where = 1 if "clip" in cfg else 0  # scale_by_adam's index in the chain's state
    with jax.enable_x64(x64):
        tx = _tx(cfg, state_dtype)
        rng = np.random.default_rng(n)
        p = jnp.asarray(rng.normal(size=n), dtype)
        state = tx.init(p)

        @jax.jit
        def unfused(p, g, state):
            u, new = tx.update(g, state, p)
            return zoo.apply_updates(p, u), u, new

        @jax.jit
        def fused(p, g, state):
            hyper = _hyper(cfg, g, state, form=0)
            call = pallas_adam.adam_apply_chunk_pallas if apply else pallas_adam.adam_chunk_pallas
            return call(p, g, state[where].mu, state[where].nu, hyper, block_size=block, interpret=INTERPRET)

        worst = dict(out=0, m=0, v=0)
        for _ in range(STEPS):
            g = jnp.asarray(rng.normal(size=n) * rng.choice([1e-3, 1.0, 30.0]), dtype)
            want_p, want_u, new = unfused(p, g, state)
            got = fused(p, g, state)
            want = (want_p if apply else want_u, new[where].mu, new[where].nu)
            for key, a, b in zip(("out", "m", "v"), got, want):
                assert a.dtype == b.dtype and a.shape == b.shape
                worst[key] = max(worst[key], _max_ulp(a, b))
            p, state = want_p, new
        return worst


def _max_ulp(a, b) -> int:
    """The largest distance between ``a`` and ``b`` in units in the last place of their dtype."""
    a, b = np.asarray(a), np.asarray(b)
    scale = 1
    if a.dtype == jnp.bfloat16:  # exact in float32, where one bfloat16 ulp is 2**16 float32 ulps
        a, b, scale = a.astype(np.float32), b.astype(np.float32), 1 << 16
    diff = np.testing.assert_array_max_ulp(a, b, maxulp=float(2**62))
    return int(np.max(diff, initial=0)) // scale


# (config, params' dtype, x64, chunk size, block size, moments' dtype, apply form): ragged and
# exact chunks, one block and several, each dtype mode once.
EXACT_CASES = [
    ("adam", "float64", True, 3000, 1024, None, True),  # three blocks, the last ragged
    ("adamw_random", "float32", False, 2048, 1024, None, True),  # two exact blocks
    ("adamw_random", "float32", False, 5000, 2048, "bfloat16", True),  # bfloat16 moments
    ("adamw_random", "float32", False, 3000, 1024, None, False),  # the update form (packed's)
]


@pytest.mark.parametrize("case", EXACT_CASES, ids=lambda c: f"{c[0]}-{c[1]}-x64{int(c[2])}-n{c[3]}-b{c[4]}-{c[5]}-{'apply' if c[6] else 'update'}")
def test_equals_unfused_to_one_ulp(case):
    name, dtype, x64, n, block, state, apply = case
    worst = _run(name, jnp.dtype(dtype), n, block, state_dtype=state and jnp.dtype(state), apply=apply, x64=x64)
    assert max(worst["out"], worst["m"], worst["v"]) <= 1, worst


def test_in_place():
    # p, m and v are aliased to the outputs, so with them donated the step writes over them.
    n = 2500
    x = jnp.linspace(-1, 1, n, dtype=jnp.float32)
    hyper = pallas_adam.hyper_vector(b1=0.9, b2=0.999, eps=1e-8, s=-1e-3, t=1)
    step = jax.jit(lambda p, g, m, v: pallas_adam.adam_apply_chunk_pallas(p, g, m, v, hyper, block_size=1024,
                                                                          interpret=INTERPRET),
                   donate_argnums=(0, 2, 3))
    assert "input_output_aliases=((1, 0), (3, 1), (4, 2))" in str(jax.make_jaxpr(step)(x, x, x, x))
    assert step.lower(x, x, x, x).as_text().count("tf.aliasing_output") == 3
    # The other families' kernels alias p and their state the same way.
    hyper = jnp.zeros(len(pallas_rms.HYPER), jnp.float32)
    jaxpr = str(jax.make_jaxpr(lambda p, g, v, t: pallas_rms.apply_chunk_pallas(p, g, (v, t), hyper, interpret=True))(
        x, x, x, x))
    assert "input_output_aliases=((1, 0), (3, 1), (4, 2))" in jaxpr
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.pallas_lion\.apply_chunk_pallas: hyper must hold 10"):
        pallas_lion.apply_chunk_pallas(x, x, (x,), hyper, interpret=True)
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.pallas_momentum\.apply_chunk_pallas: .*float32"):
        pallas_momentum.apply_chunk_pallas(x, x, (x.astype(jnp.bfloat16),), hyper[:10], interpret=True)


def test_backends_and_bad_input():
    assert pallas_common.pallas_available("gpu") and pallas_common.pallas_available("tpu")
    assert not pallas_common.pallas_available("cpu")
    assert pallas_common.pallas_available() == (jax.default_backend() != "cpu")
    x = jnp.zeros(8, jnp.float32)
    hyper = jnp.zeros(len(pallas_adam.HYPER), jnp.float32)
    with pytest.raises(ValueError, match="block_size"):
        pallas_adam.adam_apply_chunk_pallas(x, x, x, x, hyper, block_size=1000, interpret=True)
    with pytest.raises(ValueError, match="same size|one size"):
        pallas_adam.adam_apply_chunk_pallas(x, x[:4], x, x, hyper, interpret=True)
    with pytest.raises(ValueError, match="hyper"):
        pallas_adam.adam_apply_chunk_pallas(x, x, x, x, hyper[:17], interpret=True)
    with pytest.raises(ValueError, match="kernel"):
        pallas_adam.apply_chunk_pallas("lion_apply", x, x, (x,), hyper, interpret=True)
    if jax.default_backend() == "cpu":
        with pytest.raises(ValueError, match="no Pallas kernel for backend 'cpu'"):
            pallas_adam.adam_apply_chunk_pallas(x, x, x, x, hyper)
    empty = jnp.zeros(0, jnp.float32)
    outs = pallas_adam.adam_apply_chunk_pallas(empty, empty, empty, empty, hyper, interpret=True)
    assert all(o.shape == (0,) for o in outs)
    # The step's static arguments hash alike from call to call: no new compilation for new scalars.
    pallas_adam.adam_chunk_pallas(x, x, x, x, hyper, interpret=True)
    size = pallas_common._call._cache_size()
    pallas_adam.adam_chunk_pallas(x, x, x, x, hyper + 1, interpret=True)
    assert pallas_common._call._cache_size() == size


@pytest.mark.parametrize("platform", ["cuda", "rocm", "tpu"])
def test_lowers_for_gpu_and_tpu(platform):
    # No GPU or TPU here, but Pallas lowers the kernel for them all the same: to Triton IR for
    # GPUs, to Mosaic for a TPU (given an abstract TPU device). This checks what the kernel
    # asks of those backends (power-of-two shapes for Triton, scalars in SMEM on TPU), not the
    # device compilers' later passes.
    from jax._src import mesh as mesh_lib

    n = 5000
    x = jnp.zeros(n, jnp.float32)
    hyper = pallas_adam.hyper_vector(b1=0.9, b2=0.999, eps=1e-8, s=-1e-3, t=1)
    target = "tpu" if platform == "tpu" else "gpu"
    device = mesh_lib.AbstractDevice(device_kind="TPU v5 lite", num_cores=1, platform="tpu")
    mesh = jax.sharding.AbstractMesh((1,), ("x",), abstract_device=device if target == "tpu" else None)
    for state, apply in ((jnp.float32, True), (jnp.bfloat16, True), (jnp.float32, False)):
        m = x.astype(state)
        with jax.sharding.use_abstract_mesh(mesh):
            traced = pallas_common._call.trace(x, x, (m, m), hyper, step=pallas_adam._step, name="k",
                                               block_size=pallas_common.BLOCK_SIZE[target], platform=target,
                                               alias_p=apply, static=(("apply", apply),))
            text = traced.lower(lowering_platforms=(platform,)).as_text()
        assert ("tpu_custom_call" if target == "tpu" else "xla.gpu.triton") in text
    # The in-place kernels of momentum SGD, Lion and RMSprop (with momentum: two state arrays).
    for family, step, n_state in ((pallas_momentum, pallas_momentum._step, 1), (pallas_lion, pallas_lion._step, 1),
                                  (pallas_rms, pallas_rms._step_momentum, 2)):
        hyper = jnp.zeros(len(family.HYPER), jnp.float32)
        with jax.sharding.use_abstract_mesh(mesh):
            traced = pallas_common._call.trace(x, x, (x,) * n_state, hyper, step=step, name="k",
                                               block_size=pallas_common.BLOCK_SIZE[target], platform=target)
            text = traced.lower(lowering_platforms=(platform,)).as_text()
        assert ("tpu_custom_call" if target == "tpu" else "xla.gpu.triton") in text


# ------------------------------------- packed_apply and packed through the Pallas kernel (the wiring)


def _clip_chain(nesterov: bool, state=None):
    sched = zoo.cosine_decay_schedule(1e-2, 40)
    return zoo.chain(zoo.clip_by_global_norm(0.5),
                     zoo.scale_by_adam(0.8, 0.95, 1e-7, 1e-9, mu_dtype=state, nu_dtype=state, nesterov=nesterov),
                     zoo.add_decayed_weights(1e-2), zoo.scale_by_schedule(lambda t: -sched(t)))


# The chains the Adam kernel covers, with the moments' dtype ``state`` (None: the params').
CHAINS = {
    "adam": lambda state: zoo.adam(3e-2, b1=0.81, b2=0.95, eps=1e-6, eps_root=1e-9, mu_dtype=state, nu_dtype=state),
    "adamw": lambda state: zoo.adamw(1e-2, weight_decay=1e-2, mu_dtype=state, nu_dtype=state),
    "nadam": lambda state: zoo.nadam(1e-3, mu_dtype=state, nu_dtype=state),
    "nadamw": lambda state: zoo.nadamw(1e-3, weight_decay=1e-2, mu_dtype=state, nu_dtype=state),
    "clip_adamw_schedule": lambda state: _clip_chain(False, state),
    "clip_nadamw_schedule": lambda state: _clip_chain(True, state),
    # the other in-place kernels (float32 state only)
    "sgd_momentum": lambda _: zoo.sgd(1e-2, momentum=0.9),
    "sgd_nesterov_schedule": lambda _: zoo.sgd(zoo.cosine_decay_schedule(1e-2, 40), momentum=0.8, nesterov=True),
    "clip_coupled_decay_momentum": lambda _: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.add_decayed_weights(1e-2),
                                                       zoo.trace(0.9), zoo.scale(-1e-2)),
    "nesterov_decoupled_decay": lambda _: zoo.chain(zoo.trace(0.95, nesterov=True), zoo.add_decayed_weights(1e-3),
                                                    zoo.scale(-3e-3)),
    "lion_schedule": lambda _: zoo.lion(zoo.cosine_decay_schedule(3e-4, 40), b1=0.8, b2=0.95, weight_decay=0.1),
    "clip_lion": lambda _: zoo.chain(zoo.clip_by_global_norm(1.0), zoo.scale_by_lion(), zoo.add_decayed_weights(1e-2),
                                     zoo.scale(-1e-3)),
    "rmsprop": lambda _: zoo.rmsprop(1e-3),
    "rmsprop_torch_eps_schedule": lambda _: zoo.rmsprop(zoo.cosine_decay_schedule(3e-3, 40), decay=0.95, eps=1e-6,
                                                        eps_in_sqrt=False),
    "clip_decay_rms": lambda _: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.add_decayed_weights(1e-2),
                                          zoo.scale_by_rms(), zoo.scale(-1e-3)),
    "clip_rms_momentum": lambda _: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_rms(0.95), zoo.scale(-1e-3),
                                             zoo.trace(0.9)),
    "rmsprop_nesterov": lambda _: zoo.rmsprop(1e-3, decay=0.8, momentum=0.7, nesterov=True),
}


def _compile(mode: str, fn0, *args):
    """``fn`` jitted and compiled with ``JAXOPT_ZOO_PALLAS=mode`` and the CPU kernels off (read
    while it is traced), and whether it calls a Pallas kernel. A new function each time: jit
    caches traces by function."""
    old = {k: os.environ.get(k) for k in ("JAXOPT_ZOO_PALLAS", "JAXOPT_ZOO_KERNELS")}
    os.environ.update(JAXOPT_ZOO_PALLAS=mode, JAXOPT_ZOO_KERNELS="0")
    fn = lambda *args: fn0(*args)  # noqa: E731
    try:
        uses_pallas = "pallas_call" in str(jax.make_jaxpr(fn)(*args))
        return jax.jit(fn).lower(*args).compile(), uses_pallas
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _packed_ulps(name: str, state, chunk_size, x64: bool, apply: bool = True, steps: int = STEPS) -> dict:
    """Worst ulps over ``steps`` steps between ``packed_apply`` (``apply``; else ``packed(tx)``'s
    update) through the Pallas kernel in interpret mode and its pure-JAX path, from the
    same params and state at every step: ``{"p": ulps of p' (of the update u), "state": of the moments}``."""
    with jax.enable_x64(x64):
        tx = CHAINS[name](state)
        rng = np.random.default_rng(7)
        # Three chunks of 2048 (one a 2-D leaf of its own, ragged tails) or one of 5700.
        tree = {"a": jnp.asarray(rng.normal(size=3000), jnp.float32),
                "b": jnp.asarray(rng.normal(size=(40, 50)), jnp.float32),
                "c": jnp.asarray(rng.normal(size=700), jnp.float32)}
        if apply:
            params = zoo.pack_tree(tree, chunk_size)
            opt_state = tx.init(params)

            def step(g, s, p):
                return zoo.packed_apply(tx, g, s, p)
        else:
            ptx, params = zoo.packed(tx, chunk_size), tree
            opt_state = ptx.init(params)

            def step(g, s, p):  # the updates: apply_updates would contract p + u of the unfused path only
                return ptx.update(g, s, p)
        unfused, off = _compile("0", step, params, opt_state, params)
        fused, on = _compile("interpret", step, params, opt_state, params)
        assert on and not off
        worst = {"p": 0, "state": 0}
        for _ in range(steps):
            g = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape) * rng.choice([1e-3, 1.0, 30.0]), x.dtype),
                             params)
            (want_p, want_s), (got_p, got_s) = unfused(g, opt_state, params), fused(g, opt_state, params)
            for key, got, want in (("p", got_p, want_p), ("state", got_s, want_s)):
                for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
                    assert a.dtype == b.dtype and a.shape == b.shape
                    if jnp.issubdtype(a.dtype, jnp.floating):
                        worst[key] = max(worst[key], _max_ulp(a, b))
                    else:
                        np.testing.assert_array_equal(a, b)
            params, opt_state = (want_p if apply else zoo.apply_updates(params, want_p)), want_s
        return worst


# (chain, moments' dtype, chunk_size, x64, apply form): with x64 off and several chunks the ratio
# takes its other form (``form`` 1); 2048: three chunks, one of them a 2-D leaf.
PACKED_CASES = [
    ("adamw", None, 2048, False, True),
    ("adam", "bfloat16", None, False, True),
    ("nadam", None, None, False, True),
    ("nadamw", "bfloat16", 2048, False, True),
    ("clip_adamw_schedule", None, 2048, False, True),
    ("clip_nadamw_schedule", "bfloat16", None, False, True),
    ("nadamw", None, None, True, True),
    ("clip_adamw_schedule", None, None, False, False),  # packed's update form
    ("sgd_nesterov_schedule", None, 2048, False, True),
    ("clip_lion", None, 2048, False, True),
    ("rmsprop_nesterov", None, 2048, False, True),
    ("rmsprop_torch_eps_schedule", None, None, True, True),
    ("clip_nadamw_schedule", None, 2048, False, True),
    ("clip_rms_momentum", None, 2048, False, True),
]


@pytest.mark.parametrize("case", PACKED_CASES, ids=lambda c: f"{c[0]}-{c[1] or 'float32'}-c{c[2]}-x64{int(c[3])}-{'apply' if c[4] else 'update'}")
def test_packed_through_pallas_equals_unfused_to_one_ulp(case):
    name, state, chunk_size, x64, apply = case
    worst = _packed_ulps(name, state and jnp.dtype(state), chunk_size, x64, apply)
    assert max(worst["p"], worst["state"]) <= 1, worst


def test_packed_apply_lowers_to_triton_on_a_gpu_backend(monkeypatch):
    # The device dispatch: with the default backend taken for a GPU, packed_apply calls one
    # Triton kernel per chunk (two here), lowered for CUDA -- what would run on a GPU (never run here).
    monkeypatch.setenv("JAXOPT_ZOO_PALLAS", "1")
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    with jax.enable_x64(False):
        flat = zoo.pack_tree({"a": jnp.ones(3000, jnp.float32), "b": jnp.ones((40, 50), jnp.float32)}, 2048)
        for tx in (zoo.adamw(1e-3), zoo.lion(1e-3), zoo.rmsprop(1e-3, momentum=0.9)):
            state = tx.init(flat)
            traced = jax.jit(lambda g, s, p, tx=tx: zoo.packed_apply(tx, g, s, p)).trace(flat, state, flat)
            assert traced.lower(lowering_platforms=("cuda",)).as_text().count("xla.gpu.triton") == 2


def test_per_leaf_grads_are_packed_for_the_pallas_kernel(monkeypatch):
    # packed_apply's per-leaf grads have a multi-tensor form only in the CPU kernels: through
    # Pallas they are packed first, and the step is the one of the packed grads.
    monkeypatch.setenv("JAXOPT_ZOO_PALLAS", "interpret")
    with jax.enable_x64(False):
        tree = {"a": jnp.linspace(-1, 1, 1500, dtype=jnp.float32), "b": jnp.ones((30, 20), jnp.float32)}
        flat = zoo.pack_tree(tree)
        tx = zoo.lion(1e-3)
        state = tx.init(flat)
        step = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))
        assert "pallas_call" in str(jax.make_jaxpr(step)(tree, state, flat))
        got, want = step(tree, state, flat), step(zoo.pack_tree(tree), state, flat)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_array_equal(a, b)
