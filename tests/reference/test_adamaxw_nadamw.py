"""AdaMaxW and NAdamW against optax.adamaxw / optax.nadamw."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {
    "adamaxw": [dict(learning_rate=2e-2)],  # defaults; the random draws cover the rest
    "nadamw": [dict(learning_rate=1e-2)],
}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 5e-2), b1=rng.uniform(0, 0.95), b2=rng.uniform(0.9, 0.9999),
                       eps=10 ** rng.uniform(-9, -4), weight_decay=rng.uniform(0, 0.2))
        if name == "nadamw":
            hparams["eps_root"] = 10 ** rng.uniform(-10, -6)
    print(name, hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax, name)(**hparams), dtype)


def test_nadamw_mask_matches_optax():
    mask = {"scalar": False, "vector": True, "cube": True}
    assert_same_as_optax(zoo.nadamw(1e-2, weight_decay=0.1, mask=mask), optax.nadamw(1e-2, weight_decay=0.1, mask=mask), "float64")
