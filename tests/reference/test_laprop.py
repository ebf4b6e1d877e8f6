"""LaProp against pytorch_optimizer.LaProp (per-parameter path), default and random hyperparameters."""

import pytest
from tests.reference.beyond_harness import assert_same_as_torch, matrix_tree  # noqa: F401
from tests.reference.harness import seeded_rng
from pytorch_optimizer import LaProp

import jaxopt_zoo as zoo

pytestmark = pytest.mark.usefixtures("matrix_tree")


def torch_kwargs(kw):
    out = {{"learning_rate": "lr"}.get(k, k): v for k, v in kw.items() if k not in ("b1", "b2")}
    out["betas"] = (kw.get("b1", 0.9), kw.get("b2", 0.999))
    return out


def test_defaults_match_pytorch_optimizer(dtype):
    assert_same_as_torch(zoo.laprop(), lambda ps: LaProp(ps, foreach=False), dtype)


def test_example_rate_matches_pytorch_optimizer(dtype):
    assert_same_as_torch(zoo.laprop(2e-2), lambda ps: LaProp(ps, lr=2e-2, foreach=False), dtype)


@pytest.mark.parametrize("variant", [dict(), dict(centered=True), dict(ams_bound=True), dict(fixed_decay=True),
                                     dict(weight_decouple=False), dict(centered=True, ams_bound=True)])
def test_random_hyperparameters_match_pytorch_optimizer(variant, request):
    rng = seeded_rng(request.node.name)[0]
    # LaProp's steps have about the size of the rate: larger rates reach the oscillation around
    # the minimum within 120 steps, where any implementation amplifies 1e-16 rounding differences.
    kw = dict(learning_rate=rng.uniform(3e-3, 1.2e-2), b1=rng.uniform(0.7, 0.95), b2=rng.uniform(0.9, 0.999),
              eps=10 ** rng.uniform(-10, -4), weight_decay=rng.uniform(0, 0.1),
              steps_before_using_centered=rng.randint(5, 20), **variant)
    print(kw)
    assert_same_as_torch(zoo.laprop(**kw), lambda ps: LaProp(ps, foreach=False, **torch_kwargs(kw)), "float64")


def test_schedule_matches_a_torch_lr_changed_every_step():
    """The learning rate sits inside LaProp's momentum: a schedule must reweight it as torch
    does when ``group['lr']`` changes between steps."""
    from tests.reference import harness
    import numpy as np
    import torch

    sched = lambda t: 0.02 / (1.0 + 0.05 * t)  # noqa: E731
    got = harness.trajectory(zoo.laprop(sched, weight_decay=0.05), harness.make_params("float64"))
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in harness.start_values("float64").items()}
    opt = LaProp(list(tensors.values()), lr=sched(0), weight_decay=0.05, foreach=False)
    path = {k: [] for k in tensors}
    for t in range(harness.STEPS):
        opt.param_groups[0]["lr"] = sched(t)
        opt.zero_grad()
        harness.torch_loss(tensors).backward()
        opt.step()
        for k, x in tensors.items():
            path[k].append(x.detach().numpy().copy())
    harness.assert_trajectories_close(got, {k: np.stack(v) for k, v in path.items()}, "float64")


def test_default_foreach_path_rounds_its_step_factor_to_float32():
    """pytorch_optimizer's default (foreach) path on CPU builds ``-1 / bias_correction1`` as a
    float32 tensor, so in float64 it holds to about 1e-8 only; the per-parameter path (used above)
    to 1e-10. The zoo follows the per-parameter path."""
    assert_same_as_torch(zoo.laprop(2e-2), lambda ps: LaProp(ps, lr=2e-2), "float64", rtol=1e-7)
    with pytest.raises(AssertionError, match="relative error"):
        assert_same_as_torch(zoo.laprop(2e-2), lambda ps: LaProp(ps, lr=2e-2), "float64")
