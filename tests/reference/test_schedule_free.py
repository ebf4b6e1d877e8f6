"""Schedule-free SGD and AdamW against the schedulefree package's reference classes.

Both the training point y (our params) and the evaluation average x
(schedule_free_eval_params) are compared at every step.
"""

import contextlib
import io

import jax
import numpy as np
import pytest
import schedulefree
import torch
from harness import STEPS, assert_trajectories_close, loss, make_params, seeded_rng, torch_loss

import jaxopt_zoo as zoo


def reference_paths(cls, params, steps=STEPS, **kw):
    tensors = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in params.items()}
    opt = cls(list(tensors.values()), **kw)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Switching to train mode"
        opt.train()
    ys, xs = {k: [] for k in tensors}, {k: [] for k in tensors}
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(tensors).backward()
        opt.step()
        for k, t in tensors.items():
            ys[k].append(t.detach().numpy().copy())
            xs[k].append(opt.state[t]["x"].detach().numpy().copy())
    return {k: np.stack(v) for k, v in ys.items()}, {k: np.stack(v) for k, v in xs.items()}


def zoo_paths(tx, params, steps=STEPS):
    def step(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(loss)(p), s, p)
        p = zoo.apply_updates(p, u)
        return (p, s), (p, zoo.schedule_free_eval_params(s, p))

    _, (ys, xs) = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, tx.init(params)))
    return ys, xs


SGD = [dict(lr=0.5), dict(lr=0.3, momentum=0.8, weight_decay=0.05, warmup_steps=20, r=0.5, weight_lr_power=1.0)]
ADAMW = [dict(lr=1e-2), dict(lr=2e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, warmup_steps=15, r=1.0, weight_lr_power=2.0),
         dict(lr=1e-2, weight_decay=0.05, decay_at_z=True, warmup_steps=5)]


def to_zoo_sgd(kw):
    kw = dict(kw)
    return dict(learning_rate=kw.pop("lr"), **kw)


def to_zoo_adamw(kw):
    kw = dict(kw)
    out = dict(learning_rate=kw.pop("lr"))
    if "betas" in kw:
        out["b1"], out["b2"] = kw.pop("betas")
    out.update(kw)
    return out


@pytest.mark.parametrize("kw", SGD + [None], ids=lambda k: "random" if k is None else str(sorted(k.items())))
def test_sgd_matches_schedulefree(kw, dtype, request):
    if kw is None:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(lr=rng.uniform(0.05, 0.8), momentum=rng.uniform(0.5, 0.95), weight_decay=rng.uniform(0, 0.1),
                  warmup_steps=rng.randint(0, 30), r=rng.uniform(0, 1), weight_lr_power=rng.uniform(0, 3))
    params = make_params(dtype)
    want_y, want_x = reference_paths(schedulefree.SGDScheduleFreeReference, params, **kw)
    got_y, got_x = zoo_paths(zoo.schedule_free_sgd(**to_zoo_sgd(kw)), params)
    assert_trajectories_close(got_y, want_y, dtype)
    assert_trajectories_close(got_x, want_x, dtype)


@pytest.mark.parametrize("kw", ADAMW + [None], ids=lambda k: "random" if k is None else str(sorted(k.items())))
def test_adamw_matches_schedulefree(kw, dtype, request):
    if kw is None:
        rng = seeded_rng(request.node.name)[0]
        # Adam-type steps with lr > ~2e-2 and small betas make this test problem chaotic near its
        # minimum (a 1-ulp difference in pow() grows to 1e-2 within 40 steps, in any two
        # implementations); random draws stay where rounding is not amplified.
        kw = dict(lr=rng.uniform(1e-3, 1e-2), betas=(rng.uniform(0.7, 0.95), rng.uniform(0.95, 0.999)), weight_decay=rng.uniform(0, 0.1),
                  warmup_steps=rng.randint(0, 30), r=rng.uniform(0, 1), decay_at_z=rng.random() < 0.5)
    params = make_params(dtype)
    want_y, want_x = reference_paths(schedulefree.AdamWScheduleFreeReference, params, **kw)
    got_y, got_x = zoo_paths(zoo.schedule_free_adamw(**to_zoo_adamw(kw)), params)
    assert_trajectories_close(got_y, want_y, dtype)
    assert_trajectories_close(got_x, want_x, dtype)


def test_eval_params_found_inside_a_chain():
    params = make_params("float64")
    tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.schedule_free_adamw(1e-2))
    state = tx.init(params)
    _, state = tx.update(jax.grad(loss)(params), state, params)
    assert zoo.schedule_free_eval_params(state, params) is state[1].x
