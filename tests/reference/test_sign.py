"""sign_sgd, signum and scale_by_sign against optax."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"sign_sgd": [dict(learning_rate=1e-2)], "signum": [dict(learning_rate=1e-2)]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2))
        if name == "signum":
            hparams["beta"] = rng.uniform(0, 0.99)
    print(name, hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax, name)(**hparams), dtype)


def test_signum_with_a_schedule_matches_optax():
    sched = optax.linear_schedule(3e-2, 1e-3, 100)
    assert_same_as_optax(zoo.signum(sched, beta=0.8), optax.signum(sched, beta=0.8), "float64")
