"""The opt-in packed layout gives the very numbers of the default layout (the trajectories are
compared whole, side by side)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import assert_trajectories_close, make_params, trajectory

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

STEPS = 60


def _chain():
    sched = zoo.cosine_decay_schedule(1e-2, 100)
    return zoo.chain(
        zoo.clip_by_global_norm(1.0),
        zoo.scale_by_adam(),
        zoo.add_decayed_weights(1e-2),
        zoo.scale_by_schedule(lambda t: -sched(t)),
    )


MAKERS = {
    "adamw": lambda: zoo.adamw(1e-2, weight_decay=1e-2),
    "sgd_nesterov": lambda: zoo.sgd(1e-2, momentum=0.9, nesterov=True),
    "lion": lambda: zoo.lion(1e-3),
    "w3_chain": _chain,
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_packed_equals_unpacked(name, dtype):
    params = make_params(dtype)
    want = trajectory(MAKERS[name](), params, steps=STEPS)
    got = trajectory(zoo.packed(MAKERS[name]()), params, steps=STEPS)
    assert_trajectories_close(got, want, dtype)


def test_packed_state_layout_and_mixed_dtypes():
    params = {"a": jnp.ones((2, 3), jnp.float32), "b": jnp.zeros(4, jnp.float64), "c": jnp.ones(5, jnp.float32)}
    tx = zoo.packed(zoo.adam(1e-2))
    state = tx.init(params)
    mu = state.inner[0].mu
    assert sorted(mu) == ["float32", "float64"]
    assert [c.shape for c in mu["float32"]] == [(11,)] and [c.shape for c in mu["float64"]] == [(4,)]
    grads = jax.tree.map(lambda x: x + 1, params)
    updates, _ = jax.jit(tx.update)(grads, state, params)
    ref, _ = zoo.adam(1e-2).update(grads, zoo.adam(1e-2).init(params), params)
    for k in params:
        assert updates[k].shape == params[k].shape and updates[k].dtype == params[k].dtype
        np.testing.assert_allclose(updates[k], ref[k], rtol=1e-6)


def test_pack_unpack_round_trip_and_errors():
    tree = {"w": jnp.arange(6.0).reshape(2, 3), "frozen": None, "b": jnp.arange(2, dtype=jnp.int32)}
    flat = zoo.pack_tree(tree)
    back = zoo.unpack_tree(flat, tree)
    assert back["frozen"] is None
    np.testing.assert_array_equal(back["w"], tree["w"])
    np.testing.assert_array_equal(back["b"], tree["b"])
    with pytest.raises(ValueError, match="unpack_tree"):
        zoo.unpack_tree({"float64": (flat["float64"][0].ravel()[:3],), "int32": flat["int32"]}, tree)
    with pytest.raises(ValueError, match="no int32 entry"):
        zoo.unpack_tree({"float64": flat["float64"]}, tree)


def test_chunk_layout():
    """Small leaves share chunks of at most chunk_size elements; a large leaf is its own chunk."""
    tree = {"a": jnp.zeros(3), "b": jnp.zeros(4), "c": jnp.zeros(20), "d": jnp.zeros(2), "e": jnp.zeros(9)}
    flat = zoo.pack_tree(tree, chunk_size=8)
    assert [c.size for c in flat["float64"]] == [7, 20, 2, 9]
    assert [c.shape[0] for c in zoo.pack_tree(tree, chunk_size=None)["float64"]] == [38]
    assert zoo.pack_tree({"w": jnp.zeros((4, 5))}, chunk_size=8)["float64"][0].shape == (4, 5)
    back = zoo.unpack_tree(flat, tree, chunk_size=8)
    assert all(back[k].shape == tree[k].shape for k in tree)
    params = {k: jnp.arange(v.size, dtype=jnp.float64) + i for i, (k, v) in enumerate(tree.items())}
    want = trajectory(zoo.adamw(1e-2), params, steps=5, loss_fn=lambda p: sum(jnp.sum(x**2) for x in p.values()))
    got = trajectory(zoo.packed(zoo.adamw(1e-2), chunk_size=8), params, steps=5, loss_fn=lambda p: sum(jnp.sum(x**2) for x in p.values()))
    assert_trajectories_close(got, want, "float64")


def test_packed_keeps_hyperparams_readable():
    tx = zoo.packed(zoo.inject_hyperparams(zoo.adamw)(learning_rate=zoo.linear_schedule(1.0, 0.0, 10)))
    params = make_params("float64")
    state = tx.init(params)
    _, state = tx.update(params, state, params)
    assert float(zoo.current_hyperparams(state)["learning_rate"]) == pytest.approx(1.0)


def test_packed_params_train_step_equals_default():
    """A training loop that keeps its params packed gives the default trajectory."""
    params = make_params("float64")
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
    from tests.reference.harness import loss

    want = trajectory(zoo.adamw(1e-2), params, steps=STEPS)
    tx = zoo.adamw(1e-2)

    def step(carry, _):
        flat, state = carry
        grads = jax.grad(lambda f: loss(zoo.unpack_tree(f, like, chunk_size=None)))(flat)
        updates, state = tx.update(grads, state, flat)
        flat = zoo.apply_updates(flat, updates)
        return (flat, state), zoo.unpack_tree(flat, like, chunk_size=None)

    flat = zoo.pack_tree(params, chunk_size=None)
    _, got = jax.jit(lambda f, s: jax.lax.scan(step, (f, s), None, length=STEPS))(flat, tx.init(flat))
    assert_trajectories_close(got, want, "float64")


_SHARDED_CHILD = r"""
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import jaxopt_zoo as zoo
from jaxopt_zoo import _registry
assert jax.device_count() == 8
mesh = Mesh(np.array(jax.devices()).reshape(8), ("d",))
sh = NamedSharding(mesh, P("d"))
n = 1 << 20
params = {"big": jax.device_put(jnp.ones((n,), jnp.float32), sh), "small": jax.device_put(jnp.ones((64,), jnp.float32), sh)}
tx = zoo.adamw(1e-3)
state = jax.jit(tx.init)(params)

@jax.jit
def step(p, s, g):
    u, s = tx.update(g, s, p)
    return zoo.apply_updates(p, u), s

params, state = step(params, state, params)
for k in params:
    for leaf in (state[0].mu[k], state[0].nu[k], params[k]):
        assert leaf.sharding.is_equivalent_to(sh, leaf.ndim), (k, leaf.sharding)
print("ok")
"""


def test_sharded_state_stays_sharded_like_params():
    """With 8 devices every state leaf is sharded like its param."""
    from tests._subprocess import run_python
    from tests.conftest import DEFAULT_XLA_FLAGS

    flags = f"{DEFAULT_XLA_FLAGS} --xla_force_host_platform_device_count=8".strip()  # XLA's defaults, 8 devices
    out = run_python(_SHARDED_CHILD, xla_flags=flags, JAX_PLATFORMS="cpu")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_unpack_tree_gradient_is_one_concatenation_per_chunk():
    """The gradient through ``unpack_tree`` is the packed gradient of the tree, computed as one
    concatenation per chunk: autodiff's own transpose of k slices would be k zero-padded
    copies of the chunk, k·n work (52 s a step for 2,048 leaves of 512 on 2 cores)."""
    rng = np.random.default_rng(0)
    tree = {f"w{i}": jnp.asarray(rng.normal(size=(3, i + 1))) for i in range(6)}
    tree["big"] = jnp.asarray(rng.normal(size=(40,)))
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), tree)

    def loss(t):
        return sum(jnp.sum(jnp.sin(x) * (k + 1)) for k, x in enumerate(jax.tree.leaves(t)))

    for chunk_size in (None, 16):
        flat = zoo.pack_tree(tree, chunk_size=chunk_size)
        f = lambda fl: loss(zoo.unpack_tree(fl, like, chunk_size=chunk_size))  # noqa: E731, B023
        got = jax.grad(f)(flat)
        want = zoo.pack_tree(jax.grad(loss)(tree), chunk_size=chunk_size)
        assert jax.tree.structure(got) == jax.tree.structure(want)
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-12)
        jaxpr = str(jax.make_jaxpr(jax.grad(f))(flat))
        assert " pad[" not in jaxpr and "pad(" not in jaxpr
        leaf_shapes = {x.shape for x in jax.tree.leaves(tree)}
        chunks_of_several = sum(1 for c in jax.tree.leaves(flat) if c.shape not in leaf_shapes)
        assert chunks_of_several >= 1
        assert jaxpr.count("concatenate") == chunks_of_several



def test_unpack_tree_leaves_compile_to_one_kernel_per_shape():
    """``unpack_tree`` cuts leaves at offsets XLA cannot fold (see ``_starts``): what consumes
    the leaves compiles to one fused computation per leaf shape, as on per-leaf params, where
    constant offsets made one per leaf (2,048 leaves: 30 s of compile); the numbers, the
    gradient and a vmap over packed trees stay exact."""
    import re

    tree = {f"a{i:02d}": jnp.arange(8, dtype=jnp.float32) + i for i in range(12)}
    tree.update({f"b{i}": jnp.full((2, 4), i, jnp.float32) for i in range(6)})
    tree["i"] = jnp.arange(3, dtype=jnp.int32)
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), tree)
    flat = zoo.pack_tree(tree, chunk_size=None)
    cut = lambda fl: zoo.unpack_tree(fl, like, chunk_size=None)  # noqa: E731

    compiled = jax.jit(lambda fl: [jnp.sin(x) * 3 for x in jax.tree.leaves(cut(fl)) if x.dtype != jnp.int32]).lower(flat).compile()
    text = re.sub(r", metadata=\{[^}]*\}", "", compiled.as_text())
    bodies = re.findall(r"^%fused_computation[^\n]*\{\n(.*?)\n\}", text, flags=re.M | re.S)
    distinct = {re.sub(r"%[\w.\-]+", "%", b) for b in bodies}
    assert len(bodies) >= 18 and len(distinct) <= 3, (len(bodies), len(distinct))  # 2 leaf shapes, the cond's predicate

    for got in (cut(flat), jax.jit(cut)(flat)):
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(tree)):
            assert g.dtype == w.dtype and g.shape == w.shape and np.array_equal(g, w)
    loss = lambda t: sum(jnp.sum(jnp.sin(x) * (k + 1)) for k, x in enumerate(jax.tree.leaves(t)) if x.dtype != jnp.int32)  # noqa: E731
    grads = jax.jit(jax.grad(lambda fl: loss(cut(fl)), allow_int=True))(flat)
    np.testing.assert_array_equal(grads["float32"][0], zoo.pack_tree(jax.grad(loss, allow_int=True)(tree), None)["float32"][0])
    batch = jax.tree.map(lambda x: jnp.stack([x, x + 1]), flat)
    stacked = jax.jit(jax.vmap(cut))(batch)
    for g, w in zip(jax.tree.leaves(stacked), jax.tree.leaves(tree)):
        np.testing.assert_array_equal(g, jnp.stack([w, w + 1]))

# --- which transformations may be packed (DESIGN §9) ----------------------------------------
# Every member of the registry either gives its unpacked numbers when packed or is refused;
# the refused ones are exactly these (a member added later that packs wrongly, or is refused
# without a reason, fails here until it is tagged in jaxopt_zoo._packable's terms).
REFUSED = {"lamb", "lars", "adafactor", "fromage", "novograd", "sm3", "noisy_sgd", "muon", "mars", "adam_mini", "cautious",
           "lbfgs", "torch_compat.Muon", "torch_compat.Adafactor", "torch_compat.LBFGS", "soap", "shampoo", "galore", "dpsgd", "sophia", "kron"}


def _registry_members():
    members = {n: (lambda n=n: _registry.build(n)) for n in _registry.OPTIMIZERS}
    members.update({n: (lambda n=n: _registry.factory(n)(zoo.adam(1e-2), **_registry.WRAPPERS[n].example))
                    for n in _registry.WRAPPERS})
    members.update({e.name: (lambda e=e: _registry.torch_factory(e)(lr=1e-2)) for e in _registry.TORCH_OPTIMIZERS.values()})
    # wrappers and combinators that are not catalogued
    members.update({
        "inject_hyperparams(adamw)": lambda: zoo.inject_hyperparams(zoo.adamw)(
            learning_rate=zoo.linear_schedule(1e-2, 1e-3, 20), weight_decay=1e-2),
        "MultiSteps(adam)": lambda: zoo.MultiSteps(zoo.adam(1e-2), 2).gradient_transformation(),
        "apply_if_finite(record_norms(sgd))": lambda: zoo.apply_if_finite(zoo.record_norms(zoo.sgd(1e-2, momentum=0.9)), 2),
        "chain(adam, reduce_on_plateau)": lambda: zoo.chain(zoo.adam(1e-2), zoo.reduce_on_plateau(patience=2)),
        "masked(adam, True)": lambda: zoo.masked(zoo.adam(1e-2), True),
        "adafactor(factored=False, no block parts)": lambda: zoo.adafactor(
            1e-2, factored=False, clipping_threshold=None, multiply_by_parameter_scale=False),
    })
    return members


def test_every_registry_member_packs_to_its_own_numbers_or_is_refused():
    """All members in one jitted scan per layout (two compiles for the whole zoo)."""
    from tests.reference.harness import loss

    members, refused = {}, set()
    for name, make in _registry_members().items():
        try:
            members[name] = (make(), zoo.packed(make()))
        except ValueError as e:
            assert str(e).startswith("jaxopt_zoo.packed: argument `tx`"), e
            refused.add(name)
    assert refused == REFUSED
    params = make_params("float64")

    def run(which):
        def step(carry, _):
            out, path = {}, {}
            for name, (p, s) in carry.items():
                value, g = jax.value_and_grad(loss)(p)
                extras = {"value": value, **_registry.update_extras(name, value=value, grad=g, value_fn=loss)}
                u, s = members[name][which].update(g, s, p, **extras)
                out[name] = (zoo.apply_updates(p, u), s)
                path[name] = out[name][0]
            return out, path

        start = {name: (params, txs[which].init(params)) for name, txs in members.items()}
        return jax.jit(lambda c: jax.lax.scan(step, c, None, length=STEPS // 2)[1])(start)

    want, got = run(0), run(1)
    for name in members:
        assert_trajectories_close(got[name], want[name], "float64")


@pytest.mark.parametrize("name, make, culprit", [
    ("lamb", lambda: zoo.lamb(1e-2), "lamb, through scale_by_trust_ratio"),
    ("lars", lambda: zoo.lars(1.0), "lars, through scale_by_trust_ratio"),
    ("adafactor", lambda: zoo.adafactor(1e-2), "adafactor, through scale_by_factored_rms"),
    ("adafactor_unfactored_but_clipped", lambda: zoo.adafactor(1e-2, factored=False), "clip_by_block_rms"),
    ("masked", lambda: zoo.masked(zoo.adam(1e-2), {"scalar": True, "vector": False, "cube": True}), "masked"),
    ("masked_fn", lambda: zoo.masked(zoo.adam(1e-2), lambda p: jax.tree.map(lambda _: True, p)), "masked"),
    ("multi_transform", lambda: zoo.multi_transform({"a": zoo.adam(1e-2)}, lambda p: jax.tree.map(lambda _: "a", p)),
     "multi_transform"),
    ("adamw_mask", lambda: zoo.adamw(1e-2, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p)),
     "add_decayed_weights with a mask"),
    ("trust_ratio", lambda: zoo.chain(zoo.scale_by_adam(), zoo.scale_by_trust_ratio()), "scale_by_trust_ratio"),
    ("block_rms", lambda: zoo.chain(zoo.clip_by_block_rms(1.0), zoo.sgd(1e-2)), "clip_by_block_rms"),
    ("param_block_rms", lambda: zoo.scale_by_param_block_rms(), "scale_by_param_block_rms"),
    ("ranger_gc", lambda: zoo.ranger(1e-2, gradient_centralization=True), "centralize_gradients"),
    ("inject_lamb", lambda: zoo.inject_hyperparams(zoo.lamb)(learning_rate=zoo.linear_schedule(1e-2, 0.0, 9)), "lamb"),
    ("lookahead_lars", lambda: zoo.lookahead(zoo.lars(1.0)), "lars"),
    ("multisteps_lamb", lambda: zoo.MultiSteps(zoo.lamb(1e-2), 2), "lamb"),
    ("sam_opaque", lambda: zoo.sam(zoo.sgd(1e-2), opaque_mode=True), "sam(opaque_mode=True)"),
    ("optax", lambda: __import__("optax").adam(1e-2), "not known to act elementwise"),
    ("optax_chain_of_zoo", lambda: __import__("optax").chain(zoo.adam(1e-2)), "not known to act elementwise"),
])
def test_per_leaf_and_unknown_transformations_are_refused_by_name(name, make, culprit):
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.packed: argument `tx` .*got .*" + __import__("re").escape(culprit)):
        zoo.packed(make())


def test_refused_members_would_give_other_numbers():
    """Why they are refused: run on the packed vector, lamb and adafactor change the numbers."""
    params = make_params("float64")
    for make in (lambda: zoo.lamb(1e-2), lambda: zoo.adafactor(1e-2, min_dim_size_to_factor=2)):
        tx = make()
        flat = zoo.pack_tree(params)
        u, _ = tx.update(flat, tx.init(flat), flat)
        want, _ = tx.update(params, tx.init(params), params)
        got = zoo.unpack_tree(u, params)
        assert max(float(jnp.max(jnp.abs(got[k] - want[k]))) for k in params) > 1e-3
