"""Every optax-named schedule against optax, for fixed and random arguments, past the end too."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import seeded_rng

import jaxopt_zoo as zoo

STEPS = jnp.arange(0, 700, dtype=jnp.int32)


def random_kwargs(rng, name):
    r = rng.uniform
    if name == "constant_schedule":
        return dict(value=r(0, 1))
    if name == "linear_schedule":
        return dict(init_value=r(0, 1), end_value=r(0, 1), transition_steps=rng.randint(0, 400), transition_begin=rng.randint(0, 100))
    if name == "polynomial_schedule":
        return dict(init_value=r(0, 1), end_value=r(0, 1), power=r(0.2, 3), transition_steps=rng.randint(1, 400),
                    transition_begin=rng.randint(0, 100))
    if name == "exponential_decay":
        return dict(init_value=r(0.1, 1), transition_steps=rng.randint(1, 100), decay_rate=r(0.1, 1.5),
                    transition_begin=rng.randint(0, 100), staircase=rng.random() < 0.5,
                    end_value=rng.choice([None, r(0.05, 2)]))
    if name == "cosine_decay_schedule":
        return dict(init_value=r(0.1, 1), decay_steps=rng.randint(1, 500), alpha=r(0, 0.5), exponent=r(0.5, 3))
    if name == "warmup_cosine_decay_schedule":
        warm = rng.randint(0, 100)
        return dict(init_value=r(0, 0.1), peak_value=r(0.1, 1), warmup_steps=warm, decay_steps=warm + rng.randint(1, 500),
                    end_value=r(0, 0.1), exponent=r(0.5, 2))
    if name == "warmup_exponential_decay_schedule":
        return dict(init_value=r(0, 0.1), peak_value=r(0.1, 1), warmup_steps=rng.randint(0, 100), transition_steps=rng.randint(1, 100),
                    decay_rate=r(0.1, 0.99), transition_begin=rng.randint(0, 50), staircase=rng.random() < 0.5,
                    end_value=rng.choice([None, r(0, 0.05)]))
    if name in ("piecewise_constant_schedule", "piecewise_interpolate_schedule"):
        bounds = {rng.randint(0, 600): r(0.1, 2) for _ in range(rng.randint(0, 5))}
        kw = dict(init_value=r(0.1, 1), boundaries_and_scales=bounds)
        if name == "piecewise_interpolate_schedule":
            kw["interpolate_type"] = rng.choice(["linear", "cosine"])
        return kw
    if name == "sgdr_schedule":
        cycles = []
        for _ in range(rng.randint(1, 4)):
            warm = rng.randint(0, 20)
            cycles.append(dict(init_value=r(0, 0.1), peak_value=r(0.1, 1), warmup_steps=warm, decay_steps=warm + rng.randint(1, 150)))
        return dict(cosine_kwargs=cycles)
    raise KeyError(name)


NAMES = ["constant_schedule", "linear_schedule", "polynomial_schedule", "exponential_decay", "cosine_decay_schedule",
         "warmup_cosine_decay_schedule", "warmup_exponential_decay_schedule", "piecewise_constant_schedule",
         "piecewise_interpolate_schedule", "sgdr_schedule"]


def values(schedule, steps=STEPS):
    return np.asarray(jax.jit(jax.vmap(schedule))(steps), np.float64) * np.ones(len(steps))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("draw", range(4))
def test_matches_optax(name, draw, request):
    kw = random_kwargs(seeded_rng(request.node.name)[0], name)
    print(name, kw)
    # optax is evaluated on float64 steps: on int32 steps it computes in float32.
    got, want = values(getattr(zoo, name)(**kw)), values(getattr(optax, name)(**kw), STEPS.astype(jnp.float64))
    assert np.isfinite(got).all()
    wrong = ~np.isfinite(want)
    if wrong.any():  # optax's polynomial defect: NaN past the end for fractional powers
        assert name == "polynomial_schedule", f"optax gave NaN for {name}"
        assert (np.nonzero(wrong)[0] >= kw["transition_begin"] + kw["transition_steps"]).all()
        np.testing.assert_array_equal(got[wrong], kw["end_value"])
    np.testing.assert_allclose(got[~wrong], want[~wrong], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_python_int_steps_equal_traced_steps(name, request):
    schedule = getattr(zoo, name)(**random_kwargs(seeded_rng(request.node.name)[0], name))
    traced = values(schedule)
    for t in (0, 1, 17, 250, 699):
        assert float(schedule(t)) == pytest.approx(traced[t], rel=1e-12, abs=1e-15)


def test_polynomial_fractional_power_is_finite_past_the_end():
    """optax returns NaN at the end on int32 steps (frac rounds below 0 in float32); we do not."""
    kw = dict(init_value=0.42, end_value=0.54, power=0.8, transition_steps=111, transition_begin=82)
    assert np.isnan(values(optax.polynomial_schedule(**kw))).any()  # the optax defect this guards
    got = values(zoo.polynomial_schedule(**kw))
    assert np.isfinite(got).all() and got[193:].tolist() == [0.54] * (len(STEPS) - 193)


def test_polynomial_derivative_stays_finite_past_the_end():
    """optax differentiates 0**power past the end (NaN for 0 < power < 1); ours does not."""
    kw = dict(init_value=1.0, end_value=0.1, power=0.5, transition_steps=100)
    at = jnp.asarray(150.0)
    assert jnp.isnan(jax.grad(optax.polynomial_schedule(**kw))(at))  # the optax defect this guards
    assert float(jax.grad(zoo.polynomial_schedule(**kw))(at)) == 0.0
    assert float(jax.grad(zoo.polynomial_schedule(**kw))(jnp.asarray(50.0))) == pytest.approx(
        float(jax.grad(optax.polynomial_schedule(**kw))(jnp.asarray(50.0))), rel=1e-12)
