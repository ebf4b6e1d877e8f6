"""sophia, scale_by_sophia and hutchinson_estimator_diag_hessian against optax.contrib (same key,
same signs); the default without optax's bias correction (the paper's, the authors') pinned."""

import jax
import jax.numpy as jnp
import optax
import optax.contrib
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, loss, seeded_rng

import jaxopt_zoo as zoo

OBJ = dict(extra_args=lambda p, v: {"obj_fn": loss})
FIXED = {"sophia": [dict(learning_rate=0.05), dict(learning_rate=0.05, clip_threshold=None, eps=1.0)]}


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax_with_its_bias_correction(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(0.01, 0.1), b1=rng.uniform(0.5, 0.99), b2=rng.uniform(0.5, 0.999),
                       eps=10 ** rng.uniform(-8, -4), weight_decay=rng.uniform(0, 0.1), gamma=rng.uniform(0.005, 0.5),
                       clip_threshold=rng.uniform(0.1, 2.0), update_interval=rng.randint(1, 7))
    print(hparams)
    seed = jax.random.PRNGKey(7)
    zoo_tx = zoo.sophia(**hparams, hessian_diagonal_fn=zoo.hutchinson_estimator_diag_hessian(seed),
                        bias_correction=True)
    ref = optax.contrib.sophia(**hparams, hessian_diagonal_fn=optax.contrib.hutchinson_estimator_diag_hessian(seed))
    assert_same_as_optax(zoo_tx, ref, dtype, **OBJ)


def test_scale_by_sophia_defaults_and_mu_dtype_match_optax(dtype):
    kw = dict(mu_dtype=jnp.float32) if dtype == "float32" else {}
    assert_same_as_optax(zoo.chain(zoo.scale_by_sophia(bias_correction=True, **kw), zoo.scale(-0.03)),
                         optax.chain(optax.contrib._sophia.scale_by_sophia(**kw), optax.scale(-0.03)), dtype, **OBJ)


def test_hutchinson_estimates_are_optax_estimates_for_the_same_key():
    params = {"a": jnp.arange(3.0), "b": jnp.ones((2, 2))}
    obj = lambda p: jnp.sum(jnp.sin(p["a"]) ** 2) + jnp.sum(p["b"] ** 3 * p["a"][0])  # noqa: E731
    key = jax.random.PRNGKey(3)
    ours, theirs = zoo.hutchinson_estimator_diag_hessian(key), optax.contrib.hutchinson_estimator_diag_hessian(key)
    s, t = ours.init(params), theirs.init(params)
    for _ in range(3):
        h, s = ours.update(params, s, params, obj_fn=obj)
        w, t = theirs.update(params, t, params, obj_fn=obj)
        for k in params:
            assert jnp.array_equal(h[k], w[k])
    assert jnp.array_equal(s.key, t.key)


def test_default_has_no_bias_correction_unlike_optax():
    """Pins the documented departure: m_t, not m_t / (1 - b1^t) (the paper's Algorithm 3 and
    the authors' SophiaG); with bias_correction=True it is optax's step."""
    p = jnp.array([0.3, -0.2])
    obj = lambda x: jnp.sum(x**2)  # noqa: E731
    kw = dict(clip_threshold=None, update_interval=1)
    ours, ref = zoo.scale_by_sophia(**kw), optax.contrib._sophia.scale_by_sophia(**kw)
    s, r = ours.init(p), ref.init(p)
    _, s = ours.update(2 * p, s, p, obj_fn=obj)
    _, r = ref.update(2 * p, r, p, obj_fn=obj)
    h = s.nu  # the second step uses the first estimate
    u, s = ours.update(2 * p, s, p, obj_fn=obj)
    w, r = ref.update(2 * p, r, p, obj_fn=obj)
    assert jnp.allclose(u, s.mu / jnp.maximum(0.01 * h, 1e-8))
    assert jnp.allclose(w, s.mu / (1 - 0.965**2) / jnp.maximum(0.01 * h, 1e-8))
    assert not jnp.allclose(u, w)


def test_update_without_obj_fn_or_params_is_refused():
    tx = zoo.sophia(0.1)
    p = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="needs `obj_fn=`"):
        tx.update(p, tx.init(p), p)
    with pytest.raises(ValueError, match="needs `params`"):
        tx.update(p, tx.init(p), obj_fn=lambda x: 0.0)
