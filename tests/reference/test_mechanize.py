"""mechanize against optax.contrib.mechanize, with optax's and the zoo's base optimizers."""

import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, seeded_rng

import jaxopt_zoo as zoo

FIXED = [
    dict(),
    dict(weight_decay=0.0, eps=1e-6, s_init=1e-4, num_betas=3),
]
BASES = {"adam": (lambda: zoo.adam(1.0), lambda: optax.adam(1.0)),
         "sgd": (lambda: zoo.sgd(0.5, momentum=0.9), lambda: optax.sgd(0.5, momentum=0.9))}


@pytest.mark.parametrize("kw", FIXED, ids=case_id)
@pytest.mark.parametrize("base", sorted(BASES))
def test_equals_optax(base, kw, dtype):
    zb, ob = BASES[base]
    assert_same_as_optax(zoo.mechanize(zb(), **kw), optax.contrib.mechanize(ob(), **kw), dtype)


def test_random_hyperparameters_equal_optax(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    kw = dict(weight_decay=rng.uniform(0, 0.1), eps=10 ** rng.uniform(-9, -6), s_init=10 ** rng.uniform(-8, -3),
              num_betas=rng.randint(1, 8))
    lr = rng.uniform(0.1, 1.0)
    print(lr, kw)
    assert_same_as_optax(zoo.mechanize(zoo.adam(lr), **kw), optax.contrib.mechanize(optax.adam(lr), **kw), dtype)


def test_an_optax_base_optimizer_works_inside():
    assert_same_as_optax(zoo.mechanize(optax.lion(0.3)), optax.contrib.mechanize(optax.lion(0.3)), "float64")
