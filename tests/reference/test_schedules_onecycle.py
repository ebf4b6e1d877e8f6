"""warmup_constant_schedule, cosine_onecycle_schedule and linear_onecycle_schedule against optax,
at every step of a range that covers each phase boundary and past the end."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import seeded_rng

import jaxopt_zoo as zoo

STEPS = jnp.arange(0, 260, dtype=jnp.int32)


def values(schedule, steps=STEPS):
    return np.asarray(jax.jit(jax.vmap(schedule))(steps), np.float64) * np.ones(len(steps))


def assert_same(name, kw):
    # optax is evaluated on float64 steps: on int32 steps it computes in float32 (as in test_schedules_optax).
    got, want = values(getattr(zoo, name)(**kw)), values(getattr(optax, name)(**kw), STEPS.astype(jnp.float64))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"{name} {kw}")


FIXED = [
    ("warmup_constant_schedule", dict(init_value=0.0, peak_value=1e-2, warmup_steps=100)),
    ("warmup_constant_schedule", dict(init_value=0.3, peak_value=0.1, warmup_steps=0)),
    ("cosine_onecycle_schedule", dict(transition_steps=200, peak_value=0.1)),
    ("cosine_onecycle_schedule", dict(transition_steps=77, peak_value=1.0, pct_start=0.0, div_factor=3.0, final_div_factor=7.0)),
    ("linear_onecycle_schedule", dict(transition_steps=200, peak_value=0.1)),
    ("linear_onecycle_schedule", dict(transition_steps=101, peak_value=2.0, pct_start=0.1, pct_final=0.6, div_factor=5.0,
                                      final_div_factor=50.0)),
]


@pytest.mark.parametrize("name,kw", FIXED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FIXED)])
def test_fixed_arguments_match_optax(name, kw):
    assert_same(name, kw)


@pytest.mark.parametrize("name", ["warmup_constant_schedule", "cosine_onecycle_schedule", "linear_onecycle_schedule"])
def test_random_arguments_match_optax(name, request):
    rng = seeded_rng(request.node.name)[0]
    for _ in range(3):
        if name == "warmup_constant_schedule":
            kw = dict(init_value=rng.uniform(0, 1), peak_value=rng.uniform(0, 1), warmup_steps=rng.randint(0, 250))
        else:
            kw = dict(transition_steps=rng.randint(20, 250), peak_value=rng.uniform(0.01, 2), pct_start=rng.uniform(0, 0.45),
                      div_factor=rng.uniform(1, 50), final_div_factor=rng.uniform(1, 1e4))
            if name == "linear_onecycle_schedule":
                kw["pct_final"] = rng.uniform(0.55, 0.95)
        print(name, kw)
        assert_same(name, kw)


BAD = [
    (zoo.warmup_constant_schedule, dict(init_value=0.0, peak_value=1.0, warmup_steps=-1), "warmup_steps"),
    (zoo.warmup_constant_schedule, dict(init_value=0.0, peak_value=1.0, warmup_steps=2.5), "warmup_steps"),
    (zoo.cosine_onecycle_schedule, dict(transition_steps=0, peak_value=1.0), "transition_steps"),
    (zoo.cosine_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, pct_start=1.0), "pct_start"),
    (zoo.cosine_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, div_factor=0.0), "div_factor"),
    (zoo.linear_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, pct_start=0.5, pct_final=0.5), "pct_start"),
    (zoo.linear_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, pct_start=0.5, pct_final=0.3), "pct_start"),
    (zoo.linear_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, pct_final=1.0), "pct_final"),
    (zoo.linear_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, pct_final=1.2), "pct_final"),
    (zoo.linear_onecycle_schedule, dict(transition_steps=10, peak_value=1.0, final_div_factor=-1.0), "final_div_factor"),
]


@pytest.mark.parametrize("fn,kw,arg", BAD, ids=[f"{f.__name__}-{a}-{i}" for i, (f, _, a) in enumerate(BAD)])
def test_bad_arguments_raise(fn, kw, arg):
    with pytest.raises(ValueError, match=f"jaxopt_zoo.{fn.__name__}: argument `{arg}`"):
        fn(**kw)


def test_optax_silently_changes_the_schedule_when_phases_coincide():
    """Why the zoo refuses pct_start == pct_final: optax's {step: scale} dict keeps only the last
    scale at step 5 (1/25, not 25 then 1/25), so its schedule never reaches the peak and ends
    div_factor times too low."""
    s = optax.linear_onecycle_schedule(10, 1.0, pct_start=0.5, pct_final=0.5, div_factor=25.0, final_div_factor=1e4)
    peak = max(float(s(jnp.asarray(t, jnp.float64))) for t in range(11))
    assert peak == pytest.approx(1.0 / 25.0)  # the start value: no peak at 1.0
    described_end = 1.0 / (25.0 * 1e4)
    assert float(s(jnp.asarray(10.0))) == pytest.approx(described_end / 25.0)
