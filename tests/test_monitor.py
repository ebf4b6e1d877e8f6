"""zoo.monitor: gradient and update norms recorded in the state."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from harness import loss, make_params

import jaxopt_zoo as zoo


def test_records_the_norms_of_each_step_during_warmup():
    warmup = zoo.warmup_cosine_decay_schedule(0.0, 1e-2, 20, 100)
    tx = zoo.monitor(zoo.adamw(warmup))
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
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.monitor(), zoo.sgd(0.1))
    updates, state = tx.update({"w": jnp.full(4, 10.0)}, tx.init({"w": jnp.zeros(4)}))
    assert float(state[1].grad_norm) == pytest.approx(1.0) and float(state[1].update_norm) == pytest.approx(1.0)
