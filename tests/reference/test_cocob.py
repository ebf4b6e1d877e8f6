"""cocob (and scale_by_cocob) against optax.contrib, default and random hyperparameters."""

import jax.numpy as jnp
import optax
import optax.contrib
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"cocob": [dict()]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(0.1, 2.0), alpha=rng.uniform(5.0, 200.0), eps=10 ** rng.uniform(-8, -3),
                       weight_decay=rng.uniform(0, 0.1))
    print(hparams)
    assert_same_as_optax(zoo.cocob(**hparams), optax.contrib.cocob(**hparams), dtype)


def test_scale_by_cocob_and_a_schedule_match_optax(dtype):
    sched = optax.linear_schedule(1.0, 0.1, 100)
    mask = {"scalar": True, "vector": False, "cube": True}
    assert_same_as_optax(zoo.cocob(sched, alpha=30.0, weight_decay=0.05, mask=mask),
                         optax.contrib.cocob(sched, alpha=30.0, weight_decay=0.05, mask=mask), dtype)
    assert_same_as_optax(zoo.chain(zoo.scale_by_cocob(alpha=50.0, eps=1e-6), zoo.scale(0.5)),
                         optax.chain(optax.contrib.scale_by_cocob(alpha=50.0, eps=1e-6), optax.scale(0.5)), dtype)


def test_update_without_params_is_refused():
    tx = zoo.cocob()
    g = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="needs `params`"):
        tx.update(g, tx.init(g))


def test_zero_gradients_stay_put():
    """The eps start of the scale keeps a coordinate with only zero gradients finite and still."""
    tx = zoo.cocob()
    p = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(p)
    for _ in range(3):
        u, state = tx.update({"w": jnp.zeros(2)}, state, p)
        assert float(jnp.abs(u["w"]).max()) == 0.0
