"""Checkpoints: every kind of zoo state saves and restores with orbax and with
flax.serialization, and a resumed run equals the uninterrupted one bit for bit."""

import functools

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from tests import _batched

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

K = 6  # steps before the checkpoint, and after it


def loss(p):
    return sum(jnp.sum(0.5 * (x - 0.3) ** 2 + 0.2 * jnp.cos(2 * x)) for x in jax.tree.leaves(p))


# strongly typed leaves (jnp.array(0.7) is weakly typed, and so is every state leaf made like it:
# the first update makes them strong, and a jitted run would compile once more for it)
PARAMS = jax.tree.map(lambda x: jnp.asarray(x, x.dtype),
                      {"w": jnp.linspace(-1.0, 1.0, 8).reshape(2, 4), "b": jnp.array([0.5, -0.2, 0.1]), "s": jnp.array(0.7)})

STATES = {
    "chain": lambda: zoo.chain(zoo.clip_by_global_norm(1.0), zoo.scale_by_adam(), zoo.add_decayed_weights(1e-2),
                               zoo.scale_by_learning_rate(zoo.warmup_cosine_decay_schedule(0.0, 1e-1, 3, 20))),
    "inject_hyperparams": lambda: zoo.inject_hyperparams(zoo.adamw)(
        learning_rate=zoo.linear_schedule(0.1, 0.01, 10), weight_decay=1e-2),
    "reduce_on_plateau": lambda: zoo.chain(zoo.sgd(0.3, momentum=0.9), zoo.reduce_on_plateau(patience=1, factor=0.5)),
    "schedule_free_sgd": lambda: zoo.schedule_free_sgd(0.5, warmup_steps=3),
    "schedule_free_adamw": lambda: zoo.schedule_free_adamw(5e-2, warmup_steps=3, weight_decay=1e-2),
    "lookahead": lambda: zoo.lookahead(zoo.adam(5e-2), sync_period=4),
    "ranger": lambda: zoo.ranger(5e-2),
    "MultiSteps": lambda: zoo.MultiSteps(zoo.adam(5e-2), 4, should_skip_update_fn=zoo.skip_not_finite).gradient_transformation(),
    "apply_if_finite": lambda: zoo.apply_if_finite(zoo.lion(1e-2), 3),
    "masked_multi_transform": lambda: zoo.multi_transform(
        {"a": zoo.masked(zoo.adam(1e-2), {"w": True, "b": False, "s": True}), "b": zoo.set_to_zero()},
        {"w": "a", "b": "a", "s": "b"}),
    "record_norms_adafactor": lambda: zoo.record_norms(zoo.adafactor(1e-2, min_dim_size_to_factor=2)),
}


@functools.cache
def runner(name):
    tx = STATES[name]()

    @jax.jit
    def run(carry):
        def body(carry, t):
            p, s = carry
            value, g = jax.value_and_grad(loss)(p)
            # a NaN at one step exercises apply_if_finite's and MultiSteps' skip counters
            g = jax.tree.map(lambda x: jnp.where(t == 2, jnp.nan, x), g) if name in ("apply_if_finite", "MultiSteps") else g
            u, s = tx.update(g, s, p, value=value)
            return (zoo.apply_updates(p, u), s), None

        return jax.lax.scan(body, carry, jnp.arange(K))[0]

    return tx, run


def assert_bitwise_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)


def check_resume(name, save, restore):
    tx, run = runner(name)
    start = (PARAMS, tx.init(PARAMS))
    uninterrupted = run(run(start))
    middle = run(start)
    template = (jax.tree.map(jnp.zeros_like, PARAMS), tx.init(PARAMS))  # a fresh state, as after a restart
    restored = restore(save(middle), template)
    assert_bitwise_equal(restored, middle)
    assert type(restored[1]) is type(middle[1])
    assert_bitwise_equal(run(restored), uninterrupted)
    assert not all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(middle[0]), jax.tree.leaves(PARAMS)))


@pytest.mark.parametrize("name", sorted(STATES))
def test_flax_serialization_resume_is_bitwise(name):
    def save(tree):
        return flax.serialization.to_bytes(tree)

    def restore(data, template):
        return flax.serialization.from_bytes(template, data)

    check_resume(name, save, restore)


@pytest.mark.parametrize("name", sorted(STATES))
def test_orbax_resume_is_bitwise(name, tmp_path):
    path = tmp_path / "ckpt"

    def save(tree):
        with ocp.StandardCheckpointer() as ckptr:
            ckptr.save(path, tree)
        return path

    def restore(where, template):
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        with ocp.StandardCheckpointer() as ckptr:
            return ckptr.restore(where, abstract)

    check_resume(name, save, restore)


def test_hyperparams_readable_after_restore():
    tx, run = runner("inject_hyperparams")
    middle = run((PARAMS, tx.init(PARAMS)))
    restored = flax.serialization.from_bytes((PARAMS, tx.init(PARAMS)), flax.serialization.to_bytes(middle))
    assert float(zoo.current_hyperparams(restored[1])["learning_rate"]) == float(
        zoo.current_hyperparams(middle[1])["learning_rate"])


def _registry_members():
    """Every catalogued optimizer with its example hyperparameters, and every wrapper around adam."""
    members = {n: _registry.build(n) for n in _registry.OPTIMIZERS}
    members.update({f"{n}(adam)": _registry.factory(n)(zoo.adam(5e-2), **e.example) for n, e in _registry.WRAPPERS.items()})
    return members


def test_orbax_resume_is_bitwise_for_the_whole_registry(tmp_path):
    """All members at once (one checkpoint; 8 members a compiled program, tests/_batched.CHUNK):
    K steps, save, restore into a fresh state, K more steps equal the uninterrupted 2K bit for
    bit (one executable for both). New registry entries join."""
    txs = _registry_members()

    def runner(names):
        def body(carry, _):
            out = {}
            for name, (p, s) in carry.items():
                value, g = jax.value_and_grad(loss)(p)
                extras = _registry.update_extras(name, value=value, grad=g, value_fn=loss)  # lbfgs's
                u, s = txs[name].update(g, s, p, **{"value": value, **extras})  # value= for members that need it
                out[name] = (zoo.apply_updates(p, u), s)
            return out, None

        return names, jax.jit(lambda carry: jax.lax.scan(body, carry, None, length=K)[0],
                              compiler_options=_batched.LLVM_O0)

    runners = [runner(names) for names in _batched.chunks(txs)]

    def run(carry):
        out = {}
        for names, program in runners:
            out.update(program({name: carry[name] for name in names}))
        return out

    start = {name: (PARAMS, tx.init(PARAMS)) for name, tx in txs.items()}
    middle = run(start)
    uninterrupted = run(middle)
    path = tmp_path / "ckpt"
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(path, middle)
    template = {name: (jax.tree.map(jnp.zeros_like, PARAMS), tx.init(PARAMS)) for name, tx in txs.items()}
    with ocp.StandardCheckpointer() as ckptr:
        restored = ckptr.restore(path, jax.tree.map(ocp.utils.to_shape_dtype_struct, template))
    for name in txs:
        assert type(restored[name][1]) is type(middle[name][1]), name
        assert_bitwise_equal(restored[name], middle[name])
    resumed = run(restored)
    for name in txs:
        assert_bitwise_equal(resumed[name], uninterrupted[name])
        assert not all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(middle[name][0]), jax.tree.leaves(PARAMS))), name
