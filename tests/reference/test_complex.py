"""split_real_and_imaginary against optax.contrib on complex parameters, side by side."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from tests.reference.harness import assert_trajectories_close, trajectory

import jaxopt_zoo as zoo

SHAPES = {"scalar": (), "vector": (5,), "cube": (2, 3, 4)}


def _params(dtype):
    rng = np.random.default_rng(0)
    cdtype = {"float64": "complex128", "float32": "complex64"}[dtype]
    p = {k: jnp.asarray(rng.uniform(-2, 2, s) + 1j * rng.uniform(-2, 2, s), cdtype) for k, s in SHAPES.items()}
    p["real"] = jnp.asarray(rng.uniform(-2, 2, (3,)), dtype)  # real leaves pass through the wrapper
    return p


def _loss(p):
    total = 0.0
    for x in p.values():
        total = total + jnp.sum(jnp.abs(x - (0.3 - 0.2j)) ** 2 + 0.05 * jnp.abs(x) ** 4 + 0.2 * jnp.cos(jnp.real(x)))
    return total


def _conj(lib):
    """JAX's gradient w.r.t. a complex leaf is the conjugate of the descent direction's."""
    return lib.stateless(lambda u, p: jax.tree.map(jnp.conj, u))


INNER = {
    "adam": (lambda: zoo.adam(3e-2), lambda: optax.adam(3e-2)),
    "lamb": (lambda: zoo.lamb(3e-2, weight_decay=1e-2), lambda: optax.lamb(3e-2, weight_decay=1e-2)),
}


@pytest.mark.parametrize("inner", sorted(INNER))
def test_split_real_and_imaginary_matches_optax(inner, dtype):
    ours, theirs = INNER[inner]
    params = _params(dtype)
    got = trajectory(zoo.chain(_conj(zoo), zoo.split_real_and_imaginary(ours())), params, loss_fn=_loss)
    want = trajectory(optax.chain(_conj(optax), optax.contrib.split_real_and_imaginary(theirs())), params,
                      loss_fn=_loss, apply=optax.apply_updates)
    assert max(float(jnp.max(jnp.abs(want[k][-1] - params[k]))) for k in params) > 0.1
    for k in params:
        assert got[k].dtype == params[k].dtype
    for part in (jnp.real, jnp.imag):
        assert_trajectories_close(jax.tree.map(part, got), jax.tree.map(part, want), dtype)


def test_inner_sees_real_pairs_and_extras_reach_it():
    z = {"z": jnp.array([1.0 + 2.0j, -3.0j]), "r": jnp.array([0.5])}
    tx = zoo.split_real_and_imaginary(zoo.polyak_sgd(max_learning_rate=1.0))
    state = tx.init(z)
    assert isinstance(state, zoo.SplitRealAndImaginaryState)
    u, _ = tx.update(z, state, z, value=jnp.asarray(1.0))  # polyak_sgd needs value=
    assert u["z"].dtype == z["z"].dtype and u["r"].dtype == z["r"].dtype
    # the step is -value / ||g||^2 * g with g the real vector (1, 0, 2, -3) plus 0.5
    np.testing.assert_allclose(np.asarray(u["z"]), -np.array([1.0 + 2.0j, -3.0j]) / 14.25, rtol=1e-6)
    adam = zoo.split_real_and_imaginary(zoo.scale_by_adam())
    inner = adam.init(z).inner_state
    assert isinstance(inner.mu["z"], zoo.SplitRealAndImaginaryArrays) and inner.mu["z"].real.dtype == jnp.real(z["z"]).dtype
