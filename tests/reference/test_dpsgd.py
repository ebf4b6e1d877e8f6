"""dpsgd and differentially_private_aggregate against optax.contrib, run side by side on
per-example gradients: the same seed/key gives optax's very noise, so the same trajectory."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from tests.reference.harness import STEPS, assert_trajectories_close, make_params, seeded_rng

import jaxopt_zoo as zoo

BATCH = 6


def _targets(dtype):
    """One target per example and leaf: the per-example losses pull different ways."""
    rng = np.random.default_rng(42)
    return {k: jnp.asarray(rng.normal(0.0, 1.5, (BATCH, *v.shape)), dtype) for k, v in make_params(dtype).items()}


def _example_loss(params, target):
    return sum(jnp.sum(0.5 * (params[k] - target[k]) ** 2 + 0.2 * jnp.cos(2.0 * params[k]) + 0.0125 * params[k] ** 4)
               for k in params)


def per_example_trajectory(tx, dtype, apply, steps=STEPS):
    """``steps`` updates of ``tx`` fed per-example gradients (``vmap`` of ``grad``)."""
    params, targets = make_params(dtype), _targets(dtype)
    grads = jax.vmap(jax.grad(_example_loss), in_axes=(None, 0))

    def step(carry, _):
        p, s = carry
        u, s = tx.update(grads(p, targets), s, p)
        p = apply(p, u)
        return (p, s), p

    return jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, tx.init(params)))[1]


def assert_same_as_optax_dp(zoo_tx, optax_tx, dtype):
    got = per_example_trajectory(zoo_tx, dtype, zoo.apply_updates)
    want = per_example_trajectory(optax_tx, dtype, optax.apply_updates)
    start = make_params(dtype)
    assert max(float(jnp.max(jnp.abs(want[k][-1] - start[k]))) for k in start) > 0.1  # it trains
    assert_trajectories_close(got, want, dtype)


def optax_quiet(factory, *args, **kwargs):
    """optax warns about a deprecated seed or a missing key; the numbers are what is compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(*args, **kwargs)


@pytest.mark.parametrize("case", ["defaults", "nesterov", "random"])
def test_dpsgd_matches_optax(case, dtype, request):
    kw = dict(learning_rate=5e-2, l2_norm_clip=1.0, noise_multiplier=0.5, seed=3)
    if case == "nesterov":
        kw.update(momentum=0.8, nesterov=True, seed=0)
    elif case == "random":
        rng = seeded_rng(request.node.name)[0]
        kw = dict(learning_rate=rng.uniform(1e-2, 5e-2), l2_norm_clip=rng.uniform(0.3, 3.0),
                  noise_multiplier=rng.uniform(0.0, 1.5), seed=rng.randrange(2**31),
                  momentum=rng.choice([None, rng.uniform(0.0, 0.9)]), nesterov=rng.random() < 0.5)
    print(kw)
    assert_same_as_optax_dp(zoo.dpsgd(**kw), optax_quiet(optax.contrib.dpsgd, **kw), dtype)


@pytest.mark.parametrize("key", ["typed", "none"])
def test_aggregate_in_a_chain_matches_optax(key, dtype):
    kw = {"typed": {"key": jax.random.key(9)}, "none": {}}[key]
    ours = zoo.chain(zoo.differentially_private_aggregate(2.0, 0.7, **kw), zoo.scale_by_adam(), zoo.scale(-2e-2))
    theirs = optax.chain(optax_quiet(optax.contrib.differentially_private_aggregate, 2.0, 0.7, **kw),
                         optax.scale_by_adam(), optax.scale(-2e-2))
    assert_same_as_optax_dp(ours, theirs, dtype)


def test_clipping_without_noise_is_the_mean_of_clipped_gradients():
    g = {"a": jnp.array([[3.0, 4.0], [0.0, 0.0], [0.3, 0.4]]), "b": jnp.array([[0.0], [0.0], [0.0]])}
    tx = zoo.differentially_private_aggregate(1.0, 0.0, key=0)
    u, state = tx.update(g, tx.init({"a": jnp.zeros(2), "b": jnp.zeros(1)}))
    np.testing.assert_allclose(np.asarray(u["a"]), np.array([0.9, 1.2]) / 3, rtol=1e-6)
    assert u["b"].shape == (1,) and state.rng_key.dtype == jnp.uint32


def test_every_form_of_the_key_gives_optax_noise():
    """optax takes a typed key, an int key or a seed (not a raw PRNGKey); the zoo also the raw key."""
    g = {"a": jnp.ones((4, 3)), "b": jnp.ones((4, 2, 2))}
    p = {"a": jnp.zeros(3), "b": jnp.zeros((2, 2))}
    want = optax_quiet(optax.contrib.differentially_private_aggregate, 0.5, 1.3, jax.random.key(9))
    want = want.update(g, want.init(p))[0]
    for kw in ({"key": 9}, {"seed": 9}, {"key": jax.random.PRNGKey(9)}, {"key": jax.random.key(9)}):
        ours = zoo.differentially_private_aggregate(0.5, 1.3, **kw)
        got, state = ours.update(g, ours.init(p))
        for k in p:
            np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(want[k]), err_msg=str(kw))
        if "seed" not in kw and not hasattr(kw["key"], "shape"):
            theirs = optax_quiet(optax.contrib.differentially_private_aggregate, 0.5, 1.3, **kw)
            np.testing.assert_array_equal(np.asarray(theirs.update(g, theirs.init(p))[0]["a"]), np.asarray(got["a"]))


def test_same_seed_same_noise_other_seed_other_noise():
    g = jnp.zeros((4, 3))
    draws = []
    for seed in (1, 1, 2):
        tx = zoo.dpsgd(1.0, 1.0, 1.0, seed)
        draws.append(np.asarray(tx.update(g, tx.init(jnp.zeros(3)))[0]))
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0], draws[2])


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"jaxopt_zoo.dpsgd: argument `l2_norm_clip`"):
        zoo.dpsgd(0.1, -1.0, 1.0, 0)
    with pytest.raises(ValueError, match=r"jaxopt_zoo.dpsgd: argument `seed`"):
        zoo.dpsgd(0.1, 1.0, 1.0, "zero")
    with pytest.raises(ValueError, match=r"argument `seed`.*together with `key`"):
        zoo.differentially_private_aggregate(1.0, 1.0, key=0, seed=1)
    tx = zoo.differentially_private_aggregate(1.0, 1.0, key=0)
    with pytest.raises(ValueError, match=r"argument `grads`.*batch"):  # a scalar leaf has no batch axis
        tx.update({"a": jnp.zeros((3, 2)), "s": jnp.zeros(())}, tx.init(None))
