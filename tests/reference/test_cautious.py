"""The cautious mask against pytorch_optimizer's ``cautious=True`` (Lion, LaProp, MARS), on the
parity tree plus a matrix leaf."""

import pytest
from tests.reference.beyond_harness import assert_same_as_torch, matrix_tree  # noqa: F401
from tests.reference.harness import seeded_rng
from pytorch_optimizer import MARS, LaProp, Lion

import jaxopt_zoo as zoo

pytestmark = pytest.mark.usefixtures("matrix_tree")


def test_cautious_lion_matches_pytorch_optimizer(dtype):
    """C-Lion, the whole optimizer wrapped (no weight decay: nothing unmasked to keep apart;
    zoo.lion's default weight_decay is optax's 1e-3, pytorch_optimizer's 0)."""
    assert_same_as_torch(zoo.cautious(zoo.lion(1e-2, weight_decay=0.0)), lambda ps: Lion(ps, lr=1e-2, cautious=True), dtype)


def test_cautious_lion_with_weight_decay_wraps_the_direction(request):
    rng = seeded_rng(request.node.name)[0]
    lr, b1, b2, wd = rng.uniform(2e-3, 1e-2), rng.uniform(0.8, 0.95), rng.uniform(0.9, 0.999), rng.uniform(0.01, 0.5)
    print(lr, b1, b2, wd)
    tx = zoo.chain(zoo.cautious(zoo.scale_by_lion(b1, b2), descent=False), zoo.add_decayed_weights(wd),
                   zoo.scale_by_learning_rate(lr))
    assert_same_as_torch(tx, lambda ps: Lion(ps, lr=lr, betas=(b1, b2), weight_decay=wd, cautious=True), "float64")


def test_wrapping_a_decaying_optimizer_also_masks_its_decay():
    """Pins the documented difference: around the whole optimizer the mask covers the decay term."""
    tx = zoo.cautious(zoo.lion(1e-2, weight_decay=0.5))
    with pytest.raises(AssertionError, match="relative error"):
        assert_same_as_torch(tx, lambda ps: Lion(ps, lr=1e-2, weight_decay=0.5, cautious=True), "float64")


def test_cautious_laprop_matches_pytorch_optimizer(dtype):
    kw = dict(learning_rate=1e-2, weight_decay=0.1)
    assert_same_as_torch(zoo.laprop(**kw, cautious=True),
                         lambda ps: LaProp(ps, lr=1e-2, weight_decay=0.1, cautious=True), dtype)


@pytest.mark.llvm_optimized
@pytest.mark.parametrize("mars_type", ["adamw", "lion"])
@pytest.mark.parametrize("foreach", [None, False])
def test_cautious_mars_matches_pytorch_optimizer(mars_type, foreach, dtype):
    kw = dict(learning_rate=4e-3, weight_decay=0.1, mars_type=mars_type)
    assert_same_as_torch(zoo.mars(**kw, cautious=True),
                         lambda ps: MARS(ps, lr=4e-3, weight_decay=0.1, mars_type=mars_type, cautious=True,
                                         foreach=foreach), dtype)


def test_mask_keeps_agreeing_entries_and_rescales():
    import jax.numpy as jnp

    u = zoo.optimizers._cautious.cautious_mask(jnp.array([1.0, -2.0, 3.0, 0.0]), jnp.array([1.0, 1.0, 1.0, 1.0]))
    assert jnp.allclose(u, jnp.array([4 / 3, 0.0, 4.0, 0.0]))  # 2 of 4 agree: scale 4 / (2 + 1)
