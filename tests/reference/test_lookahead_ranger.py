"""Lookahead and Ranger against optax.lookahead (whose fast weights are our params)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import STEPS, assert_trajectories_close, loss, make_params, trajectory
from tests.reference.zoo_torch_cases import available, centralization_inputs, centralization_reference, load_fixture

import jaxopt_zoo as zoo


def optax_lookahead_fast_path(inner, params, sync_period, alpha, reset_state=False, steps=STEPS):
    """optax's lookahead carries LookaheadParams(fast, slow); gradients are taken at `fast`."""
    tx = optax.lookahead(inner, sync_period=sync_period, slow_step_size=alpha, reset_state=reset_state)
    start = optax.LookaheadParams.init_synced(params)

    def step(carry, _):
        lp, state = carry
        updates, state = tx.update(jax.grad(loss)(lp.fast), state, lp)
        lp = optax.apply_updates(lp, updates)
        return (lp, state), lp.fast

    _, path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((start, tx.init(start)))
    return path


@pytest.mark.parametrize("sync_period,alpha,reset", [(5, 0.5, False), (6, 0.5, False), (3, 0.8, True), (1, 0.3, False)])
def test_lookahead_matches_optax(sync_period, alpha, reset, dtype):
    params = make_params(dtype)
    got = trajectory(zoo.lookahead(zoo.adam(2e-2), sync_period, alpha, reset_state=reset), params)
    want = optax_lookahead_fast_path(optax.adam(2e-2), params, sync_period, alpha, reset)
    assert_trajectories_close(got, want, dtype)


def test_ranger_is_lookahead_over_radam(dtype):
    params = make_params(dtype)
    got = trajectory(zoo.ranger(1e-2), params)
    want = optax_lookahead_fast_path(optax.radam(1e-2, b1=0.95, eps=1e-5), params, 6, 0.5)
    assert_trajectories_close(got, want, dtype)


CENTRALIZATION = load_fixture("centralization")


@pytest.mark.parametrize("case", CENTRALIZATION, ids=lambda c: "x".join(map(str, np.shape(c["grad"]))))
def test_gradient_centralization_equals_pytorch_optimizer(case):
    """Torch layout (out, in, ...) is keep_axis=0; pytorch_optimizer's result is in the fixture."""
    g = np.asarray(case["grad"])
    got, _ = zoo.centralize_gradients(keep_axis=0).update({"g": jnp.asarray(g)}, zoo.EmptyState())
    np.testing.assert_allclose(np.asarray(got["g"]), np.asarray(case["want"]), rtol=1e-13, atol=1e-15)


def test_centralization_fixture_still_equals_live_pytorch_optimizer():
    """The fixture (tools/fixtures/zoo_torch.py) must not rot."""
    assert [np.shape(c["grad"]) for c in CENTRALIZATION] == [g.shape for g in centralization_inputs()]
    if not available("centralization"):  # nothing to compare against: the fixture is the reference here
        assert all(c["want"] for c in CENTRALIZATION)
        return
    for case in CENTRALIZATION:
        np.testing.assert_allclose(centralization_reference(np.asarray(case["grad"])), np.asarray(case["want"]), rtol=1e-15, atol=0)


def test_ranger_with_centralization_matches_composition(dtype):
    params = make_params(dtype)

    def centre(g):
        return g if g.ndim <= 1 else g - g.mean(axis=tuple(range(g.ndim - 1)), keepdims=True)

    gc = optax.GradientTransformation(lambda p: optax.EmptyState(), lambda u, s, p=None: (jax.tree.map(centre, u), s))
    got = trajectory(zoo.ranger(1e-2, gradient_centralization=True), params)
    want = optax_lookahead_fast_path(optax.chain(gc, optax.radam(1e-2, b1=0.95, eps=1e-5)), params, 6, 0.5)
    assert_trajectories_close(got, want, dtype)
