"""Yogi (and scale_by_yogi) against optax, default and random hyperparameters."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"yogi": [dict(learning_rate=3e-2)]}  # defaults; the random draw covers the rest


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_yogi_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 5e-2), b1=rng.uniform(0, 0.99), b2=rng.uniform(0.5, 0.9999),
                       eps=10 ** rng.uniform(-6, -2))
    print(hparams)
    assert_same_as_optax(zoo.yogi(**hparams), optax.yogi(**hparams), dtype)


def test_scale_by_yogi_extra_arguments_match_optax(dtype, request):
    rng = seeded_rng(request.node.name)[0]
    kw = dict(b1=rng.uniform(0.5, 0.95), b2=rng.uniform(0.9, 0.999), eps=1e-4, eps_root=rng.uniform(1e-8, 1e-4),
              initial_accumulator_value=rng.uniform(1e-6, 1e-2))
    print(kw)
    assert_same_as_optax(zoo.chain(zoo.scale_by_yogi(**kw), zoo.scale(-0.02)),
                         optax.chain(optax.scale_by_yogi(**kw), optax.scale(-0.02)), dtype)


def test_first_moment_starts_at_the_initial_accumulator_value_as_in_optax():
    """Pins the documented departure from the paper (m_0 = 0 there): optax starts both moments
    at initial_accumulator_value, and so does the zoo."""
    import jax.numpy as jnp

    state = zoo.scale_by_yogi(initial_accumulator_value=0.5).init({"w": jnp.zeros(3)})
    assert float(state.mu["w"][0]) == 0.5 and float(state.nu["w"][0]) == 0.5
    ref = optax.scale_by_yogi(initial_accumulator_value=0.5).init({"w": jnp.zeros(3)})
    assert float(ref.mu["w"][0]) == 0.5
