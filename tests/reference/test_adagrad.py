"""AdaGrad against optax.adagrad."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"adagrad": [dict(learning_rate=0.1), dict(learning_rate=0.3, initial_accumulator_value=0.0, eps=1e-10),
                     dict(learning_rate=0.05, initial_accumulator_value=1.0, eps=1e-3)]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-2, 0.5), initial_accumulator_value=rng.uniform(0, 1),
                       eps=10 ** rng.uniform(-10, -3))
    print(hparams)
    assert_same_as_optax(zoo.adagrad(**hparams), optax.adagrad(**hparams), dtype)
