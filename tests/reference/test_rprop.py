"""Rprop against torch.optim.Rprop (optax.rprop lags one step behind torch)."""

import optax
import pytest
import torch
from harness import assert_trajectories_close, make_params, seeded_rng, torch_trajectory, trajectory

import jaxopt_zoo as zoo

FIXED = [dict(), dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2)), dict(lr=0.02, maximize=False, etas=(0.6, 1.1))]


def zoo_kwargs(kw):
    out = {"learning_rate": kw.get("lr", 1e-2)}
    if "etas" in kw:
        out["eta_minus"], out["eta_plus"] = kw["etas"]
    if "step_sizes" in kw:
        out["min_step_size"], out["max_step_size"] = kw["step_sizes"]
    return out


@pytest.mark.parametrize("kw", FIXED + [None, None], ids=lambda k: "random" if k is None else str(sorted(k.items())))
def test_matches_torch(kw, dtype, request):
    if kw is None:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(lr=rng.uniform(1e-3, 0.1), etas=(rng.uniform(0.2, 0.9), rng.uniform(1.05, 2.0)),
                  step_sizes=(rng.uniform(1e-7, 1e-4), rng.uniform(0.05, 5.0)))
    print(kw)
    params = make_params(dtype)
    want = torch_trajectory(lambda ps: torch.optim.Rprop(ps, **kw), params)
    got = trajectory(zoo.rprop(**zoo_kwargs(kw)), params)
    assert_trajectories_close(got, want, dtype)


def test_maximize_matches_torch():
    params = make_params("float64")
    from harness import loss, torch_loss  # noqa: F401  (maximize ascends the same loss)

    want = torch_trajectory(lambda ps: torch.optim.Rprop(ps, lr=0.01, maximize=True), params, steps=30)
    got = trajectory(zoo.rprop(0.01, maximize=True), params, steps=30)
    assert_trajectories_close(got, want, "float64")


def test_optax_rprop_differs_from_torch():
    """The reason our reference is torch: optax's trajectory is not torch's."""
    params = make_params("float64")
    want = torch_trajectory(lambda ps: torch.optim.Rprop(ps, lr=0.01), params, steps=20)
    theirs = trajectory(optax.rprop(0.01), params, steps=20, apply=optax.apply_updates)
    with pytest.raises(AssertionError):
        assert_trajectories_close(theirs, want, "float64")


def test_a_schedule_is_refused():
    with pytest.raises(TypeError, match=r"jaxopt_zoo\.rprop: argument `learning_rate` must be a float"):
        zoo.rprop(optax.constant_schedule(0.1))
