"""Schedules: bad arguments, jit-safety on traced int32 steps, and the picture."""

import jax
import jax.numpy as jnp
import matplotlib
import pytest

import jaxopt_zoo as zoo

matplotlib.use("Agg")

BAD = [
    (zoo.step_decay_schedule, dict(init_value=0.1, step_size=0), "step_size", "0"),
    (zoo.multistep_decay_schedule, dict(init_value=0.1, milestones=[30, 10]), "milestones", r"\[30, 10\]"),
    (zoo.cyclic_schedule, dict(base_value=0.1, max_value=1.0, mode="sawtooth"), "mode", "'sawtooth'"),
    (zoo.one_cycle_schedule, dict(max_value=0.1, total_steps=100, anneal_strategy="cosine"), "anneal_strategy", "'cosine'"),
    (zoo.one_cycle_schedule, dict(max_value=0.1, total_steps=0), "total_steps", "0"),
    (zoo.cosine_decay_schedule, dict(init_value=0.1, decay_steps=0), "decay_steps", "0"),
    (zoo.cosine_warm_restarts_schedule, dict(init_value=0.1, t_0=0), "t_0", "0"),
    (zoo.cosine_warm_restarts_schedule, dict(init_value=0.1, t_0=5, t_mult=1.5), "t_mult", "1.5"),
    (zoo.exponential_decay, dict(init_value=0.1, transition_steps=0, decay_rate=0.5), "transition_steps", "0"),
    (zoo.warmup_cosine_decay_schedule, dict(init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=10), "decay_steps", "10"),
    (zoo.piecewise_interpolate_schedule, dict(interpolate_type="cubic", init_value=1.0), "interpolate_type", "'cubic'"),
    (zoo.join_schedules, dict(schedules=[zoo.constant_schedule(1.0)] * 3, boundaries=[20, 10]), "boundaries", r"\[20, 10\]"),
    (zoo.warmup_linear_decay_schedule, dict(peak_value=1.0, warmup_steps=10, total_steps=5), "total_steps", "5"),
]


@pytest.mark.parametrize("factory,kwargs,arg,value", BAD, ids=[f"{b[0].__name__}-{b[2]}" for b in BAD])
def test_bad_arguments_name_the_function_argument_and_value(factory, kwargs, arg, value):
    with pytest.raises(ValueError, match=rf"^jaxopt_zoo\.{factory.__name__}: argument `{arg}` .*got {value}"):
        factory(**kwargs)


ALL = [
    zoo.constant_schedule(0.1), zoo.linear_schedule(0.0, 1.0, 50), zoo.polynomial_schedule(1.0, 0.0, 0.5, 50),
    zoo.exponential_decay(1.0, 10, 0.5), zoo.cosine_decay_schedule(1.0, 50), zoo.warmup_cosine_decay_schedule(0.0, 1.0, 10, 50),
    zoo.warmup_exponential_decay_schedule(0.0, 1.0, 10, 10, 0.5), zoo.piecewise_constant_schedule(1.0, {10: 0.1}),
    zoo.piecewise_interpolate_schedule("linear", 1.0, {10: 0.1}), zoo.sgdr_schedule([dict(init_value=0.0, peak_value=1.0, warmup_steps=2, decay_steps=10)] * 2),
    zoo.step_decay_schedule(1.0, 10), zoo.multistep_decay_schedule(1.0, [5, 20]), zoo.inverse_time_decay_schedule(1.0, 0.1),
    zoo.cosine_warm_restarts_schedule(1.0, 5, 2), zoo.one_cycle_schedule(1.0, 50), zoo.cyclic_schedule(0.1, 1.0, 5),
    zoo.warmup_linear_decay_schedule(1.0, 10, 50),
]


@pytest.mark.parametrize("schedule", ALL)
def test_traced_int32_step_under_jit(schedule):
    steps = jnp.arange(0, 60, dtype=jnp.int32)
    values = jax.jit(jax.vmap(schedule))(steps)
    assert jnp.all(jnp.isfinite(values))
    assert float(values[7]) == pytest.approx(float(schedule(7)), rel=1e-12)


def test_plot_schedules_returns_a_labelled_figure(tmp_path):
    cycle = zoo.one_cycle_schedule(1e-3, 1000)
    fig = zoo.plot_schedules({"warmup + cosine": zoo.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 1000), "one cycle": cycle}, 1000)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["warmup + cosine", "one cycle", "one cycle (momentum)"]
    fig.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000
