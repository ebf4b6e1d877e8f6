"""zoo.monitor (optax's meaning: named measurements) and zoo.record_norms (gradient and
update norms recorded in the state)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import loss, make_params

import jaxopt_zoo as zoo


def test_records_the_norms_of_each_step_during_warmup():
    warmup = zoo.warmup_cosine_decay_schedule(0.0, 1e-2, 20, 100)
    tx = zoo.record_norms(zoo.adamw(warmup))
    params = make_params("float64")
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(loss)(params)
        updates, state = tx.update(grads, state, params)
        return zoo.apply_updates(params, updates), state, optax.tree.norm(grads), optax.tree.norm(updates)

    update_norms = []
    for _ in range(30):
        params, state, g_norm, u_norm = step(params, state)
        assert float(state.grad_norm) == pytest.approx(float(g_norm), rel=1e-12)
        assert float(state.update_norm) == pytest.approx(float(u_norm), rel=1e-12)
        update_norms.append(float(state.update_norm))
    assert update_norms[0] == 0.0  # schedule(0) = 0: the warmup starts from a zero step
    assert np.all(np.diff(update_norms[:15]) > 0)  # the update norm grows during warmup
    assert int(state.count) == 30


def test_bare_monitor_in_a_chain_records_what_reaches_it():
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.record_norms(), zoo.sgd(0.1))
    updates, state = tx.update({"w": jnp.full(4, 10.0)}, tx.init({"w": jnp.zeros(4)}))
    assert float(state[1].grad_norm) == pytest.approx(1.0) and float(state[1].update_norm) == pytest.approx(1.0)


def test_monitor_is_optaxs_monitor():
    """Same call, same measurements as optax.monitor, incl. a stateful (EMA) measure."""
    def measures():
        return {"norm": optax.tree.norm,
                "clipped_ema": optax.measure_with_ema(lambda u: optax.tree.norm(u) > 1.0, decay=0.9)}

    zoo_tx = optax.chain(zoo.sgd(0.1, momentum=0.9), zoo.monitor(measures()), optax.clip_by_global_norm(1.0))
    ref_tx = optax.chain(optax.sgd(0.1, momentum=0.9), optax.monitor(measures()), optax.clip_by_global_norm(1.0))
    params = make_params("float64")
    zs, rs = zoo_tx.init(params), ref_tx.init(params)
    zp = rp = params
    for _ in range(5):
        zu, zs = zoo_tx.update(jax.grad(loss)(zp), zs, zp)
        ru, rs = ref_tx.update(jax.grad(loss)(rp), rs, rp)
        zp, rp = zoo.apply_updates(zp, zu), optax.apply_updates(rp, ru)
        for name in ("norm", "clipped_ema"):
            np.testing.assert_allclose(optax.tree.get(zs, name), optax.tree.get(rs, name), rtol=1e-12)
    assert isinstance(zs[1], zoo.MonitorState) and set(zs[1].measurements) == {"norm", "clipped_ema"}


def test_monitor_state_keeps_its_structure_and_passes_extra_args():
    seen = zoo.GradientTransformation(lambda p: (), lambda u, s, p=None, *, value=0.0, **kw: (jnp.asarray(value, float), s))
    tx = zoo.monitor({"value": seen, "norm": zoo.global_norm})
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    updates, new_state = jax.jit(tx.update)(params, state, params, value=7.0)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)  # scan / donation friendly
    assert updates is not None and float(new_state.measurements["value"]) == 7.0
    assert float(new_state.measurements["norm"]) == pytest.approx(3**0.5)
    with pytest.raises(TypeError, match="monitor: argument `measures\\['bad'\\]`"):
        zoo.monitor({"bad": 3})


def test_monitor_measure_that_needs_value_starts_absent():
    def needs_value(u, s, p=None, *, value, **kw):
        return jnp.asarray(value, float), s

    tx = zoo.monitor({"v": zoo.GradientTransformation(lambda p: (), needs_value), "n": zoo.global_norm})
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    assert set(state.measurements) == {"n"}
    _, state = tx.update(params, state, params, value=3.0)
    assert float(state.measurements["v"]) == 3.0


def test_monitor_of_a_transformation_is_record_norms():
    """DESIGN's `zoo.monitor(tx)` / `zoo.monitor()`: the grad and update norms in the state."""
    params = make_params("float64")
    grads = jax.grad(loss)(params)
    for tx_args in [(zoo.adam(1e-2),), ()]:
        a, b = zoo.monitor(*tx_args), zoo.record_norms(*tx_args)
        ua, sa = a.update(grads, a.init(params), params)
        ub, sb = b.update(grads, b.init(params), params)
        assert type(sa) is zoo.RecordNormsState
        for x, y in zip(jax.tree.leaves((ua, sa)), jax.tree.leaves((ub, sb)), strict=True):
            np.testing.assert_array_equal(x, y)
        assert float(sa.grad_norm) == pytest.approx(float(optax.tree.norm(grads)), rel=1e-12)
    with pytest.raises(TypeError, match=r"monitor.*measures"):
        zoo.monitor(3)
