"""inject_hyperparams and current_hyperparams: moving hyperparameters, readable from the state."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, make_params, trajectory

import jaxopt_zoo as zoo


def test_scheduled_lr_and_b1_match_optax(dtype):
    lr = optax.warmup_cosine_decay_schedule(0.0, 3e-2, 20, 120)
    b1 = optax.linear_schedule(0.95, 0.85, 100)
    assert_same_as_optax(
        zoo.inject_hyperparams(zoo.adamw)(learning_rate=lr, b1=b1, weight_decay=0.05),
        optax.inject_hyperparams(optax.adamw)(learning_rate=lr, b1=b1, weight_decay=0.05),
        dtype,
    )


def test_one_cycle_drives_lr_and_momentum_through_inject(dtype):
    cycle = zoo.one_cycle_schedule(0.05, total_steps=120)
    tx = zoo.inject_hyperparams(zoo.sgd)(learning_rate=cycle, momentum=cycle.momentum, nesterov=True)
    # optax's trace promotes a float32 buffer with a float64 momentum (and then cannot scan):
    # its reference gets the momentum in the params' dtype; ours takes the float64 as it is.
    ref = optax.inject_hyperparams(optax.sgd)(learning_rate=cycle, nesterov=True,
                                              momentum=lambda t: jnp.asarray(cycle.momentum(t), dtype))
    assert_same_as_optax(tx, ref, dtype)


def test_float64_schedule_keeps_float32_state_dtypes():
    params = make_params("float32")
    cycle = zoo.one_cycle_schedule(0.05, total_steps=20)
    for factory, kw in [(zoo.sgd, dict(momentum=cycle.momentum)), (zoo.adam, dict(b1=cycle.momentum)),
                        (zoo.rmsprop, dict(decay=cycle.momentum))]:
        tx = zoo.inject_hyperparams(factory)(learning_rate=cycle, **kw)
        path = trajectory(tx, params, steps=20)
        assert all(v.dtype == jnp.float32 for v in path.values())


def test_state_holds_the_values_used_by_each_update():
    lr = zoo.linear_schedule(1.0, 0.0, 10)
    tx = zoo.chain(zoo.clip_by_global_norm(10.0), zoo.inject_hyperparams(zoo.sgd)(learning_rate=lr, momentum=0.9))
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    assert float(zoo.current_hyperparams(state)["learning_rate"]) == 1.0  # what the first update will use
    for k in range(4):
        _, state = tx.update({"w": jnp.ones(3)}, state, params)
        hp = zoo.current_hyperparams(state)
        assert float(hp["learning_rate"]) == pytest.approx(float(lr(k)))
        assert float(hp["momentum"]) == pytest.approx(0.9)


def test_changing_a_value_does_not_recompile():
    tx = zoo.inject_hyperparams(zoo.adam)(learning_rate=1e-3)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
        return zoo.apply_updates(params, updates), state

    params = {"w": jnp.zeros(2)}
    state = tx.init(params)
    params, state = step(params, state)
    state.hyperparams["learning_rate"] = jnp.asarray(0.5, state.hyperparams["learning_rate"].dtype)
    new_params, state = step(params, state)
    assert len(traces) == 1
    np.testing.assert_allclose(new_params["w"] - params["w"], -0.5, rtol=1e-6)


def test_static_args_stay_python_values():
    seen = []

    def factory(learning_rate, period):
        seen.append(type(period))
        return zoo.sgd(learning_rate)

    tx = zoo.inject_hyperparams(factory, static_args="period")(learning_rate=0.1, period=3)
    tx.init({"w": jnp.ones(1)})
    assert seen == [int]
    assert "period" not in tx.init({"w": jnp.ones(1)}).hyperparams


def test_several_inject_states_are_numbered():
    tx = zoo.multi_transform(
        {"a": zoo.inject_hyperparams(zoo.sgd)(learning_rate=0.1), "b": zoo.inject_hyperparams(zoo.adam)(learning_rate=0.2)},
        {"x": "a", "y": "b"},
    )
    hp = zoo.current_hyperparams(tx.init({"x": jnp.ones(1), "y": jnp.ones(1)}))
    assert sorted(float(v) for k, v in hp.items() if k.startswith("learning_rate")) == pytest.approx([0.1, 0.2])
    assert "learning_rate_1" in hp


def test_carriers_nested_in_another_carriers_inner_state_are_found():
    """An inject_hyperparams (and a reduce_on_plateau) inside a chain inside another one."""
    lr = zoo.linear_schedule(1.0, 0.0, 10)

    def outer(scale_value):
        return zoo.chain(zoo.inject_hyperparams(zoo.sgd)(learning_rate=lr, momentum=0.5),
                         zoo.reduce_on_plateau(factor=0.5, patience=0), zoo.scale(scale_value))

    tx = zoo.inject_hyperparams(outer)(scale_value=0.3)
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    for value in [1.0, 2.0, 3.0]:  # worse after the first, patience 0: halves twice
        _, state = tx.update({"w": jnp.ones(2)}, state, params, value=value)
    hp = zoo.current_hyperparams(state)
    assert sorted(hp) == ["learning_rate", "momentum", "plateau_scale", "scale_value"]
    assert float(hp["learning_rate"]) == pytest.approx(float(lr(2)))
    assert float(hp["momentum"]) == 0.5 and float(hp["scale_value"]) == pytest.approx(0.3)
    assert float(hp["plateau_scale"]) == 0.25


def test_nested_carriers_do_not_renumber_the_outer_ones():
    """Names found before nested carriers were searched keep their meaning: outermost first."""
    def outer(learning_rate):
        return zoo.chain(zoo.inject_hyperparams(zoo.sgd)(learning_rate=0.2), zoo.scale(learning_rate))

    tx = zoo.chain(zoo.inject_hyperparams(outer)(learning_rate=0.3), zoo.inject_hyperparams(zoo.sgd)(learning_rate=0.5))
    hp = zoo.current_hyperparams(tx.init({"w": jnp.ones(2)}))
    assert {k: round(float(v), 6) for k, v in hp.items()} == {"learning_rate": 0.3, "learning_rate_1": 0.5,
                                                               "learning_rate_2": 0.2}


def test_unknown_argument_is_a_clear_error():
    with pytest.raises(TypeError, match=r"jaxopt_zoo\.inject_hyperparams\(adam\)"):
        zoo.inject_hyperparams(zoo.adam)(learning_rate=0.1, beta_one=0.9)


def test_traced_hyperparameters_are_not_validated_and_train():
    params = make_params("float64")
    path = trajectory(zoo.inject_hyperparams(zoo.adamw)(learning_rate=1e-2, b1=0.9, b2=0.99, weight_decay=0.1), params, steps=20)
    assert all(np.isfinite(np.asarray(v)).all() for v in path.values())


def test_an_injected_count_says_to_use_static_args():
    """A count that shapes the computation (lookahead's sync_period) cannot be an injected
    array: the error says so and names static_args, which works."""
    params = jnp.ones(2)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.lookahead: argument `sync_period` .*static_args"):
        zoo.inject_hyperparams(zoo.lookahead)(fast_optimizer=zoo.sgd(0.1), sync_period=3).init(params)
    tx = zoo.inject_hyperparams(zoo.lookahead, static_args=("sync_period",))(fast_optimizer=zoo.sgd(0.1), sync_period=3)
    plain = zoo.lookahead(zoo.sgd(0.1), sync_period=3)
    s, ps = tx.init(params), plain.init(params)
    for _ in range(4):
        u, s = tx.update(params, s, params)
        pu, ps = plain.update(params, ps, params)
        np.testing.assert_array_equal(u, pu)
