"""RAdam against optax.radam (both branches of the rectification are crossed within 120 steps)."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"radam": [dict(learning_rate=1e-2), dict(learning_rate=2e-2, b1=0.8, b2=0.95, threshold=4.0),
                   dict(learning_rate=1e-2, nesterov=True, eps_root=1e-8)]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 5e-2), b1=rng.uniform(0, 0.99), b2=rng.uniform(0.9, 0.99),
                       eps=10 ** rng.uniform(-9, -4), nesterov=rng.random() < 0.5)
    print(hparams)
    assert_same_as_optax(zoo.radam(**hparams), optax.radam(**hparams), dtype)
