"""ACProp (and scale_by_acprop) against optax.contrib, side by side on the parity tree."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, seeded_rng

import jaxopt_zoo as zoo

FIXED = [dict(), dict(b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10, weight_decay=1e-2)]


@pytest.mark.parametrize("kw", FIXED, ids=case_id)
def test_equals_optax(kw, dtype):
    assert_same_as_optax(zoo.acprop(2e-2, **kw), optax.contrib.acprop(2e-2, **kw), dtype)


def test_random_hyperparameters_equal_optax(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    kw = dict(b1=rng.uniform(0.5, 0.99), b2=rng.uniform(0.9, 0.9999), eps=10 ** rng.uniform(-16, -6),
              eps_root=10 ** rng.uniform(-16, -8), weight_decay=rng.uniform(0, 0.1))
    lr = rng.uniform(1e-3, 3e-2)
    print(lr, kw)
    assert_same_as_optax(zoo.acprop(lr, **kw), optax.contrib.acprop(lr, **kw), dtype)


def test_scale_by_acprop_equals_optax(dtype):
    assert_same_as_optax(zoo.chain(zoo.scale_by_acprop(b2=0.99), zoo.scale(-0.01)),
                         optax.chain(optax.contrib.scale_by_acprop(b2=0.99), optax.scale(-0.01)), dtype)
