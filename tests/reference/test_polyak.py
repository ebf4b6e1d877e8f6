"""polyak_sgd and scale_by_polyak against optax (the update takes value=)."""

import jax.numpy as jnp
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

VALUE = dict(extra_args=lambda p, v: {"value": v})
FIXED = {"polyak_sgd": [dict(), dict(max_learning_rate=0.3, scaling=0.5, f_min=-1.0, eps=1e-3, variant="sps+")]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(max_learning_rate=rng.uniform(0.05, 1.0), scaling=rng.uniform(0.1, 1.5), f_min=rng.uniform(-2, 0),
                       eps=10 ** rng.uniform(-6, -1), variant=rng.choice(["sps", "sps+"]))
    print(hparams)
    assert_same_as_optax(zoo.polyak_sgd(**hparams), optax.polyak_sgd(**hparams), dtype, **VALUE)


def test_schedule_scaling_matches_optax():
    sched = optax.linear_schedule(1.0, 0.2, 100)
    assert_same_as_optax(zoo.polyak_sgd(0.5, sched, f_min=-0.5), optax.polyak_sgd(0.5, sched, f_min=-0.5), "float64", **VALUE)


def test_scale_by_polyak_matches_optax(dtype):
    kw = dict(f_min=-0.5, max_learning_rate=0.2, eps=1e-4, variant="sps+")
    assert_same_as_optax(zoo.chain(zoo.scale_by_polyak(**kw), zoo.scale(-1.0)),
                         optax.chain(optax.scale_by_polyak(**kw), optax.scale(-1.0)), dtype, **VALUE)


@pytest.mark.parametrize("make", [zoo.polyak_sgd, zoo.scale_by_polyak])
def test_update_without_value_names_the_missing_value(make):
    tx = make()
    params = {"w": jnp.ones(2)}
    with pytest.raises(TypeError, match="needs the loss value"):  # as optax: a missing argument
        tx.update(params, tx.init(params), params)


def test_zero_gradient_takes_no_step():
    tx = zoo.polyak_sgd()
    params = {"w": jnp.zeros(2)}
    u, _ = tx.update(params, tx.init(params), params, value=3.0)
    assert float(jnp.abs(u["w"]).max()) == 0.0


def test_scaling_enters_before_the_norm_as_in_optax_code_not_its_docstring():
    """Pins the documented placement: step = min(gap / (s^2 |g|^2 + eps), max) * s * g, which is
    not optax's docstring's s * min(gap / (|g|^2 + eps), max) * g once scaling != 1."""
    g, value, s, cap = jnp.array([3.0, 4.0]), 5.0, 2.0, 10.0
    u, _ = zoo.polyak_sgd(max_learning_rate=cap, scaling=s).update(g, zoo.polyak_sgd().init(g), value=value)
    code = -min(value / (s**2 * 25.0), cap) * s * g
    docstring = -s * min(value / 25.0, cap) * g
    assert jnp.allclose(u, code) and not jnp.allclose(u, docstring)
    want, _ = optax.polyak_sgd(max_learning_rate=cap, scaling=s).update(g, optax.polyak_sgd().init(g), value=value)
    assert jnp.allclose(u, want)
