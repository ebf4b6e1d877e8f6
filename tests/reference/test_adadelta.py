"""AdaDelta against optax.adadelta with the learning rate given; our default lr is 1.0."""

import inspect

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"adadelta": [dict(learning_rate=1.0), dict(learning_rate=0.5, rho=0.95, eps=1e-4),
                      dict(learning_rate=2.0, weight_decay=0.1, weight_decay_mask={"scalar": False, "vector": True, "cube": True})]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(0.1, 3.0), rho=rng.uniform(0.5, 0.99), eps=10 ** rng.uniform(-7, -3),
                       weight_decay=rng.uniform(0, 0.2))
    print(hparams)
    assert_same_as_optax(zoo.adadelta(**hparams), optax.adadelta(**hparams), dtype)


def test_default_learning_rate_is_one_and_descends(dtype):
    assert inspect.signature(zoo.adadelta).parameters["learning_rate"].default == 1.0
    assert_same_as_optax(zoo.adadelta(), optax.adadelta(learning_rate=1.0), dtype)
