"""noisy_sgd and add_noise against optax: the same key gives the same noise, so the same trajectory."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, seeded_rng

import jaxopt_zoo as zoo


def optax_quiet(factory, *args, **kwargs):
    """optax warns about a seed (deprecated) or a missing key; the numbers are what is compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(*args, **kwargs)


@pytest.mark.parametrize("case", ["defaults", "typed-key", "seed", "random"])  # seed: optax's deprecated name
def test_noisy_sgd_matches_optax(case, dtype, request):
    if case == "defaults":
        kw = dict(learning_rate=1e-2)  # key None: seed 0 in both
    elif case == "typed-key":
        kw = dict(learning_rate=2e-2, eta=0.1, gamma=0.3, key=jax.random.key(7))
    elif case == "seed":
        kw = dict(learning_rate=1e-2, eta=0.05, seed=11)
    else:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(learning_rate=rng.uniform(1e-3, 3e-2), eta=rng.uniform(1e-3, 0.3), gamma=rng.uniform(0, 1.0),
                  key=rng.randrange(2**31))
    print(kw)
    assert_same_as_optax(zoo.noisy_sgd(**kw), optax_quiet(optax.noisy_sgd, **kw), dtype)


def test_add_noise_matches_optax_in_a_chain(dtype):
    key = jax.random.key(3)
    assert_same_as_optax(zoo.chain(zoo.add_noise(0.02, 0.55, key), zoo.scale_by_adam(), zoo.scale(-1e-2)),
                         optax.chain(optax.add_noise(0.02, 0.55, key), optax.scale_by_adam(), optax.scale(-1e-2)), dtype)


def test_raw_key_data_gives_the_typed_keys_noise():
    g = {"a": jnp.zeros(3), "b": jnp.zeros((2, 2))}
    typed = zoo.add_noise(0.1, 0.5, jax.random.key(5))
    raw = zoo.add_noise(0.1, 0.5, jax.random.PRNGKey(5))
    u1, _ = typed.update(g, typed.init(g))
    u2, _ = raw.update(g, raw.init(g))
    for k in g:
        np.testing.assert_array_equal(np.asarray(u1[k]), np.asarray(u2[k]))


def test_different_keys_give_different_noise_and_state_is_plain_arrays():
    g = jnp.zeros(4)
    a, b = zoo.add_noise(0.1, 0.5, 1), zoo.add_noise(0.1, 0.5, 2)
    ua, sa = a.update(g, a.init(g))
    ub, _ = b.update(g, b.init(g))
    assert not np.allclose(np.asarray(ua), np.asarray(ub))
    assert sa.rng_key.dtype == jnp.uint32 and sa.count.dtype == jnp.int32


def test_key_and_seed_together_are_rejected():
    with pytest.raises(ValueError, match="jaxopt_zoo.noisy_sgd: argument `seed`"):
        zoo.noisy_sgd(0.1, key=1, seed=2)
    with pytest.raises(ValueError, match="jaxopt_zoo.add_noise: argument `key`"):
        zoo.add_noise(0.1, 0.5, key="abc")
