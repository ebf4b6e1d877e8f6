"""Each building block against optax's block of the same name, side by side."""

import jax
import jax.numpy as jnp
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, make_params, trajectory

import jaxopt_zoo as zoo

MASK = {"scalar": False, "vector": True, "cube": True}


def mask_fn(params):
    return jax.tree.map(lambda x: x.ndim > 0, params)


def pairs():
    """(id, zoo transformation, optax transformation) — each ends in a descent step."""
    lr = 0.05
    yield "clip", zoo.chain(zoo.clip(0.5), zoo.scale(-lr)), optax.chain(optax.clip(0.5), optax.scale(-lr))
    yield ("clip_by_global_norm", zoo.chain(zoo.clip_by_global_norm(1.0), zoo.scale(-lr)),
           optax.chain(optax.clip_by_global_norm(1.0), optax.scale(-lr)))
    yield ("clip_by_block_rms", zoo.chain(zoo.clip_by_block_rms(0.3), zoo.scale(-lr)),
           optax.chain(optax.clip_by_block_rms(0.3), optax.scale(-lr)))
    yield ("trace", zoo.chain(zoo.trace(0.9), zoo.scale(-lr)), optax.chain(optax.trace(0.9), optax.scale(-lr)))
    yield ("trace_nesterov", zoo.chain(zoo.trace(0.8, nesterov=True), zoo.scale(-lr)),
           optax.chain(optax.trace(0.8, nesterov=True), optax.scale(-lr)))
    yield "ema_debias", zoo.chain(zoo.ema(0.9), zoo.scale(-lr)), optax.chain(optax.ema(0.9), optax.scale(-lr))
    yield ("ema_raw", zoo.chain(zoo.ema(0.7, debias=False), zoo.scale(-lr)),
           optax.chain(optax.ema(0.7, debias=False), optax.scale(-lr)))
    yield ("scale_by_adam_amsgrad", zoo.chain(zoo.scale_by_adam(amsgrad=True), zoo.scale(-lr)),
           optax.chain(optax.scale_by_amsgrad(), optax.scale(-lr)))
    yield ("scale_by_rms", zoo.chain(zoo.scale_by_rms(0.9, initial_scale=0.1), zoo.scale(-1e-2)),
           optax.chain(optax.scale_by_rms(0.9, initial_scale=0.1), optax.scale(-1e-2)))
    yield ("scale_by_stddev", zoo.chain(zoo.scale_by_stddev(0.9, initial_scale=1.0), zoo.scale(-1e-2)),
           optax.chain(optax.scale_by_stddev(0.9, initial_scale=1.0), optax.scale(-1e-2)))
    sched = optax.linear_schedule(0.1, 0.01, 80)
    yield ("scale_by_schedule", zoo.chain(zoo.trace(0.5), zoo.scale_by_schedule(lambda t: -sched(t))),
           optax.chain(optax.trace(0.5), optax.scale_by_schedule(lambda t: -sched(t))))
    yield ("scale_by_learning_rate", zoo.chain(zoo.scale_by_rss(), zoo.scale_by_learning_rate(sched)),
           optax.chain(optax.scale_by_rss(), optax.scale_by_learning_rate(sched)))
    yield ("add_decayed_weights_mask_tree", zoo.chain(zoo.add_decayed_weights(0.3, MASK), zoo.scale(-lr)),
           optax.chain(optax.add_decayed_weights(0.3, MASK), optax.scale(-lr)))
    yield ("add_decayed_weights_mask_fn", zoo.chain(zoo.add_decayed_weights(0.3, mask_fn), zoo.scale(-lr)),
           optax.chain(optax.add_decayed_weights(0.3, mask_fn), optax.scale(-lr)))
    yield ("masked_adam_tree", zoo.chain(zoo.masked(zoo.scale_by_adam(), MASK), zoo.scale(-lr)),
           optax.chain(optax.masked(optax.scale_by_adam(), MASK), optax.scale(-lr)))
    yield ("masked_trace_fn", zoo.chain(zoo.masked(zoo.trace(0.9), mask_fn), zoo.scale(-lr)),
           optax.chain(optax.masked(optax.trace(0.9), mask_fn), optax.scale(-lr)))
    labels = {"scalar": "frozen", "vector": "fast", "cube": "slow"}
    yield ("multi_transform",
           zoo.multi_transform({"fast": zoo.adam(3e-2), "slow": zoo.sgd(1e-2, 0.9), "frozen": zoo.set_to_zero()}, labels),
           optax.multi_transform({"fast": optax.adam(3e-2), "slow": optax.sgd(1e-2, 0.9), "frozen": optax.set_to_zero()}, labels))
    yield ("multi_transform_fn",
           zoo.multi_transform({"a": zoo.adam(3e-2), "b": zoo.rmsprop(1e-2)}, lambda p: jax.tree.map(lambda x: "a" if x.ndim == 3 else "b", p)),
           optax.multi_transform({"a": optax.adam(3e-2), "b": optax.rmsprop(1e-2)}, lambda p: jax.tree.map(lambda x: "a" if x.ndim == 3 else "b", p)))


PAIRS = list(pairs())


@pytest.mark.parametrize("name,zoo_tx,optax_tx", PAIRS, ids=[p[0] for p in PAIRS])
def test_block_matches_optax(name, zoo_tx, optax_tx, dtype):
    assert_same_as_optax(zoo_tx, optax_tx, dtype)


def test_masked_leaves_are_untouched_and_hold_no_state():
    params = make_params("float64")
    tx = zoo.masked(zoo.chain(zoo.scale_by_adam(), zoo.scale(-1.0)), MASK)
    state = tx.init(params)
    assert isinstance(state.inner_state[0].mu["scalar"], zoo.MaskedNode)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, _ = tx.update(grads, state, params)
    assert float(updates["scalar"]) == 1.0  # passed through unchanged
    assert not jnp.allclose(updates["vector"], 1.0)


def test_set_to_zero_freezes():
    params = make_params("float64")
    path = trajectory(zoo.set_to_zero(), params, steps=5)
    for k in params:
        assert jnp.array_equal(path[k][-1], params[k])


def test_multi_transform_rejects_unknown_label():
    tx = zoo.multi_transform({"a": zoo.sgd(0.1)}, {"w": "a", "b": "nope"})
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.multi_transform: argument `param_labels`.*'nope'"):
        tx.init({"w": jnp.ones(2), "b": jnp.ones(1)})


def test_global_norm_matches_optax():
    params = make_params("float64")
    assert float(zoo.global_norm(params)) == pytest.approx(float(optax.tree.norm(params)), rel=1e-14)
