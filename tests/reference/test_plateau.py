"""reduce_on_plateau against torch's ReduceLROnPlateau on random metric sequences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from harness import seeded_rng

import jaxopt_zoo as zoo


def torch_lrs(metrics, base_lr, **kw):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
    return np.asarray(out)


def zoo_scales(metrics, **kw):
    tx = zoo.reduce_on_plateau(**kw)

    def step(state, m):
        _, state = tx.update({"w": jnp.ones(())}, state, value=m)
        return state, state.scale

    _, scales = jax.jit(lambda ms: jax.lax.scan(step, tx.init({"w": jnp.ones(())}), ms))(jnp.asarray(metrics))
    return np.asarray(scales)


def metric_sequence(rng, n, sign):
    """A noisy, mostly decreasing (or increasing) sequence with plateaus, of either sign."""
    level, out = rng.uniform(1, 5), []
    for _ in range(n):
        if rng.random() < 0.3:
            level *= rng.uniform(0.8, 1.0)
        out.append(sign * (level + rng.uniform(-0.05, 0.05) * level) + (0 if sign > 0 else -rng.uniform(0, 0.01)))
    return out


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("draw", range(3))
def test_matches_torch(mode, sign, threshold_mode, draw, request):
    rng, _ = seeded_rng(request.node.name)
    base_lr = rng.uniform(0.01, 1.0)
    kw = dict(mode=mode, factor=rng.uniform(0.1, 0.9), patience=rng.randint(0, 6), threshold=rng.choice([1e-4, 1e-2, 0.1]),
              threshold_mode=threshold_mode, cooldown=rng.randint(0, 4), min_lr=rng.choice([0.0, base_lr * 0.01]), eps=1e-8)
    metrics = metric_sequence(rng, 150, sign if mode == "min" else -sign)
    want = torch_lrs(metrics, base_lr, **kw)
    zoo_kw = dict(kw)
    zoo_kw["min_scale"] = zoo_kw.pop("min_lr") / base_lr
    zoo_kw["eps"] = kw["eps"] / base_lr
    got = zoo_scales(metrics, **zoo_kw) * base_lr
    print(kw, "reductions:", int(np.sum(np.diff(want) < 0)))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_seed_document_case_never_reduces_with_patience_3():
    """The lecture's ReduceLROnPlateau table claims a reduction; torch (and we) make none."""
    losses = [1.0, 0.9, 0.85, 0.84, 0.84, 0.84, 0.84, 0.83, 0.83, 0.83]
    want = torch_lrs(losses, 0.1, mode="min", factor=0.5, patience=3)
    got = zoo_scales(losses, mode="min", factor=0.5, patience=3) * 0.1
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_update_with_a_value_already_uses_the_new_scale_and_no_value_keeps_it():
    tx = zoo.chain(zoo.sgd(1.0), zoo.reduce_on_plateau(factor=0.5, patience=0))
    params = {"w": jnp.ones(())}
    state = tx.init(params)
    g = {"w": jnp.ones(())}
    u, state = tx.update(g, state, params, value=1.0)  # first value: an improvement
    assert float(u["w"]) == -1.0
    u, state = tx.update(g, state, params, value=2.0)  # worse: patience 0 -> reduce now
    assert float(u["w"]) == -0.5
    u, state = tx.update(g, state, params)  # no value: no plateau step
    assert float(u["w"]) == -0.5 and int(state[1].count) == 2
    assert float(zoo.current_hyperparams(state)["plateau_scale"]) == 0.5


@pytest.mark.parametrize("kwargs,arg", [(dict(factor=1.0), "factor"), (dict(mode="low"), "mode"),
                                        (dict(threshold_mode="pct"), "threshold_mode"), (dict(patience=-1), "patience"),
                                        (dict(min_scale=-0.1), "min_scale")])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.reduce_on_plateau: argument `{arg}`"):
        zoo.reduce_on_plateau(**kwargs)
