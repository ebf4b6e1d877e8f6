"""Adam, AdamW, AMSGrad, NAdam against optax, side by side."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {
    "adam": [dict(learning_rate=1e-2), dict(learning_rate=3e-2, b1=0.5, b2=0.9, eps=1e-6, eps_root=1e-8),
             dict(learning_rate=1e-2, nesterov=True)],
    "adamw": [dict(learning_rate=1e-2), dict(learning_rate=2e-2, b1=0.8, b2=0.95, weight_decay=0.1, nesterov=True),
              dict(learning_rate=1e-2, weight_decay=0.2, mask={"scalar": False, "vector": True, "cube": True})],
    "amsgrad": [dict(learning_rate=1e-2), dict(learning_rate=5e-2, b1=0.7, b2=0.99, eps=1e-4)],
    "nadam": [dict(learning_rate=1e-2), dict(learning_rate=3e-2, b1=0.85, b2=0.9)],
}


def random_hparams(rng, name):
    h = dict(learning_rate=rng.uniform(1e-3, 5e-2), b1=rng.uniform(0.0, 0.99), b2=rng.uniform(0.5, 0.9999),
             eps=10 ** rng.uniform(-9, -3))
    if name == "adamw":
        h.update(weight_decay=rng.uniform(0.0, 0.3), nesterov=rng.random() < 0.5)
    return h


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        hparams = random_hparams(seeded_rng(request.node.name)[0], name)
    print(name, hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax, name)(**hparams), dtype)


def test_schedule_learning_rate(dtype):
    sched = optax.cosine_decay_schedule(0.05, 100, alpha=0.1)
    assert_same_as_optax(zoo.adamw(sched, weight_decay=0.05), optax.adamw(sched, weight_decay=0.05), dtype)


def test_nu_dtype_is_honoured():
    import jax.numpy as jnp

    state = zoo.scale_by_adam(mu_dtype=jnp.bfloat16, nu_dtype=jnp.float32).init({"w": jnp.zeros(3, jnp.float16)})
    assert state.mu["w"].dtype == jnp.bfloat16 and state.nu["w"].dtype == jnp.float32
