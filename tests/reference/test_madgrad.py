"""MADGRAD against optax.contrib.madgrad."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, seeded_rng

import jaxopt_zoo as zoo

FIXED = [dict(learning_rate=1e-2), dict(learning_rate=3e-2, momentum=0.5, weight_decay=0.05, eps=1e-4)]


@pytest.mark.parametrize("hparams", FIXED + [None, None], ids=lambda h: "random" if h is None else str(sorted(h.items())))
def test_matches_optax(hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2), momentum=rng.uniform(0, 0.95), weight_decay=rng.uniform(0, 0.1))
    print(hparams)
    assert_same_as_optax(zoo.madgrad(**hparams), optax.contrib.madgrad(**hparams), dtype)


def test_scheduled_learning_rate(dtype):
    sched = optax.linear_schedule(3e-2, 1e-3, 100)
    assert_same_as_optax(zoo.madgrad(sched), optax.contrib.madgrad(sched), dtype)
