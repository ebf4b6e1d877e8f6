"""LARS, LAMB and scale_by_trust_ratio against optax (with weight-decay and trust-ratio masks)."""

import jax
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

NOT_SCALAR = {"scalar": False, "vector": True, "cube": True}


def not_vector(params):
    return jax.tree.map(lambda x: x.ndim != 1, params)


FIXED = {
    "lars": [dict(learning_rate=1.0), dict(learning_rate=0.5, weight_decay=0.05, weight_decay_mask=NOT_SCALAR,
                                            trust_coefficient=0.02, trust_ratio_mask=not_vector, momentum=0.8, nesterov=True)],
    "lamb": [dict(learning_rate=1e-2), dict(learning_rate=2e-2, b1=0.8, b2=0.95, eps=1e-4, weight_decay=0.1, mask=NOT_SCALAR)],
}


@pytest.mark.parametrize("name,hparams", cases(FIXED, n_random=2), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        if name == "lars":
            hparams = dict(learning_rate=rng.uniform(0.1, 2), weight_decay=rng.uniform(0, 0.1), trust_coefficient=rng.uniform(1e-3, 0.05),
                           eps=rng.uniform(0, 1e-3), momentum=rng.uniform(0, 0.95), nesterov=rng.random() < 0.5)
        else:
            hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2), b1=rng.uniform(0, 0.99), b2=rng.uniform(0.5, 0.999),
                           eps=10 ** rng.uniform(-8, -3), weight_decay=rng.uniform(0, 0.2))
    print(name, hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax, name)(**hparams), dtype)


def test_scale_by_trust_ratio_block(dtype):
    kw = dict(min_norm=1e-3, trust_coefficient=0.5, eps=1e-6)
    assert_same_as_optax(zoo.chain(zoo.scale_by_trust_ratio(**kw), zoo.scale(-0.05)),
                         optax.chain(optax.scale_by_trust_ratio(**kw), optax.scale(-0.05)), dtype)
