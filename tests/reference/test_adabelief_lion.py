"""AdaBelief and Lion against optax."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {
    "adabelief": [dict(learning_rate=1e-2), dict(learning_rate=3e-2, b1=0.8, b2=0.9, eps=1e-8, eps_root=1e-10, nesterov=True)],
    "lion": [dict(learning_rate=3e-3), dict(learning_rate=1e-2, b1=0.95, b2=0.98, weight_decay=0.1,
                                           mask={"scalar": False, "vector": True, "cube": True})],
}


@pytest.mark.parametrize("name,hparams", cases(FIXED, n_random=2), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2), b1=rng.uniform(0, 0.99), b2=rng.uniform(0.5, 0.999))
        if name == "lion":
            hparams["weight_decay"] = rng.uniform(0, 0.2)
        else:
            hparams.update(eps=10 ** rng.uniform(-16, -6), eps_root=10 ** rng.uniform(-16, -8), nesterov=rng.random() < 0.5)
    print(name, hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax, name)(**hparams), dtype)
