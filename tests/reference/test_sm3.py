"""SM3 against optax.sm3 / optax.scale_by_sm3.

optax's SM3 raises an IndexError on a scalar leaf; the zoo treats a scalar as a vector of
length one. So the reference runs on the parity tree with its scalar leaf reshaped to (1,):
the loss is the same function of the same numbers, and the trajectories must agree.
"""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import assert_trajectories_close, make_params, seeded_rng, trajectory

import jaxopt_zoo as zoo


def run_both(zoo_tx, optax_tx, dtype):
    params = make_params(dtype)
    got = trajectory(zoo_tx, params)
    ref_params = dict(params, scalar=params["scalar"].reshape(1))
    want = trajectory(optax_tx, ref_params, apply=optax.apply_updates)
    want["scalar"] = want["scalar"].reshape(-1)
    assert_trajectories_close(got, want, dtype)


@pytest.mark.parametrize("hparams", [dict(learning_rate=0.1), None], ids=["defaults", "random"])
def test_sm3_matches_optax(hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-2, 0.2), momentum=rng.uniform(0, 0.95))
    print(hparams)
    run_both(zoo.sm3(**hparams), optax.sm3(**hparams), dtype)


def test_scale_by_sm3_exponential_average_matches_optax(dtype, request):
    rng = seeded_rng(request.node.name)[0]
    kw = dict(b1=rng.uniform(0, 0.9), b2=rng.uniform(0.9, 0.999), eps=10 ** rng.uniform(-8, -4))
    print(kw)
    run_both(zoo.chain(zoo.scale_by_sm3(**kw), zoo.scale(-0.05)), optax.chain(optax.scale_by_sm3(**kw), optax.scale(-0.05)), dtype)


def test_optax_fails_on_a_scalar_leaf_and_the_zoo_does_not():
    """Pins the one difference: a scalar leaf."""
    params = {"s": jnp.array(1.5)}
    with pytest.raises(IndexError):
        tx = optax.sm3(0.1)
        tx.update(params, tx.init(params), params)
    tx = zoo.sm3(0.1)
    u, state = tx.update(params, tx.init(params), params)
    assert np.isfinite(float(u["s"])) and state[0].mu["s"][0].shape == ()


def test_state_is_one_vector_per_axis():
    tx = zoo.scale_by_sm3()
    state = tx.init({"w": jnp.zeros((3, 4, 5))})
    assert [a.shape for a in state.mu["w"]] == [(3,), (4,), (5,)]
