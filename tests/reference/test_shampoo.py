"""Shampoo against pytorch_optimizer.Shampoo, side by side, with its defaults and random
others, on the parity tree plus a matrix leaf (all in float64 in the reference: its SVD runs in
float64 for float64 params).

The gradients are stochastic (``assert_same_as_torch_noisy``: the loss's gradient plus a fixed
normal draw per step, the same on both sides). With the exact gradient of a fixed loss the
first gradients are nearly parallel, the vector's full-matrix statistic is nearly singular
along their difference, and its inverse square root amplifies rounding: the reference's own
trajectory moves by 1e-9 when its start moves by 1e-14.

``preconditioning_compute_steps`` > 1 keeps the inverse roots for several steps; roots taken
from fewer gradients than a vector's length are ``matrix_eps^{-1/2}`` along the directions not
seen yet, which the next gradients have, and with the default ``matrix_eps`` (1e-6) the
reference's steps grow by 1e3 and blow up. The random draws with a period > 1 use a
``matrix_eps`` in [1e-2, 1e-1].
"""

import pytest
from tests.reference.beyond_harness import assert_same_as_torch_noisy, matrix_tree  # noqa: F401
from tests.reference.harness import seeded_rng
from pytorch_optimizer import Shampoo

import jaxopt_zoo as zoo

pytestmark = pytest.mark.usefixtures("matrix_tree")


def torch_kwargs(kw):
    return {{"learning_rate": "lr"}.get(k, k): v for k, v in kw.items()}


def check(kw, dtype):
    assert_same_as_torch_noisy(zoo.shampoo(**kw), lambda ps: Shampoo(ps, **torch_kwargs(kw)), dtype)


def test_defaults_match_pytorch_optimizer(dtype):
    check({}, dtype)


@pytest.mark.parametrize("variant", [dict(weight_decouple=False), dict(weight_decouple=True),
                                     dict(weight_decouple=True, fixed_decay=True), dict(period=True)])
def test_random_hyperparameters_match_pytorch_optimizer(variant, request):
    rng = seeded_rng(request.node.name)[0]
    kw = dict(learning_rate=rng.uniform(3e-3, 3e-2), momentum=rng.uniform(0.0, 0.9),
              weight_decay=rng.uniform(0.0, 0.2), matrix_eps=10 ** rng.uniform(-8, -4))
    if variant.pop("period", False):
        kw.update(preconditioning_compute_steps=rng.randint(2, 5), matrix_eps=10 ** rng.uniform(-2, -1),
                  weight_decouple=rng.random() < 0.5)
    kw.update(variant)
    print(kw)
    check(kw, "float64")


def test_the_first_steps_before_a_new_root_move_only_by_weight_decay():
    """Before the first inverse roots (step ``preconditioning_compute_steps``) they are zero."""
    import jax.numpy as jnp

    tx = zoo.shampoo(0.1, weight_decay=0.5, weight_decouple=True, preconditioning_compute_steps=3)
    p = {"w": jnp.ones((2, 2))}
    state = tx.init(p)
    for _ in range(2):
        u, state = tx.update(p, state, p)
        assert jnp.allclose(u["w"], -0.05 * p["w"])
    u, state = tx.update(p, state, p)
    assert not jnp.allclose(u["w"], -0.05 * p["w"])
