"""Adafactor against optax, factored (matrix and 3-D leaves) and unfactored (scalar, vector)."""

import jax.numpy as jnp
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, seeded_rng

import jaxopt_zoo as zoo

FIXED = [
    dict(learning_rate=1e-2),  # default min_dim_size_to_factor=128: nothing is factored here
    dict(learning_rate=1e-2, min_dim_size_to_factor=2),  # the 3-D leaf is factored
    dict(learning_rate=2e-2, min_dim_size_to_factor=2, decay_rate=0.7, clipping_threshold=None,
         multiply_by_parameter_scale=False, momentum=0.9, weight_decay_rate=1e-3, eps=1e-20),
    dict(learning_rate=None, min_dim_size_to_factor=3, factored=True),
]


@pytest.mark.parametrize("hparams", FIXED + [None, None], ids=lambda h: "random" if h is None else "-".join(f"{k}={v}" for k, v in h.items()))
def test_matches_optax(hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2), min_dim_size_to_factor=rng.choice([1, 2, 3, 128]),
                       decay_rate=rng.uniform(0.5, 0.9), clipping_threshold=rng.choice([None, 1.0, 0.5]),
                       multiply_by_parameter_scale=rng.random() < 0.5, momentum=rng.choice([None, 0.9]))
    print(hparams)
    if hparams.get("momentum") is not None:  # the momentum EMA is stored in dtype_momentum
        hparams["dtype_momentum"] = jnp.dtype(dtype)
    assert_same_as_optax(zoo.adafactor(**hparams), optax.adafactor(**hparams), dtype)


def test_factored_state_is_memory_light():
    params = {"w": jnp.zeros((256, 512)), "b": jnp.zeros(512)}
    state = zoo.adafactor(1e-3).init(params)[0]
    assert state.v_row["w"].shape == (256,) and state.v_col["w"].shape == (512,)
    assert state.v["w"].shape == (1,) and state.v["b"].shape == (512,)
