"""AdEMAMix and simplified AdEMAMix against optax.contrib, side by side on the parity tree."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, seeded_rng

import jaxopt_zoo as zoo

FIXED = [
    {},
    dict(b1=0.8, b2=0.99, b3=0.999, alpha=2.0, eps=1e-6, weight_decay=1e-2),
    dict(b3=lambda t: 0.9 + 0.099 * t / (t + 10.0), alpha=lambda t: 8.0 * t / (t + 20.0), eps_root=1e-8),
]


@pytest.mark.parametrize("kw", FIXED, ids=case_id)
def test_ademamix_equals_optax(kw, dtype):
    assert_same_as_optax(zoo.ademamix(1e-2, **kw), optax.contrib.ademamix(1e-2, **kw), dtype)


def test_ademamix_random_hyperparameters_equal_optax(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    kw = dict(b1=rng.uniform(0.5, 0.99), b2=rng.uniform(0.9, 0.9999), b3=rng.uniform(0.99, 0.99999),
              alpha=rng.uniform(0.0, 10.0), eps=10 ** rng.uniform(-8, -3), eps_root=10 ** rng.uniform(-10, -6),
              weight_decay=rng.uniform(0, 0.1))
    lr = rng.uniform(1e-3, 3e-2)
    print(lr, kw)
    assert_same_as_optax(zoo.ademamix(lr, **kw), optax.contrib.ademamix(lr, **kw), dtype)


def test_scale_by_ademamix_equals_optax(dtype):
    """scale_by_ademamix with its own defaults (alpha=6.0 in optax, not ademamix's 5.0)."""
    assert_same_as_optax(zoo.chain(zoo.scale_by_ademamix(b3=0.99), zoo.scale(-0.01)),
                         optax.chain(optax.contrib.scale_by_ademamix(b3=0.99), optax.scale(-0.01)), dtype)


SIMPLE_FIXED = [
    dict(),
    dict(b1=0.9, b2=0.99, alpha=2.0, eps=1e-6, eps_root=1e-9, weight_decay=1e-2),
    dict(b1=0.95, alpha=lambda t: 3.0 * t / (t + 10.0)),
]


@pytest.mark.parametrize("kw", SIMPLE_FIXED, ids=case_id)
def test_simplified_ademamix_equals_optax(kw, dtype):
    assert_same_as_optax(zoo.simplified_ademamix(2e-3, **kw), optax.contrib.simplified_ademamix(2e-3, **kw), dtype)


@pytest.mark.llvm_optimized
def test_simplified_ademamix_random_hyperparameters_equal_optax(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    kw = dict(b1=rng.uniform(0.5, 0.99), b2=rng.uniform(0.8, 0.999), alpha=rng.uniform(0.0, 5.0),
              eps=10 ** rng.uniform(-8, -3), weight_decay=rng.uniform(0, 0.1))
    lr = rng.uniform(1e-3, 5e-3)
    print(lr, kw)
    assert_same_as_optax(zoo.simplified_ademamix(lr, **kw), optax.contrib.simplified_ademamix(lr, **kw), dtype)


def test_scale_by_simplified_ademamix_equals_optax(dtype):
    assert_same_as_optax(zoo.chain(zoo.scale_by_simplified_ademamix(alpha=1.0), zoo.scale(-2e-3)),
                         optax.chain(optax.contrib.scale_by_simplified_ademamix(alpha=1.0), optax.scale(-2e-3)), dtype)
