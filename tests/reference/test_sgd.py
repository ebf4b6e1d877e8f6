"""SGD (plain, momentum, Nesterov) against optax.sgd."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"sgd": [dict(learning_rate=0.05), dict(learning_rate=0.05, momentum=0.9),
                 dict(learning_rate=0.02, momentum=0.95, nesterov=True)]}


@pytest.mark.parametrize("name,hparams", cases(FIXED, n_random=2), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 0.1), momentum=rng.choice([None, rng.uniform(0, 0.99)]))
        hparams["nesterov"] = hparams["momentum"] is not None and rng.random() < 0.5
    print(hparams)
    assert_same_as_optax(zoo.sgd(**hparams), optax.sgd(**hparams), dtype)


def test_scheduled_learning_rate(dtype):
    sched = optax.piecewise_constant_schedule(0.05, {30: 0.5, 60: 0.1})
    assert_same_as_optax(zoo.sgd(sched, momentum=0.9), optax.sgd(sched, momentum=0.9), dtype)
