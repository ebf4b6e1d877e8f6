"""An optax user's code runs on the zoo's same-named members (issue 13, item 4): optax's
keyword names, defaults and forms (LookaheadParams, warmup_steps=None, lion's modes, ...).
The signatures themselves are compared in test_optax_signatures.py."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from tests.reference.harness import STEPS, assert_trajectories_close, loss, make_params, trajectory

import jaxopt_zoo as zoo


# --- lookahead in optax's LookaheadParams form ------------------------------------------------

def lookahead_user_code(lib, make_pair, params, reset_state, steps=STEPS):
    """The loop of optax.lookahead's docstring, with `lib` standing for optax or the zoo."""
    tx = lib.lookahead(lib.adam(2e-2), sync_period=3, slow_step_size=0.7, reset_state=reset_state)
    start = make_pair.init_synced(params)

    def step(carry, _):
        lp, state = carry
        updates, state = tx.update(jax.grad(loss)(lp.fast), state, lp)
        lp = optax.apply_updates(lp, updates)
        return (lp, state), (lp.fast, lp.slow)

    (last, _), path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((start, tx.init(start)))
    assert type(last) is make_pair
    return path


@pytest.mark.parametrize("pair,reset_state", [("optax.LookaheadParams", False), ("zoo.LookaheadParams", True)])
def test_lookahead_runs_optax_users_code(pair, reset_state, dtype):
    params = make_params(dtype)
    make_pair = optax.LookaheadParams if pair.startswith("optax") else zoo.LookaheadParams
    want = lookahead_user_code(optax, optax.LookaheadParams, params, reset_state)
    got = lookahead_user_code(zoo, make_pair, params, reset_state)
    assert_trajectories_close(got, want, dtype)  # the fast and the slow paths


def test_lookahead_params_init_synced_copies():
    p = {"w": jnp.ones(3)}
    lp = zoo.LookaheadParams.init_synced(p)
    assert lp.fast is p and lp.slow["w"] is not p["w"]
    np.testing.assert_array_equal(lp.slow["w"], p["w"])
    state = zoo.lookahead(zoo.sgd(0.1)).init(lp)
    assert state.fast_state == state.inner_state and state.slow is None


# --- schedule-free: optax.contrib's order, warmup_steps=None, b1, state_dtype -------------------

@pytest.mark.parametrize("name,args", [("schedule_free_adamw", (1e-2,)), ("schedule_free_sgd", (0.3, None, 0.8, 1e-2))])
def test_schedule_free_takes_optax_call_without_warmup(name, args, dtype):
    """optax.contrib's schedule-free differs from schedulefree's only in its warmup; without
    one (optax's default warmup_steps=None) the zoo equals it on optax's positional call."""
    params = make_params(dtype)
    got = trajectory(getattr(zoo, name)(*args), params)
    want = trajectory(getattr(optax.contrib, name)(*args), params)
    assert_trajectories_close(got, want, dtype)


def test_schedule_free_state_dtype_is_the_z_dtype():
    params = {"w": jnp.ones(3, jnp.float64), "i": jnp.ones(2, jnp.int32)}
    for name in ("schedule_free_adamw", "schedule_free_sgd"):
        tx = getattr(zoo, name)(1e-2, state_dtype=jnp.float32)
        ref = getattr(optax.contrib, name)(1e-2, state_dtype=jnp.float32)
        state = tx.init(params)
        assert state.z["w"].dtype == jnp.float32 == optax.tree.get(ref.init(params), "z")["w"].dtype
        updates, state = tx.update({"w": jnp.ones(3), "i": jnp.zeros(2, jnp.int32)}, state, params)
        assert state.z["w"].dtype == jnp.float32 and updates["w"].dtype == jnp.float64


# --- scale_by_lion's sign variants ---------------------------------------------------------------

@pytest.mark.parametrize("mode,smooth_beta", [("smooth", 3.0), ("refined", 1.0), ("hard", 1.0)])
def test_scale_by_lion_modes_equal_optax(mode, smooth_beta, dtype):
    params = make_params(dtype)
    got = trajectory(zoo.chain(zoo.scale_by_lion(0.8, 0.95, mode=mode, smooth_beta=smooth_beta), zoo.scale(-1e-2)), params)
    want = trajectory(optax.chain(optax.scale_by_lion(0.8, 0.95, mode=mode, smooth_beta=smooth_beta), optax.scale(-1e-2)), params)
    assert_trajectories_close(got, want, dtype)


# --- schedules -----------------------------------------------------------------------------------

def test_warmup_cosine_decay_schedule_takes_a_negative_end_value():
    args = (0.0, 1.0, 10, 50, -0.2)
    zoo_s, ref_s = zoo.warmup_cosine_decay_schedule(*args), optax.warmup_cosine_decay_schedule(*args)
    steps = jnp.arange(60)
    np.testing.assert_allclose(jax.vmap(zoo_s)(steps), jax.vmap(ref_s)(steps), rtol=1e-12, atol=1e-15)
    assert float(zoo_s(60)) == pytest.approx(-0.2)


# --- inject_hyperparams: stateful schedules, static_args checked -----------------------------------

class HalveOnRise:
    """A stateful schedule (optax's protocol) that halves when the `value=` rises."""

    def init(self):
        return {"lr": jnp.asarray(0.1), "last": jnp.asarray(jnp.inf)}

    def update(self, state, value=None, **extra_args):
        rise = value > state["last"]
        return {"lr": jnp.where(rise, state["lr"] / 2, state["lr"]), "last": jnp.asarray(value, state["last"].dtype)}

    def __call__(self, state, **extra_args):
        return state["lr"]


@pytest.mark.parametrize("make_schedule", ["HalveOnRise", "optax.WrappedSchedule", "zoo.WrappedSchedule"])
def test_inject_hyperparams_takes_stateful_schedules(make_schedule):
    def schedule():
        if make_schedule == "HalveOnRise":
            return HalveOnRise()
        wrap = optax.WrappedSchedule if make_schedule.startswith("optax") else zoo.WrappedSchedule
        return wrap(optax.linear_schedule(0.1, 0.01, 5))

    params = {"w": jnp.array([1.0, -2.0])}
    zoo_tx = zoo.inject_hyperparams(zoo.sgd)(learning_rate=schedule(), momentum=0.5)
    ref_tx = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule(), momentum=0.5)
    zs, rs = zoo_tx.init(params), ref_tx.init(params)
    zp = rp = params
    for value in (3.0, 2.0, 2.5, 1.0, 1.5, 1.6):
        zu, zs = jax.jit(zoo_tx.update)(zp, zs, zp, value=value)
        ru, rs = jax.jit(ref_tx.update)(rp, rs, rp, value=value)
        zp, rp = zoo.apply_updates(zp, zu), optax.apply_updates(rp, ru)
        np.testing.assert_allclose(zs.hyperparams["learning_rate"], rs.hyperparams["learning_rate"], rtol=1e-12)
        np.testing.assert_allclose(zp["w"], rp["w"], rtol=1e-12)
    assert isinstance(zs, zoo.InjectStatefulHyperparamsState)
    assert jax.tree.structure(zs.hyperparams_states) == jax.tree.structure(rs.hyperparams_states)
    assert float(zoo.current_hyperparams(zs)["learning_rate"]) == float(zs.hyperparams["learning_rate"])


def test_wrapped_schedule_equals_the_plain_schedule_and_the_old_name_works():
    sched = zoo.linear_schedule(0.1, 0.0, 10)
    params = {"w": jnp.ones(2)}
    txs = [zoo.inject_hyperparams(zoo.sgd)(learning_rate=sched),
           zoo.inject_stateful_hyperparams(zoo.sgd)(learning_rate=zoo.WrappedSchedule(sched))]
    states = [tx.init(params) for tx in txs]
    for _ in range(4):
        outs = [tx.update(params, s, params) for tx, s in zip(txs, states)]
        states = [o[1] for o in outs]
        np.testing.assert_array_equal(outs[0][0]["w"], outs[1][0]["w"])
    assert isinstance(states[0], zoo.InjectHyperparamsState)  # plain schedules keep the plain state


def test_inject_hyperparams_refuses_misspelt_static_args():
    with pytest.raises(ValueError, match=r"inject_hyperparams: argument `static_args` must name arguments of sgd.*\['nesterv'\]"):
        zoo.inject_hyperparams(zoo.sgd, static_args="nesterv")
    with pytest.raises(ValueError):  # optax raises too
        optax.inject_hyperparams(optax.sgd, static_args="nesterv")
    zoo.inject_hyperparams(zoo.sgd, static_args=("nesterov",))(0.1)


# --- optax arguments the zoo lacked ---------------------------------------------------------------

@pytest.mark.parametrize("name,args,kwargs", [
    ("amsgrad", (1e-2, 0.9, 0.99, 1e-8, 0.0, None, False, True), {}),
    ("amsgrad", (1e-2,), dict(bias_correction_nu=False)),
    ("nadam", (1e-2,), dict(nesterov=False)),
])
def test_optax_arguments_mean_what_they_mean_in_optax(name, args, kwargs, dtype):
    params = make_params(dtype)
    got = trajectory(getattr(zoo, name)(*args, **kwargs), params)
    want = trajectory(getattr(optax, name)(*args, **kwargs), params)
    assert_trajectories_close(got, want, dtype)


# --- masked / multi_transform: mask_compatible_extra_args ------------------------------------------

def _tag_probe():
    """Records the `tags=` tree it receives (as the sum of each leaf) in its state."""
    def update_fn(updates, state, params=None, *, tags=None, **extra_args):
        return updates, jax.tree.map(lambda t: jnp.sum(t).astype(float), tags)
    return zoo.GradientTransformation(lambda p: jax.tree.map(lambda x: jnp.zeros([]), p), update_fn)


@pytest.mark.parametrize("lib", ["optax", "zoo"])
def test_mask_compatible_extra_args(lib):
    m = optax if lib == "optax" else zoo
    params = {"a": jnp.ones(2), "b": jnp.ones(3)}
    tags = {"a": jnp.full(2, 1.0), "b": jnp.full(3, 2.0)}
    tx = m.masked(_tag_probe(), {"a": True, "b": False}, mask_compatible_extra_args=True)
    _, state = tx.update(params, tx.init(params), params, tags=tags)
    assert [float(x) for x in jax.tree.leaves(state.inner_state)] == [2.0]  # only a's tags: b masked out
    tx = m.multi_transform({"x": _tag_probe(), "y": _tag_probe()}, {"a": "x", "b": "y"}, mask_compatible_extra_args=True)
    _, state = tx.update(params, tx.init(params), params, tags=tags)
    assert [float(x) for x in jax.tree.leaves(state.inner_states["y"])] == [6.0]
