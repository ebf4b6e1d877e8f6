"""Fromage against optax.fromage (float and schedule learning rates)."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, seeded_rng

import jaxopt_zoo as zoo


@pytest.mark.parametrize("hparams", [dict(learning_rate=1e-2), None], ids=["defaults", "random"])
def test_matches_optax(hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 0.2), min_norm=10 ** rng.uniform(-8, -2))
    print(hparams)
    assert_same_as_optax(zoo.fromage(**hparams), optax.fromage(**hparams), dtype)


def test_schedule_matches_optax():
    sched = optax.cosine_decay_schedule(0.1, 100)
    assert_same_as_optax(zoo.fromage(sched), optax.fromage(sched), "float64")
