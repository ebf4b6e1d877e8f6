"""Schedule-free SGD and AdamW against the schedulefree package's reference classes.

Both the training point y (our params) and the evaluation average x
(schedule_free_eval_params) are compared at every step. Fixed cases compare with the
committed fixtures (tools/fixtures/zoo_torch.py), so they run without torch
and schedulefree (float32 runs against the float64 reference); where those are installed the
fixtures are checked against them and random hyperparameters run against them live.
"""

import jax
import pytest
from tests.reference.harness import assert_trajectories_close, loss, make_params, seeded_rng, require_live
from tests.reference.zoo_torch_cases import assert_fixture_equals_live, available, cases_as_stored, fixture_reference, load_fixture, reference, zoo_run

import jaxopt_zoo as zoo

MEMBERS = ["schedule_free_sgd", "schedule_free_adamw"]
FIXTURES = [(m, c) for m in MEMBERS for c in load_fixture(m)]
IDS = [f"{m}-" + ("-".join(f"{k}={v}" for k, v in c["kwargs"].items())) for m, c in FIXTURES]


@pytest.mark.parametrize("member,case", FIXTURES, ids=IDS)
def test_fixed_cases_match_schedulefree(member, case, dtype):
    got = zoo_run(member, case["kwargs"], dtype, case["steps"])
    assert_trajectories_close(got, fixture_reference(case, dtype), dtype)


@pytest.mark.parametrize("member,case", FIXTURES, ids=IDS)
def test_committed_fixtures_still_equal_live_schedulefree(member, case):
    """The fixtures are what machines without schedulefree compare against: they must not rot."""
    assert_fixture_equals_live(member, case)


@pytest.mark.parametrize("member", MEMBERS)
def test_fixture_cases_are_the_generator_cases(member):
    assert [dict(kwargs=c["kwargs"], steps=c["steps"]) for m, c in FIXTURES if m == member] == cases_as_stored(member)


def random_kwargs(rng, member):
    if member == "schedule_free_sgd":
        return dict(lr=rng.uniform(0.05, 0.8), momentum=rng.uniform(0.5, 0.95), weight_decay=rng.uniform(0, 0.1),
                    warmup_steps=rng.randint(0, 30), r=rng.uniform(0, 1), weight_lr_power=rng.uniform(0, 3))
    # Adam-type steps with lr > ~2e-2 and small betas make this test problem chaotic near its
    # minimum (a 1-ulp difference in pow() grows to 1e-2 within 40 steps, in any two
    # implementations); random draws stay where rounding is not amplified.
    return dict(lr=rng.uniform(1e-3, 1e-2), betas=(rng.uniform(0.7, 0.95), rng.uniform(0.95, 0.999)), weight_decay=rng.uniform(0, 0.1),
                warmup_steps=rng.randint(0, 30), r=rng.uniform(0, 1), decay_at_z=rng.random() < 0.5)


@pytest.mark.parametrize("member", MEMBERS)
def test_random_hyperparameters_match_live_schedulefree(member, dtype, request):
    require_live(available(member), "random draws need the live reference; the fixed cases cover the fixtures")
    kw = random_kwargs(seeded_rng(request.node.name)[0], member)
    print(member, kw)
    assert_trajectories_close(zoo_run(member, kw, dtype), reference(member, kw, dtype), dtype)


def test_eval_params_found_inside_a_chain():
    params = make_params("float64")
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.schedule_free_adamw(1e-2))
    state = tx.init(params)
    _, state = tx.update(jax.grad(loss)(params), state, params)
    assert zoo.schedule_free_eval_params(state, params) is state[1].x
