"""Rprop against torch.optim.Rprop (optax.rprop lags one step behind torch).

Fixed cases compare with the committed fixtures (tools/fixtures/zoo_torch.py),
so they run without torch; where torch is installed the fixtures are checked against it and
random hyperparameters run against live torch.
"""

import optax
import pytest
from tests.reference.harness import assert_trajectories_close, make_params, seeded_rng, torch_trajectory, trajectory, require_live
from tests.reference.zoo_torch_cases import (assert_fixture_equals_live, available, cases_as_stored, fixture_reference, load_fixture,
                                     zoo_kwargs, zoo_run)

import jaxopt_zoo as zoo

FIXTURES = load_fixture("rprop")
IDS = [f"{c['steps']}steps-" + "-".join(f"{k}={v}" for k, v in c["kwargs"].items()) for c in FIXTURES]


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
def test_fixed_cases_match_torch(case, dtype):
    got = zoo_run("rprop", case["kwargs"], dtype, case["steps"])
    assert_trajectories_close(got, fixture_reference(case, dtype), dtype)


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
@pytest.mark.parametrize("ref_dtype", ["float64", "float32"])
def test_committed_fixtures_still_equal_live_torch(case, ref_dtype):
    """The fixtures are what machines without torch compare against: they must not rot."""
    assert_fixture_equals_live("rprop", case, ref_dtype)


def test_fixture_cases_are_the_generator_cases():
    assert [dict(kwargs=c["kwargs"], steps=c["steps"]) for c in FIXTURES] == cases_as_stored("rprop")


@pytest.mark.parametrize("draw", range(2))
def test_random_hyperparameters_match_live_torch(draw, dtype, request):
    require_live(available("rprop"), "random draws need live torch; the fixed cases cover the fixtures")
    import torch

    rng = seeded_rng(request.node.name)[0]
    kw = dict(lr=rng.uniform(1e-3, 0.1), etas=(rng.uniform(0.2, 0.9), rng.uniform(1.05, 2.0)),
              step_sizes=(rng.uniform(1e-7, 1e-4), rng.uniform(0.05, 5.0)))
    print(kw)
    params = make_params(dtype)
    want = torch_trajectory(lambda ps: torch.optim.Rprop(ps, **kw), params)
    got = trajectory(zoo.rprop(**zoo_kwargs("rprop", kw)), params)
    assert_trajectories_close(got, want, dtype)


def test_optax_rprop_differs_from_torch():
    """The reason our reference is torch: optax's trajectory is not torch's."""
    (default,) = [c for c in FIXTURES if c["kwargs"] == {}]
    want = {k: v[:20] for k, v in fixture_reference(default, "float64")["params"].items()}
    theirs = trajectory(optax.rprop(0.01), make_params("float64"), steps=20, apply=optax.apply_updates)
    ours = trajectory(zoo.rprop(0.01), make_params("float64"), steps=20)
    assert_trajectories_close(ours, want, "float64")
    with pytest.raises(AssertionError):
        assert_trajectories_close(theirs, want, "float64")


def test_a_schedule_is_refused():
    with pytest.raises(TypeError, match=r"jaxopt_zoo\.rprop: argument `learning_rate` must be a float"):
        zoo.rprop(optax.constant_schedule(0.1))
