"""New schedules against torch.optim.lr_scheduler: live torch where installed, fixtures where not."""

import pytest
from tests.reference.harness import seeded_rng, require_live
from tests.reference.torch_schedules import (FIXED_CASES, assert_sequences_close, load_fixtures, torch_available,
                             torch_sequence, zoo_sequence)

FIXTURES = load_fixtures()


@pytest.mark.parametrize("case", FIXTURES, ids=[f"{c['name']}-{i}" for i, c in enumerate(FIXTURES)])
def test_fixed_cases_equal_torch(case):
    reference = torch_sequence(case["name"], case["kwargs"], case["steps"]) if torch_available() else case["torch"]
    assert_sequences_close(zoo_sequence(case["name"], case["kwargs"], case["steps"]), reference)


@pytest.mark.parametrize("case", FIXTURES, ids=[f"{c['name']}-{i}" for i, c in enumerate(FIXTURES)])
def test_committed_fixtures_still_equal_live_torch(case):
    """The fixtures are what machines without torch compare against: they must not rot."""
    if not torch_available():  # nothing to compare against: the fixtures are the reference here
        assert case["torch"]["lr"]
        return
    assert_sequences_close(case["torch"], torch_sequence(case["name"], case["kwargs"], case["steps"]), rtol=0.0)


def test_fixture_cases_are_the_generator_cases():
    assert [(c["name"], c["kwargs"], c["steps"]) for c in FIXTURES] == [tuple(c) for c in FIXED_CASES]


def random_case(rng, name):
    if name == "step_decay_schedule":
        return dict(init_value=rng.uniform(0.01, 1), step_size=rng.randint(1, 40), gamma=rng.uniform(0.1, 0.99))
    if name == "multistep_decay_schedule":
        return dict(init_value=rng.uniform(0.01, 1), milestones=sorted(rng.randint(0, 150) for _ in range(rng.randint(1, 5))),
                    gamma=rng.uniform(0.1, 0.99))
    if name == "cosine_warm_restarts_schedule":
        return dict(init_value=rng.uniform(0.01, 1), t_0=rng.randint(1, 30), t_mult=rng.randint(1, 3), eta_min=rng.uniform(0, 0.01))
    if name == "one_cycle_schedule":
        total = rng.randint(20, 200)
        return dict(max_value=rng.uniform(0.01, 1), total_steps=total, pct_start=rng.uniform(0.1, 0.45),
                    anneal_strategy=rng.choice(["cos", "linear"]), div_factor=rng.uniform(2, 50),
                    final_div_factor=rng.uniform(10, 1e4), three_phase=rng.random() < 0.5)
    if name == "cyclic_schedule":
        return dict(base_value=rng.uniform(1e-4, 1e-2), max_value=rng.uniform(0.02, 0.5), step_size_up=rng.randint(1, 30),
                    step_size_down=rng.choice([None, rng.randint(1, 30)]),
                    mode=rng.choice(["triangular", "triangular2", "exp_range"]), gamma=rng.uniform(0.9, 1.0))
    if name == "inverse_time_decay_schedule":
        return dict(init_value=rng.uniform(0.01, 1), decay_rate=rng.uniform(0, 0.5))
    total = rng.randint(10, 200)
    return dict(peak_value=rng.uniform(1e-5, 1e-2), warmup_steps=rng.randint(0, total), total_steps=total)


NAMES = sorted({c[0] for c in FIXED_CASES})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("draw", range(3))
def test_random_arguments_equal_live_torch(name, draw, request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover fixtures")
    rng, _ = seeded_rng(request.node.name)
    kw = random_case(rng, name)
    steps = kw.get("total_steps", 200)
    print(name, kw)
    assert_sequences_close(zoo_sequence(name, kw, steps), torch_sequence(name, kw, steps))
