"""momo and momo_adam against optax.contrib (weight_decay=0, where they agree) and against the
authors' rule (fabian-sp/MoMo, any weight decay); the weight-decay departure from optax pinned."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from tests.reference.harness import (assert_same_as_optax, assert_trajectories_close, case_id, cases, loss, make_params, seeded_rng,
                     trajectory)

import jaxopt_zoo as zoo

VALUE = dict(extra_args=lambda p, v: {"value": v})
FIXED = {"momo": [dict()], "momo_adam": [dict()]}


def _random(name, rng, weight_decay=0.0):
    kw = dict(lower_bound=rng.uniform(-3.0, 0.0), weight_decay=weight_decay, adapt_lower_bound=rng.random() < 0.5)
    if name == "momo":
        return dict(learning_rate=rng.uniform(0.05, 1.0), beta=rng.uniform(0.5, 0.99), **kw)
    return dict(learning_rate=rng.uniform(1e-3, 0.1), b1=rng.uniform(0.5, 0.95), b2=rng.uniform(0.9, 0.999),
                eps=10 ** rng.uniform(-8, -4), **kw)


@pytest.mark.llvm_optimized
@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax_without_weight_decay(name, hparams, dtype, request):
    if hparams is None:
        hparams = _random(name, seeded_rng(request.node.name)[0])
    print(hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax.contrib, name)(**hparams), dtype, **VALUE)


@pytest.mark.parametrize("name", ["momo", "momo_adam"])
def test_schedule_and_adaptive_bound_match_optax(name):
    sched = optax.cosine_decay_schedule(0.5, 120)
    kw = dict(learning_rate=sched, lower_bound=-2.0, adapt_lower_bound=True)
    assert_same_as_optax(getattr(zoo, name)(**kw), getattr(optax.contrib, name)(**kw), "float64", **VALUE)


def _authors(name, params, steps, lr, lb, wd, adapt, beta=0.9, b1=0.9, b2=0.999, eps=1e-8):
    """The authors' Momo.step (bias_correction=False) / MomoAdam.step (divide=True) in numpy."""
    keys = sorted(params)
    x = {k: np.asarray(v, np.float64) for k, v in params.items()}
    grad = jax.jit(jax.value_and_grad(loss))
    d = {k: np.zeros_like(v) for k, v in x.items()}
    v2 = {k: np.zeros_like(v) for k, v in x.items()}
    fbar, gdw, lb0, path = 0.0, 0.0, lb, []
    for t in range(1, steps + 1):
        f, g = grad({k: jnp.asarray(x[k]) for k in keys})
        f, g = float(f), {k: np.asarray(g[k], np.float64) for k in keys}
        xg = sum(float(np.sum(x[k] * g[k])) for k in keys)
        if name == "momo":
            if t == 1:
                fbar, gdw, d = f, xg, {k: g[k].copy() for k in keys}
            fbar = beta * fbar + (1 - beta) * f
            d = {k: beta * d[k] + (1 - beta) * g[k] for k in keys}
            gdw = beta * gdw + (1 - beta) * xg
            rho, dk = 1.0, {k: np.ones_like(x[k]) for k in keys}
        else:
            d = {k: b1 * d[k] + (1 - b1) * g[k] for k in keys}
            v2 = {k: b2 * v2[k] + (1 - b2) * g[k] ** 2 for k in keys}
            gdw = b1 * gdw + (1 - b1) * xg
            fbar = (1 - b1) * f + b1 * fbar
            rho = 1 - b1**t
            dk = {k: np.sqrt(v2[k] / (1 - b2**t)) + eps for k in keys}
        dot = sum(float(np.sum(x[k] * d[k])) for k in keys)
        norm = sum(float(np.sum(d[k] * d[k] / dk[k])) for k in keys)
        s = 1 + lr * wd
        if adapt:
            cap = s * fbar + dot - s * gdw
            if cap < s * rho * lb:
                lb = max(cap / (2 * s * rho), lb0)
        tau = min(lr / rho, max(s * (fbar - rho * lb) + dot - s * gdw, 0.0) / norm)
        if adapt:
            lb = max((fbar + dot - gdw - 0.5 * tau * norm) / rho, lb0)
        x = {k: (x[k] - tau * d[k] / dk[k]) / s for k in keys}
        path.append(x)
    return {k: np.stack([p[k] for p in path]) for k in keys}


@pytest.mark.parametrize("name", ["momo", "momo_adam"])
@pytest.mark.parametrize("adapt", [False, True])
def test_matches_the_authors_code_with_weight_decay(name, adapt, request):
    rng = seeded_rng(request.node.name)[0]
    lr = rng.uniform(0.1, 0.8) if name == "momo" else rng.uniform(0.01, 0.1)
    lb, wd = rng.uniform(-3.0, -1.0), rng.uniform(0.01, 0.2)
    print(dict(lr=lr, lb=lb, wd=wd))
    params = make_params("float64")
    want = _authors(name, params, 100, lr, lb, wd, adapt)
    tx = getattr(zoo, name)(learning_rate=lr, lower_bound=lb, weight_decay=wd, adapt_lower_bound=adapt)
    assert_trajectories_close(trajectory(tx, params, 100, **VALUE), want, "float64")


@pytest.mark.parametrize("name", ["momo", "momo_adam"])
def test_weight_decay_divides_the_whole_step_not_only_the_params_as_optax(name):
    """Pins the documented departure: x+ = (x - tau d) / (1 + lr wd) (the authors' code), where
    optax's is x / (1 + lr wd) - tau d."""
    lr, wd = 0.5, 0.3
    p, g = jnp.array([1.0, -2.0]), jnp.array([0.4, 0.1])
    kw = dict(learning_rate=lr, weight_decay=wd, lower_bound=-10.0)
    tx, ref = getattr(zoo, name)(**kw), getattr(optax.contrib, name)(**kw)
    u, _ = tx.update(g, tx.init(p), p, value=1.0)
    want, _ = ref.update(g, ref.init(p), p, value=1.0)
    ours_wo, _ = getattr(zoo, name)(learning_rate=lr, lower_bound=-10.0).update(g, tx.init(p), p, value=1.0)
    # the gradient step of the zoo is the undecayed one divided by 1 + lr wd (here tau = cap: same tau)
    assert jnp.allclose(p + u, (p + ours_wo) / (1 + lr * wd))
    assert jnp.allclose(want, -(lr * wd) / (1 + lr * wd) * p + ours_wo)
    assert not jnp.allclose(u, want)


@pytest.mark.parametrize("make", [zoo.momo, zoo.momo_adam])
def test_update_without_value_or_params_is_refused(make):
    tx = make()
    p = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="needs the loss value"):
        tx.update(p, tx.init(p), p)
    with pytest.raises(ValueError, match="needs `params`"):
        tx.update(p, tx.init(p), value=1.0)
