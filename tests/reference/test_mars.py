"""MARS against pytorch_optimizer.MARS, default and random hyperparameters, on the parity tree
plus a matrix leaf (matrices and the 3-D leaf get the corrected gradient, scalars and vectors
AdamW).

``mars_type='shampoo'``: the reference runs its Newton-Schulz iteration in bfloat16
(``zero_power_via_newton_schulz_5``'s default ``dtype``); the zoo runs it in the params' dtype.
Those tests run the reference with the iteration's ``dtype`` set to float64, i.e. the
reference's algorithm in float64, which float64 runs match to 1e-10 and float32 ones to 1e-5.
"""

import functools

import pytest
import torch
from tests.reference.beyond_harness import assert_same_as_torch, matrix_tree  # noqa: F401
from tests.reference.harness import seeded_rng
from pytorch_optimizer import MARS
from pytorch_optimizer.optimizer import mars as mars_module

import jaxopt_zoo as zoo

pytestmark = pytest.mark.usefixtures("matrix_tree")

NAMES = {"learning_rate": "lr", "learning_rate_1d": "lr_1d"}


def torch_kwargs(kw):
    out = {NAMES.get(k, k): v for k, v in kw.items() if k not in ("b1", "b2", "b1_1d", "b2_1d")}
    out["betas"] = (kw.get("b1", 0.95), kw.get("b2", 0.99))
    out["betas_1d"] = (kw.get("b1_1d", 0.9), kw.get("b2_1d", 0.95))
    return out


@pytest.mark.parametrize("foreach", [None, False])
def test_defaults_match_pytorch_optimizer(dtype, foreach):
    assert_same_as_torch(zoo.mars(), lambda ps: MARS(ps, foreach=foreach), dtype)


def test_example_rates_match_pytorch_optimizer(dtype):
    kw = dict(learning_rate=5e-3, learning_rate_1d=2e-2)
    assert_same_as_torch(zoo.mars(**kw), lambda ps: MARS(ps, **torch_kwargs(kw)), dtype)


@pytest.mark.parametrize("variant", [dict(), dict(mars_type="lion"), dict(optimize_1d=True), dict(ams_bound=True),
                                     dict(weight_decouple=False), dict(fixed_decay=True)])
def test_random_hyperparameters_match_pytorch_optimizer(variant, request):
    rng = seeded_rng(request.node.name)[0]
    # Ranges that stay out of the oscillation around the minimum within 120 steps: there (e.g.
    # lr 8.6e-3 with b2 0.95) pytorch_optimizer's own trajectory moves by 4e-4 when its start is
    # perturbed by 1e-15, so no implementation can be compared to 1e-10.
    kw = dict(learning_rate=rng.uniform(1e-3, 5e-3), learning_rate_1d=rng.uniform(2e-3, 1e-2),
              b1=rng.uniform(0.85, 0.97), b2=rng.uniform(0.98, 0.999), b1_1d=rng.uniform(0.8, 0.95),
              b2_1d=rng.uniform(0.9, 0.999), gamma=rng.uniform(0.0, 0.1), eps=10 ** rng.uniform(-10, -5),
              weight_decay=rng.uniform(0, 0.2), weight_decay_1d=rng.uniform(0, 0.2), **variant)
    print(kw)
    assert_same_as_torch(zoo.mars(**kw), lambda ps: MARS(ps, foreach=False, **torch_kwargs(kw)), "float64")


@pytest.fixture
def float64_newton_schulz(monkeypatch):
    """The reference's Newton-Schulz iteration in float64 instead of bfloat16."""
    ns = functools.partial(mars_module.zero_power_via_newton_schulz_5, dtype=torch.float64)
    monkeypatch.setattr(mars_module, "zero_power_via_newton_schulz_5", ns)


@pytest.mark.usefixtures("float64_newton_schulz")
def test_shampoo_defaults_match_pytorch_optimizer(dtype):
    assert_same_as_torch(zoo.mars(mars_type="shampoo"), lambda ps: MARS(ps, mars_type="shampoo"), dtype)


@pytest.mark.usefixtures("float64_newton_schulz")
@pytest.mark.parametrize("variant", [dict(), dict(optimize_1d=True, cautious=True)])
def test_shampoo_random_hyperparameters_match_pytorch_optimizer(variant, request):
    rng = seeded_rng(request.node.name)[0]
    kw = dict(learning_rate=rng.uniform(1e-3, 5e-3), learning_rate_1d=rng.uniform(2e-3, 1e-2),
              b1=rng.uniform(0.85, 0.97), b2=rng.uniform(0.98, 0.999), b1_1d=rng.uniform(0.8, 0.95),
              b2_1d=rng.uniform(0.9, 0.999), gamma=rng.uniform(0.0, 0.1), eps=10 ** rng.uniform(-10, -5),
              weight_decay=rng.uniform(0, 0.2), weight_decay_1d=rng.uniform(0, 0.2), mars_type="shampoo", **variant)
    print(kw)
    assert_same_as_torch(zoo.mars(**kw), lambda ps: MARS(ps, **torch_kwargs(kw)), "float64")


def test_unknown_mars_type_is_refused_clearly():
    with pytest.raises(ValueError, match="mars_type"):
        zoo.scale_by_mars(mars_type="muon")
