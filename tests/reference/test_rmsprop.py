"""RMSprop (plain, centered, eps placement, momentum, bias correction) against optax.rmsprop."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"rmsprop": [
    dict(learning_rate=1e-2),
    dict(learning_rate=1e-2, decay=0.99, eps_in_sqrt=False, centered=True),
    dict(learning_rate=5e-3, momentum=0.9, nesterov=True, initial_scale=0.1),
    # Centered with bias correction has v - m^2 = 0 at the first step, so the step is g / sqrt(eps):
    # a usable eps keeps it finite (in optax too).
    dict(learning_rate=1e-2, decay=0.95, eps=0.1, bias_correction=True, centered=True, momentum=0.5),
]}


@pytest.mark.parametrize("name,hparams", cases(FIXED, n_random=2), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2), decay=rng.uniform(0.5, 0.999),
                       eps=10 ** rng.uniform(-9, -3), initial_scale=rng.choice([0.0, rng.uniform(0, 1)]),
                       eps_in_sqrt=rng.random() < 0.5, centered=rng.random() < 0.5,
                       momentum=rng.choice([None, rng.uniform(0, 0.95)]), bias_correction=rng.random() < 0.5)
        hparams["nesterov"] = hparams["momentum"] is not None and rng.random() < 0.5
        if hparams["centered"]:  # keep the centered variance positive: it needs v > m^2 + eps.
            hparams["initial_scale"] = max(hparams["initial_scale"], 0.5)
            if hparams["bias_correction"]:
                hparams["eps"] = max(hparams["eps"], 0.05)
    print(hparams)
    assert_same_as_optax(zoo.rmsprop(**hparams), optax.rmsprop(**hparams), dtype)
