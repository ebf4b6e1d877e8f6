"""Prodigy against optax.contrib.prodigy and the authors' algorithm (pytorch_optimizer.Prodigy)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from tests.reference.harness import (assert_same_as_optax, assert_trajectories_close, case_id, float64_torch_scalars, make_params,
                     seeded_rng, start_values, torch_trajectory, trajectory)
from pytorch_optimizer import Prodigy

import jaxopt_zoo as zoo

FIXED = [
    {},
    dict(betas=(0.8, 0.99), beta3=0.95, eps=1e-6, estim_lr0=1e-4, estim_lr_coef=0.5, weight_decay=1e-2),
    dict(safeguard_warmup=True, learning_rate=optax.linear_schedule(0.1, 1.0, 30)),
]


@pytest.mark.parametrize("kw", FIXED, ids=case_id)
def test_equals_optax(kw, dtype):
    assert_same_as_optax(zoo.prodigy(**kw), optax.contrib.prodigy(**kw), dtype)


def test_random_hyperparameters_equal_optax(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    kw = dict(learning_rate=rng.uniform(0.3, 1.0), betas=(rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.9999)),
              beta3=rng.uniform(0.5, 0.99), eps=10 ** rng.uniform(-8, -4), estim_lr0=10 ** rng.uniform(-7, -3),
              estim_lr_coef=rng.uniform(0.3, 2.0), weight_decay=rng.uniform(0, 0.05),
              safeguard_warmup=rng.random() < 0.5)
    print(kw)
    assert_same_as_optax(zoo.prodigy(**kw), optax.contrib.prodigy(**kw), dtype)


TORCH_CASES = [
    dict(),
    dict(learning_rate=0.7, betas=(0.85, 0.99), beta3=0.9, eps=1e-6, estim_lr0=1e-4, estim_lr_coef=1.5,
         safeguard_warmup=True),
    dict(weight_decay=0.02),
]


@pytest.mark.parametrize("kw", TORCH_CASES, ids=case_id)
@pytest.mark.parametrize("bias_correction", [True, False])
def test_equals_the_authors_algorithm(kw, bias_correction):
    """pytorch_optimizer.Prodigy is the authors' konstmish/prodigy step (decoupled decay, growth
    rate inf): with bias_correction=True it is optax's Prodigy, with False the authors' default."""
    kw = {"learning_rate": 1.0, "betas": (0.9, 0.999), **kw}
    with float64_torch_scalars():
        ref = torch_trajectory(
            lambda ps: Prodigy(ps, lr=kw["learning_rate"], betas=kw["betas"], beta3=kw.get("beta3"),
                               eps=kw.get("eps", 1e-8), d0=kw.get("estim_lr0", 1e-6),
                               d_coef=kw.get("estim_lr_coef", 1.0), weight_decay=kw.get("weight_decay", 0.0),
                               weight_decouple=True, bias_correction=bias_correction,
                               safeguard_warmup=kw.get("safeguard_warmup", False), foreach=False),
            start_values("float64"))
    got = trajectory(zoo.prodigy(**kw, use_bias_correction=bias_correction), make_params("float64"))
    # torch decays as p (1 - w lr) before the Adam step, optax/the zoo as one update: the same
    # numbers up to rounding, which the max in d's update lets grow to ~2e-10 over 120 steps
    assert_trajectories_close(got, ref, "float64", rtol=1e-9 if kw.get("weight_decay") else None)


def test_a_zero_gradient_first_step_is_skipped_as_by_the_authors():
    """Pins the departure from optax: optax's estimate is 0/0 when every gradient so far is 0,
    and its NaN reaches the params; the authors' code (and the zoo) skip such a step."""
    grads = [jnp.zeros(3), jnp.array([1.0, -2.0, 0.5]), jnp.array([0.3, 0.1, -0.2])]
    params = jnp.array([1.0, 2.0, 3.0])
    z, o = zoo.prodigy(), optax.contrib.prodigy()
    zs, os_ = z.init(params), o.init(params)
    zp = op = params
    for g in grads:
        u, zs = z.update(g, zs, zp)
        zp = zoo.apply_updates(zp, u)
        v, os_ = o.update(g, os_, op)
        op = optax.apply_updates(op, v)
    assert bool(jnp.all(jnp.isnan(op))), "optax no longer gives NaN here: revisit the departure"
    assert bool(jnp.all(jnp.isfinite(zp)))
    # the zoo's run equals the authors' (torch) run that saw the same gradients
    t = torch.tensor(np.asarray(params, dtype=np.float64), requires_grad=True)
    with float64_torch_scalars():
        opt = Prodigy([t], foreach=False)
        for g in grads:
            t.grad = torch.tensor(np.asarray(g, dtype=np.float64))
            opt.step()
    np.testing.assert_allclose(np.asarray(zp), t.detach().numpy(), rtol=1e-5)
    assert int(zs.count) == 2


def test_update_needs_params():
    tx = zoo.prodigy()
    g = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="jaxopt_zoo.prodigy: update needs `params`"):
        tx.update(g, tx.init(g))


def test_state_keeps_the_params_precision():
    p = {"a": jnp.ones(2, jnp.bfloat16), "b": jnp.ones(2, jnp.float32)}
    s = zoo.prodigy().init(p)
    assert s.estim_lr.dtype == jnp.bfloat16 and jax.tree.leaves(s.params0)[0] is not p["a"]
