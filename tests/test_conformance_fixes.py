"""Zoo bugs found by optax's own tests after the issue 15 merges (issue 13), each pinned here.

* ``reduce_on_plateau`` takes optax's call (``rtol``, ``atol``, ``accumulation_size``) with
  optax's rule, keeps torch's rule and keywords, and refuses a mix of the two;
* ``EmptyState`` is optax's: a stateless zoo state equals optax's as a pytree (``freeze``);
* ``trace(decay=1.0)`` is accepted (a plain accumulator), as optax and torch accept it;
* ``muon``'s state has optax's layout (``PartitionState`` with ``"muon"``/``"adam"``);
* ``adafactor`` inits from abstract params (``jax.ShapeDtypeStruct``) with factored leaves;
* ``scale_by_polyak`` without ``value=`` raises ``TypeError``, as a missing argument does.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import jaxopt_zoo as zoo

# ------------------------------------------------------------------ reduce_on_plateau


def _values(n=60, seed=0):
    """A noisy loss that plateaus, with negative stretches (both rules' edge cases)."""
    rng = np.random.default_rng(seed)
    base = np.concatenate([np.linspace(2.0, 0.5, n // 3), np.full(n - n // 3, 0.5)])
    return base + 0.05 * rng.standard_normal(n) - 0.4


def _run(tx, values):
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    update = jax.jit(tx.update)  # eagerly, each call of either library's update compiles its conds anew
    out = []
    for v in values:
        updates, state = update(params, state, params, value=jnp.asarray(v))
        out.append((float(updates["w"][0]), int(state.plateau_count), int(state.cooldown_count),
                    float(state.best_value), int(state.count), float(state.avg_value)))
    return out


@pytest.mark.parametrize("kwargs", [
    dict(rtol=1e-4, atol=0.0, cooldown=5, accumulation_size=1, patience=5, min_scale=0.01),
    dict(factor=0.5, patience=3, rtol=0.0, atol=0.01, cooldown=2, accumulation_size=4),
    dict(factor=0.3, patience=2, rtol=0.02, atol=0.001, accumulation_size=3, min_scale=0.05),
    dict(patience=2, accumulation_size=2),
])
def test_reduce_on_plateau_optax_call_is_optax_rule(kwargs):
    got = _run(zoo.reduce_on_plateau(**kwargs), _values())
    want = _run(optax.contrib.reduce_on_plateau(**kwargs), _values())
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6, atol=1e-7)
    assert min(g[0] for g in got) < 1.0  # the scale was reduced: the rule was exercised


def test_reduce_on_plateau_optax_state_class_takes_avg_value():
    tx = zoo.reduce_on_plateau(patience=5, rtol=1e-4, atol=0.0, cooldown=5, min_scale=0.01)
    state = zoo.ReduceLROnPlateauState(
        scale=jnp.array(0.1), best_value=jnp.array(1.0), plateau_count=jnp.array(3, jnp.int32),
        cooldown_count=jnp.array(0, jnp.int32), count=jnp.array(0, jnp.int32), avg_value=jnp.array(0.0))
    _, state = tx.update({"w": jnp.ones(2)}, state, value=0.1)
    assert int(state.plateau_count) == 0 and float(state.best_value) == pytest.approx(0.1)


def test_reduce_on_plateau_default_call_is_still_torch_rule():
    """No optax keyword: torch's patience (reduce on the patience + 1-th bad step)."""
    tx = zoo.reduce_on_plateau(patience=2)
    params = jnp.ones(1)
    state = tx.init(params)
    scales = []
    for _ in range(5):
        _, state = tx.update(params, state, params, value=1.0)
        scales.append(float(state.scale))
    assert scales == [1.0, 1.0, 1.0, pytest.approx(0.1), pytest.approx(0.1)]
    # optax's rule reduces one step earlier
    tx = zoo.reduce_on_plateau(patience=2, rtol=1e-4)
    state = tx.init(params)
    for _ in range(3):
        _, state = tx.update(params, state, params, value=1.0)
    assert float(state.scale) == pytest.approx(0.1)


@pytest.mark.parametrize("kwargs", [
    dict(rtol=1e-3, threshold=1e-3), dict(atol=0.1, mode="max"), dict(accumulation_size=2, eps=0.0),
    dict(rtol=1e-4, threshold_mode="abs"),
])
def test_reduce_on_plateau_refuses_a_mix_of_styles(kwargs):
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.reduce_on_plateau: .*do not mix"):
        zoo.reduce_on_plateau(**kwargs)


@pytest.mark.parametrize("kwargs,arg", [
    (dict(rtol=0.0, atol=0.0), "atol"), (dict(rtol=1.5), "rtol"), (dict(atol=-1.0), "atol"),
    (dict(accumulation_size=0), "accumulation_size"), (dict(rtol=1e-4, patience=0), "patience"),
])
def test_reduce_on_plateau_optax_arguments_are_checked(kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.reduce_on_plateau: argument `{arg}`"):
        zoo.reduce_on_plateau(**kwargs)


def test_reduce_on_plateau_torch_keywords_still_work():
    tx = zoo.reduce_on_plateau(patience=0, threshold=0.5, threshold_mode="abs", mode="max", eps=0.0)
    params = jnp.ones(1)
    state = tx.init(params)
    for v in [1.0, 1.2]:  # 1.2 is not better than 1.0 + 0.5: one bad step > patience 0
        _, state = tx.update(params, state, params, value=v)
    assert float(state.scale) == pytest.approx(0.1)


# ------------------------------------------------------------------ EmptyState, freeze


def test_stateless_states_are_optax_empty_state():
    params = {"a": jnp.ones(2), "b": jnp.zeros(3)}
    state = zoo.freeze({"a": True, "b": False}).init(params)
    assert jax.tree.structure(state.inner_state) == jax.tree.structure(optax.EmptyState())
    assert jax.tree.structure(zoo.identity().init(params)) == jax.tree.structure(optax.identity().init(params))


# ------------------------------------------------------------------ trace(decay=1.0)


def test_trace_accepts_decay_one_as_optax():
    g = {"w": jnp.array([1.0, -2.0])}
    zs, os_ = zoo.trace(decay=1.0), optax.trace(decay=1.0)
    z_state, o_state = zs.init(g), os_.init(g)
    for _ in range(3):
        zu, z_state = zs.update(g, z_state)
        ou, o_state = os_.update(g, o_state)
    np.testing.assert_allclose(zu["w"], ou["w"])
    np.testing.assert_allclose(zu["w"], [3.0, -6.0])
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.trace: argument `decay` must be in \[0, 1\]"):
        zoo.trace(decay=1.5)


# ------------------------------------------------------------------ muon's state layout


def test_muon_state_has_optax_layout():
    params = {"w1": jnp.ones((1, 2, 3)), "w2": jnp.ones((3, 4))}
    z_state = zoo.muon(1e-3).init(params)
    o_state = optax.contrib.muon(1e-3).init(params)
    assert set(z_state[0]) == set(o_state[0]) == {"muon", "adam"}
    z_mu, o_mu = z_state[0]["muon"][0][0][1], o_state[0]["muon"][0][0][1]
    for key in params:
        assert isinstance(z_mu[key], zoo.MaskedNode) == isinstance(o_mu[key], optax.MaskedNode)
    _, z_state = zoo.muon(1e-3).update(params, z_state, params)  # update reads the new layout
    assert isinstance(z_state, zoo.PartitionState)


# ------------------------------------------------------------------ adafactor, abstract params


def test_adafactor_init_takes_abstract_params_with_factored_leaves():
    params = jax.ShapeDtypeStruct(shape=(2, 4, 8), dtype=jnp.float32)
    state = zoo.adafactor(min_dim_size_to_factor=1).init(params)
    concrete = zoo.adafactor(min_dim_size_to_factor=1).init(jnp.zeros((2, 4, 8)))
    assert jax.tree.map(jnp.shape, state) == jax.tree.map(jnp.shape, concrete)


# ------------------------------------------------------------------ polyak without value


@pytest.mark.parametrize("make", [zoo.scale_by_polyak, zoo.polyak_sgd])
def test_polyak_without_value_is_a_type_error_as_optax(make):
    params = jnp.ones(2)
    tx = make()
    with pytest.raises(TypeError, match="needs the loss value"):
        tx.update(params, tx.init(params), params)
