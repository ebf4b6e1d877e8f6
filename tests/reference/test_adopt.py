"""ADOPT against optax.contrib.adopt, side by side on the parity tree."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, seeded_rng

import jaxopt_zoo as zoo

FIXED = [
    {},
    dict(b1=0.8, b2=0.99, eps=1e-4, nesterov=True),
    dict(b2=0.95, use_clipping=False),
    dict(b1=0.5, clip_value_fn=lambda t: 0.5 + 0.1 * t),
]


@pytest.mark.parametrize("kw", FIXED, ids=case_id)
def test_equals_optax(kw, dtype):
    assert_same_as_optax(zoo.adopt(1e-2, **kw), optax.contrib.adopt(1e-2, **kw), dtype)


def test_random_hyperparameters_equal_optax(request):
    rng, _ = seeded_rng(request.node.name)
    kw = dict(b1=rng.uniform(0.5, 0.99), b2=rng.uniform(0.9, 0.99999), eps=10 ** rng.uniform(-8, -3),
              nesterov=rng.random() < 0.5, use_clipping=rng.random() < 0.5)
    lr = rng.uniform(1e-3, 5e-2)
    print(lr, kw)
    assert_same_as_optax(zoo.adopt(lr, **kw), optax.contrib.adopt(lr, **kw), "float64")


def test_scale_by_adopt_equals_optax():
    assert_same_as_optax(zoo.chain(zoo.scale_by_adopt(b2=0.99), zoo.scale(-0.01)),
                         optax.chain(optax.contrib.scale_by_adopt(b2=0.99), optax.scale(-0.01)), "float64")
