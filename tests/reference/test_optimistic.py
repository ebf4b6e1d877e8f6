"""optimistic_gradient_descent, optimistic_adam_v2 and scale_by_optimistic_gradient against optax."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {
    "optimistic_gradient_descent": [dict(learning_rate=1e-2)],  # defaults; the random draws cover the rest
    "optimistic_adam_v2": [dict(learning_rate=1e-2), dict(learning_rate=2e-2, nesterov=False)],
}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 2e-2), alpha=rng.uniform(0.1, 2.0), beta=rng.uniform(0, 2.0))
        if name == "optimistic_adam_v2":
            hparams.update(b1=rng.uniform(0, 0.95), b2=rng.uniform(0.9, 0.9999), eps=10 ** rng.uniform(-9, -4),
                           eps_root=10 ** rng.uniform(-10, -6))
    print(name, hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax, name)(**hparams), dtype)
