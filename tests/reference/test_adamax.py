"""AdaMax against optax.adamax."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"adamax": [dict(learning_rate=2e-2), dict(learning_rate=5e-2, b1=0.5, b2=0.99, eps=1e-4)]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 5e-2), b1=rng.uniform(0, 0.99), b2=rng.uniform(0.5, 0.9999),
                       eps=10 ** rng.uniform(-9, -3))
    print(hparams)
    assert_same_as_optax(zoo.adamax(**hparams), optax.adamax(**hparams), dtype)
